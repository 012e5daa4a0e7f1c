package io.hpcbridge.backend;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * Container logs stored one line per output line, each prefixed by its RFC 3339 timestamp (UTC,
 * nine fraction digits) and the stream it came from:
 *
 * <pre>2026-11-24T22:05:53.123456789Z stdout hello world</pre>
 *
 * <p>This class writes such lines and serves them filtered by the kubelet's {@link LogOptions}:
 * {@code sinceSeconds}/{@code sinceTime} select lines by their stored time, then {@code tailLines}
 * keeps the last N, {@code timestamps} decides whether the time prefix is shown (the stream name
 * never is, like the kubelet), {@code limitBytes} cuts the output, and {@code follow} keeps reading
 * a growing file until the writer has finished. Lines that do not start with a timestamp are passed
 * through as they are. Backend-neutral: any backend that can produce such a file or stream can use
 * it.
 *
 * <p>Memory stays bounded whatever the log holds: a line longer than {@link #MAX_READ_LINE_BYTES}
 * (a writer that did not split it, a stream without newlines) is read as several lines of at most
 * that size, and {@code tailLines} on a file is found by reading backwards from its end, so neither
 * a 2 GB log nor a 100 MB line is ever held in memory.
 */
public final class TimestampedLog {

  /** Lines longer than this are split into several stored lines. */
  public static final int MAX_LINE_BYTES = 16 * 1024;

  /**
   * Stored lines longer than this (a stored line is at most {@link #MAX_LINE_BYTES} plus its prefix
   * when this class wrote it) are read as several lines of at most this many bytes.
   */
  public static final int MAX_READ_LINE_BYTES = 64 * 1024;

  private static final DateTimeFormatter FORMAT =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

  private TimestampedLog() {}

  /** {@code t} as stored: UTC, always nine fraction digits, so stored lines sort as text. */
  public static String timestamp(Instant t) {
    return FORMAT.format(t);
  }

  /** One stored line: {@code <timestamp> <stream> <text>\n}. {@code text} must not contain '\n'. */
  public static byte[] line(Instant time, String stream, byte[] text, int offset, int length) {
    byte[] prefix = (timestamp(time) + " " + stream + " ").getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[prefix.length + length + 1];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(text, offset, out, prefix.length, length);
    out[out.length - 1] = '\n';
    return out;
  }

  /**
   * A parsed stored line.
   *
   * @param time the stored timestamp, or null when the line has none
   * @param stream {@code stdout}, {@code stderr}, or null when the line has no timestamp
   * @param text the line's content, without the newline
   */
  public record Line(Instant time, String stream, byte[] text) {

    /** Parses a stored line (without its trailing newline). Never fails. */
    public static Line parse(byte[] raw) {
      int sp1 = indexOf(raw, (byte) ' ', 0);
      if (sp1 > 0 && sp1 <= 40) {
        try {
          Instant t = Instant.parse(new String(raw, 0, sp1, StandardCharsets.US_ASCII));
          int sp2 = indexOf(raw, (byte) ' ', sp1 + 1);
          if (sp2 < 0) {
            String stream = new String(raw, sp1 + 1, raw.length - sp1 - 1, StandardCharsets.UTF_8);
            return new Line(t, stream, new byte[0]);
          }
          String stream = new String(raw, sp1 + 1, sp2 - sp1 - 1, StandardCharsets.UTF_8);
          return new Line(t, stream, Arrays.copyOfRange(raw, sp2 + 1, raw.length));
        } catch (DateTimeParseException notATimestamp) {
          // fall through: pass the line on unchanged
        }
      }
      return new Line(null, null, raw);
    }

    /** The text as UTF-8. */
    public String textString() {
      return new String(text, StandardCharsets.UTF_8);
    }

    /** What the kubelet shows for this line: the text, optionally after the timestamp. */
    byte[] render(boolean timestamps) {
      byte[] prefix =
          timestamps && time != null
              ? (timestamp(time) + " ").getBytes(StandardCharsets.US_ASCII)
              : new byte[0];
      byte[] out = new byte[prefix.length + text.length + 1];
      System.arraycopy(prefix, 0, out, 0, prefix.length);
      System.arraycopy(text, 0, out, prefix.length, text.length);
      out[out.length - 1] = '\n';
      return out;
    }
  }

  /**
   * Filters stored lines read from {@code raw} (read to its end; no follow). With {@code
   * tailLines}, up to that many lines (each at most {@link #MAX_READ_LINE_BYTES}) are kept while
   * the stream is read; files are better served by {@link #read}, which seeks.
   */
  public static InputStream filter(InputStream raw, LogOptions options, Instant now) {
    return new Filtered(raw, options, now, null, Duration.ZERO, true);
  }

  /** Filters the stored lines of {@code file} as it is now (no follow). */
  public static InputStream read(Path file, LogOptions options, Instant now) throws IOException {
    return open(file, options, now, null, Duration.ZERO);
  }

  /**
   * Like {@link #read}, but when {@code options.follow()} is set, keeps reading lines appended to
   * {@code file} until {@code finished} returns true and everything written up to then was read.
   * Reads block the calling thread, polling every {@code poll}; closing the stream stops it.
   */
  public static InputStream follow(
      Path file, LogOptions options, Instant now, BooleanSupplier finished, Duration poll)
      throws IOException {
    return open(file, options, now, options.follow() ? finished : null, poll);
  }

  /** A file is read from where its last {@code tailLines} wanted lines start, found backwards. */
  private static InputStream open(
      Path file, LogOptions options, Instant now, BooleanSupplier finished, Duration poll)
      throws IOException {
    FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
    try {
      Integer tail = options.tailLines();
      if (tail != null && tail >= 0) {
        ch.position(new TailFinder(ch, options.since(now)).start(tail, finished == null));
      }
      return new Filtered(Channels.newInputStream(ch), options, now, finished, poll, false);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  private static int indexOf(byte[] b, byte v, int from) {
    for (int i = from; i < b.length; i++) {
      if (b[i] == v) {
        return i;
      }
    }
    return -1;
  }

  /** Whether a line with this start (at most {@link #MAX_READ_LINE_BYTES}) is at or after since. */
  static boolean wanted(byte[] raw, Instant since) {
    if (since == null) {
      return true;
    }
    Instant t = Line.parse(raw).time();
    return t == null || !t.isBefore(since);
  }

  private static final class Filtered extends InputStream {
    private final InputStream source;
    private final LineReader reader;
    private final Instant since;
    private final boolean timestamps;
    private final BooleanSupplier finished; // null: stop at the end
    private final long pollMillis;
    private long remaining; // bytes still allowed
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private byte[] current;
    private int currentPos;
    private final int tail; // -1: no tail
    private boolean tailDone;
    private boolean ended;
    private volatile boolean closed;

    /**
     * @param keepTail whether {@code tailLines} is applied here, by keeping the last lines read;
     *     false when the source already starts at the tail
     */
    Filtered(
        InputStream source,
        LogOptions options,
        Instant now,
        BooleanSupplier finished,
        Duration poll,
        boolean keepTail) {
      this.source = Objects.requireNonNull(source);
      this.reader = new LineReader(source);
      this.since = options.since(now);
      this.timestamps = options.timestamps();
      this.finished = finished;
      this.pollMillis = Math.max(10, poll.toMillis());
      this.remaining =
          options.limitBytes() == null ? Long.MAX_VALUE : Math.max(0, options.limitBytes());
      Integer tailLines = options.tailLines();
      this.tail = keepTail && tailLines != null && tailLines >= 0 ? tailLines : -1;
    }

    private boolean wanted(Line l) {
      return since == null || l.time() == null || !l.time().isBefore(since);
    }

    private void offer(byte[] raw) {
      Line l = Line.parse(raw);
      if (wanted(l)) {
        queue.add(l.render(timestamps));
      }
    }

    /** Reads everything present now, keeping only the last {@code tail} wanted lines. */
    private void takeTail() throws IOException {
      ArrayDeque<byte[]> last = new ArrayDeque<>();
      byte[] raw;
      while ((raw = reader.next()) != null) {
        keep(last, raw);
      }
      if (finished == null) {
        byte[] rest = reader.rest();
        if (rest != null) {
          keep(last, rest);
        }
        ended = true;
      }
      queue.addAll(last);
    }

    private void keep(ArrayDeque<byte[]> last, byte[] raw) {
      if (tail == 0) {
        return;
      }
      Line l = Line.parse(raw);
      if (wanted(l)) {
        last.add(l.render(timestamps));
        if (last.size() > tail) {
          last.removeFirst();
        }
      }
    }

    /** Fills the queue with at least one chunk, or sets {@code ended}. */
    private void fill() throws IOException {
      if (!tailDone) {
        tailDone = true;
        if (tail >= 0) {
          takeTail();
          if (!queue.isEmpty() || ended) {
            return;
          }
        }
      }
      while (queue.isEmpty() && !ended) {
        if (closed) {
          ended = true;
          return;
        }
        byte[] raw = reader.next();
        if (raw != null) {
          offer(raw);
          continue;
        }
        if (finished == null) {
          byte[] rest = reader.rest();
          if (rest != null) {
            offer(rest);
          }
          ended = true;
          return;
        }
        // At the current end of a followed file: finished? then drain what is left and stop.
        if (finished.getAsBoolean()) {
          while ((raw = reader.next()) != null) {
            offer(raw);
          }
          byte[] rest = reader.rest();
          if (rest != null) {
            offer(rest);
          }
          ended = true;
          return;
        }
        try {
          Thread.sleep(pollMillis);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while following a log");
        }
      }
    }

    private boolean ensure() throws IOException {
      if (remaining <= 0) {
        return false;
      }
      while (current == null || currentPos >= current.length) {
        current = null;
        if (remaining <= 0) {
          return false;
        }
        if (queue.isEmpty()) {
          if (ended) {
            return false;
          }
          fill();
          if (queue.isEmpty()) {
            return false;
          }
        }
        current = queue.removeFirst();
        currentPos = 0;
      }
      return true;
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
      if (!ensure()) {
        return -1;
      }
      int n = (int) Math.min(Math.min(len, current.length - currentPos), remaining);
      System.arraycopy(current, currentPos, b, off, n);
      currentPos += n;
      remaining -= n;
      return n;
    }

    @Override
    public void close() throws IOException {
      closed = true;
      source.close();
    }
  }
}
