package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.LogOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * A container's log as the kubelet API serves it, streamed from the remote file in bounded chunks:
 * the heap holds one chunk ({@value #CHUNK} bytes), one line (at most {@value #MAX_LINE} bytes;
 * longer lines are split) and one rendered line, whatever the log's size. {@code tailLines} is
 * found by scanning back from the file's end, {@code limitBytes} stops reading; neither needs the
 * whole log. {@code follow} polls in the reading thread (no thread of its own) until the container
 * has ended and everything was read, the pod is gone, or the stream is closed.
 */
final class LogStream extends InputStream {
  static final int CHUNK = 1 << 20;
  static final int MAX_LINE = 16 << 10;

  /** Every how many polls a follower also asks Slurm whether the job is still there. */
  private static final int ASK_SLURM_EVERY = 5;

  private final RemoteLog log;
  private final boolean follow;
  private final boolean timestamps;
  private final Instant since;
  private final long pollMillis;
  private long remaining;

  private long pos;
  private byte[] chunk = new byte[0];
  private int chunkPos;
  private final byte[] line = new byte[MAX_LINE];
  private int lineLen;
  private boolean lineContinues; // the line being read is a piece after a split
  private boolean keepLine = true; // the since filter's verdict on the line being read
  private boolean skipFirstLine;
  private byte[] out = new byte[0];
  private int outPos;
  private boolean atEnd;
  private int polls;
  private volatile boolean closed;

  /**
   * @param first the first read (from offset 0, no data), which tells the size and that the pod is
   *     there
   */
  LogStream(RemoteLog log, RemoteLog.Chunk first, LogOptions o, Instant now, Duration poll)
      throws BackendException.Transient {
    this.log = log;
    this.follow = o.follow();
    this.timestamps = o.timestamps();
    this.since = o.since(now);
    this.pollMillis = Math.max(10, poll.toMillis());
    this.remaining = o.limitBytes() == null ? Long.MAX_VALUE : Math.max(0, o.limitBytes());
    if (o.tailLines() != null && first.state() == RemoteLog.State.OK) {
      pos = tailStart(first.size(), Math.max(0, o.tailLines()));
    }
  }

  /** The offset of the first of the last {@code n} lines of a file of {@code size} bytes. */
  private long tailStart(long size, int n) throws BackendException.Transient {
    if (n == 0) {
      return size;
    }
    // n lines fit in n * MAX_LINE bytes as they are shown; do not scan further back than that.
    long limit = Math.max(0, size - (long) (n + 1) * MAX_LINE);
    long end = size;
    int count = 0;
    while (end > limit) {
      long start = Math.max(limit, end - CHUNK);
      RemoteLog.Chunk c = log.read(start, (int) (end - start), false);
      byte[] b = c.bytes();
      for (int i = b.length - 1; i >= 0; i--) {
        long at = start + i;
        if (b[i] == '\n' && at != size - 1 && ++count == n) {
          return at + 1;
        }
      }
      if (b.length == 0) {
        break; // the file shrank (a restart moved it): start at its beginning
      }
      end = start;
    }
    skipFirstLine = limit > 0;
    return limit;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n <= 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    if (remaining <= 0 || closed) {
      return -1;
    }
    while (outPos >= out.length) {
      if (closed || !next()) {
        return -1;
      }
    }
    int n = (int) Math.min(Math.min(len, out.length - outPos), remaining);
    System.arraycopy(out, outPos, b, off, n);
    outPos += n;
    remaining -= n;
    return n;
  }

  /** Renders the next line into {@code out}; false at the end of the log. */
  private boolean next() throws IOException {
    while (true) {
      while (chunkPos < chunk.length) {
        byte c = chunk[chunkPos++];
        if (c == '\n') {
          if (emit(false)) {
            return true;
          }
        } else {
          line[lineLen++] = c;
          if (lineLen == MAX_LINE && emit(true)) {
            return true;
          }
        }
      }
      if (atEnd) {
        return lineLen > 0 && emit(false); // a last line without its newline
      }
      fetch();
    }
  }

  /** Emits the line read so far; {@code split} when it goes on. True when it was shown. */
  private boolean emit(boolean split) {
    int len = lineLen;
    lineLen = 0;
    boolean continued = lineContinues;
    lineContinues = split;
    if (skipFirstLine) {
      skipFirstLine = split;
      return false;
    }
    LogFormat.Line l = continued ? new LogFormat.Line(null, 0) : LogFormat.parse(line, len);
    if (!continued) {
      keepLine = since == null || l.time() == null || !l.time().isBefore(since);
    }
    if (!keepLine) {
      return false;
    }
    out = LogFormat.render(line, len, l, timestamps);
    outPos = 0;
    return true;
  }

  /** Reads the next chunk, polling while following; sets {@code atEnd} when nothing more comes. */
  private void fetch() throws IOException {
    while (!closed) {
      boolean askSlurm = follow && ++polls % ASK_SLURM_EVERY == 0;
      RemoteLog.Chunk c;
      try {
        c = log.read(pos, CHUNK, askSlurm);
      } catch (BackendException.Transient e) {
        throw new IOException(e.getMessage(), e);
      }
      if (c.state() == RemoteLog.State.POD_GONE || c.state() == RemoteLog.State.NOT_REGULAR) {
        atEnd = true;
        return;
      }
      if (c.state() == RemoteLog.State.OK && c.size() < pos) {
        pos = 0; // a restart moved the log to previous.log: the new one starts empty
        lineLen = 0;
        continue;
      }
      if (c.bytes().length > 0) {
        chunk = c.bytes();
        chunkPos = 0;
        pos += chunk.length;
        return;
      }
      if (!follow || c.ended()) {
        atEnd = true;
        return;
      }
      try {
        Thread.sleep(pollMillis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while following a log");
      }
    }
    atEnd = true;
  }

  @Override
  public void close() {
    closed = true;
  }
}
