package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.LogOptions;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns the wrapper's log lines ({@code <epoch.micros> <text>}) into what the kubelet API returns:
 * the text, optionally prefixed with an RFC 3339 timestamp, filtered by since and tail, cut at
 * limitBytes.
 */
final class LogFormat {
  private LogFormat() {}

  static final DateTimeFormatter RFC3339_NANO =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);

  /** One stored line: its time (null when unparseable) and its text. */
  record Line(Instant time, String text) {}

  static Line parse(String raw) {
    int sp = raw.indexOf(' ');
    if (sp > 0) {
      String ts = raw.substring(0, sp);
      int dot = ts.indexOf('.');
      try {
        long sec = Long.parseLong(dot < 0 ? ts : ts.substring(0, dot));
        long nanos = 0;
        if (dot >= 0) {
          String frac = (ts.substring(dot + 1) + "000000000").substring(0, 9);
          nanos = Long.parseLong(frac);
        }
        return new Line(Instant.ofEpochSecond(sec, nanos), raw.substring(sp + 1));
      } catch (NumberFormatException e) {
        // not a wrapper line
      }
    }
    return new Line(null, raw);
  }

  /**
   * Complete lines of {@code text} (a trailing partial line is left out and its length returned).
   */
  static List<String> lines(String text) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
      out.add(text.substring(start, i));
      start = i + 1;
    }
    return out;
  }

  static byte[] render(List<String> rawLines, LogOptions o, Instant now) {
    Instant since = o.since(now);
    List<Line> lines = new ArrayList<>();
    for (String r : rawLines) {
      Line l = parse(r);
      if (since == null || l.time() == null || !l.time().isBefore(since)) {
        lines.add(l);
      }
    }
    if (o.tailLines() != null && lines.size() > o.tailLines()) {
      lines = lines.subList(lines.size() - Math.max(0, o.tailLines()), lines.size());
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Line l : lines) {
      out.writeBytes(format(l, o.timestamps()));
    }
    byte[] b = out.toByteArray();
    if (o.limitBytes() != null && b.length > o.limitBytes()) {
      return java.util.Arrays.copyOf(b, (int) Math.max(0, o.limitBytes()));
    }
    return b;
  }

  static byte[] format(Line l, boolean timestamps) {
    String s =
        (timestamps && l.time() != null ? RFC3339_NANO.format(l.time()) + " " : "")
            + l.text()
            + "\n";
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
