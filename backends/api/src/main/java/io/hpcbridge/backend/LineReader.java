package io.hpcbridge.backend;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads complete lines from a stream that may grow: at the current end it returns null and keeps
 * the incomplete rest, so a later call continues where it stopped. A line longer than {@link
 * TimestampedLog#MAX_READ_LINE_BYTES} comes out as several, cut every that many bytes from its
 * start.
 */
final class LineReader {
  private final InputStream in;
  private final byte[] buf = new byte[8192];
  private final int max;
  private int pos;
  private int len;
  private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

  LineReader(InputStream in) {
    this(in, TimestampedLog.MAX_READ_LINE_BYTES);
  }

  LineReader(InputStream in, int max) {
    this.in = in;
    this.max = max;
  }

  /** Fills the buffer when it is used up; false at the current end of the stream. */
  private boolean more() throws IOException {
    if (pos < len) {
      return true;
    }
    len = in.read(buf);
    pos = 0;
    if (len <= 0) {
      len = 0;
      return false;
    }
    return true;
  }

  /** The next complete line without its newline, or null at the current end. */
  byte[] next() throws IOException {
    while (true) {
      if (!more()) {
        return null;
      }
      if (partial.size() == max) {
        // A full chunk: a newline right after it ends the line, anything else starts the next.
        if (buf[pos] == '\n') {
          pos++;
        }
        return take();
      }
      int room = max - partial.size();
      int end = Math.min(len, pos + room);
      for (int i = pos; i < end; i++) {
        if (buf[i] == '\n') {
          partial.write(buf, pos, i - pos);
          pos = i + 1;
          return take();
        }
      }
      partial.write(buf, pos, end - pos);
      pos = end;
    }
  }

  private byte[] take() {
    byte[] out = partial.toByteArray();
    partial.reset();
    return out;
  }

  /** What was read after the last newline, or null; consumes it. */
  byte[] rest() {
    return partial.size() == 0 ? null : take();
  }
}
