package io.hpcbridge.backend.slurm;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The wrapper's log lines ({@code <epoch.micros> <text>}) as the kubelet API shows them: the text,
 * optionally after an RFC 3339 timestamp. Works on bytes: a line is never decoded.
 */
final class LogFormat {
  private LogFormat() {}

  static final DateTimeFormatter RFC3339_NANO =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

  /**
   * One stored line: its time (null when it has none, e.g. a piece of a long line) and where its
   * text starts in the raw bytes.
   */
  record Line(Instant time, int textStart) {}

  /** Parses {@code raw[0..len)}; never fails. */
  static Line parse(byte[] raw, int len) {
    int sp = -1;
    for (int i = 0; i < Math.min(len, 32); i++) {
      if (raw[i] == ' ') {
        sp = i;
        break;
      }
    }
    if (sp > 0) {
      long sec = 0;
      long nanos = 0;
      int digits = 0;
      int fraction = -1;
      boolean ok = true;
      for (int i = 0; i < sp && ok; i++) {
        byte b = raw[i];
        if (b == '.' && fraction < 0) {
          fraction = 0;
        } else if (b >= '0' && b <= '9') {
          if (fraction < 0) {
            sec = sec * 10 + (b - '0');
            ok = ++digits <= 12;
          } else if (fraction < 9) {
            nanos = nanos * 10 + (b - '0');
            fraction++;
          }
        } else {
          ok = false;
        }
      }
      if (ok && digits > 0) {
        for (int f = Math.max(fraction, 0); f < 9; f++) {
          nanos *= 10;
        }
        return new Line(Instant.ofEpochSecond(sec, nanos), sp + 1);
      }
    }
    return new Line(null, 0);
  }

  /** The line as shown: its text (and timestamp when asked), with a newline. */
  static byte[] render(byte[] raw, int len, Line l, boolean timestamps) {
    byte[] prefix =
        timestamps && l.time() != null
            ? (RFC3339_NANO.format(l.time()) + " ").getBytes(StandardCharsets.US_ASCII)
            : new byte[0];
    int text = len - l.textStart();
    byte[] out = new byte[prefix.length + text + 1];
    System.arraycopy(prefix, 0, out, 0, prefix.length);
    System.arraycopy(raw, l.textStart(), out, prefix.length, text);
    out[out.length - 1] = '\n';
    return out;
  }
}
