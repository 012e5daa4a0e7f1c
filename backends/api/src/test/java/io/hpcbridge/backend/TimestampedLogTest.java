package io.hpcbridge.backend;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TimestampedLogTest {

  static final Instant T0 = Instant.parse("2026-11-24T22:05:50Z");

  static byte[] stored(String... texts) {
    var out = new ByteArrayOutputStream();
    for (int i = 0; i < texts.length; i++) {
      byte[] t = texts[i].getBytes(StandardCharsets.UTF_8);
      out.writeBytes(
          TimestampedLog.line(T0.plusSeconds(i), i % 2 == 0 ? "stdout" : "stderr", t, 0, t.length));
    }
    return out.toByteArray();
  }

  /** Reads through the stream filter and through the file reader; both must agree. */
  static String read(byte[] stored, LogOptions o) throws IOException {
    String fromStream;
    try (InputStream in =
        TimestampedLog.filter(new ByteArrayInputStream(stored), o, T0.plusSeconds(100))) {
      fromStream = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    Path f = Files.createTempFile("log", ".txt");
    try {
      Files.write(f, stored);
      try (InputStream in = TimestampedLog.read(f, o, T0.plusSeconds(100))) {
        assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8))
            .as("read from a file")
            .isEqualTo(fromStream);
      }
    } finally {
      Files.delete(f);
    }
    return fromStream;
  }

  static LogOptions opts(Integer tail, boolean ts, Long limit, Long sinceSec, Instant sinceTime) {
    return new LogOptions(false, tail, ts, limit, sinceSec, sinceTime, false);
  }

  @Test
  void timestampHasNineFractionDigitsInUtc() {
    assertThat(TimestampedLog.timestamp(Instant.parse("2026-01-02T03:04:05.1Z")))
        .isEqualTo("2026-01-02T03:04:05.100000000Z");
    assertThat(TimestampedLog.timestamp(Instant.parse("2026-01-02T03:04:05.123456789Z")))
        .isEqualTo("2026-01-02T03:04:05.123456789Z");
  }

  @Test
  void storedLineFormat() {
    byte[] t = "héllo world".getBytes(StandardCharsets.UTF_8);
    String l =
        new String(TimestampedLog.line(T0, "stderr", t, 0, t.length), StandardCharsets.UTF_8);
    assertThat(l).isEqualTo("2026-11-24T22:05:50.000000000Z stderr héllo world\n");
    var parsed = TimestampedLog.Line.parse(l.strip().getBytes(StandardCharsets.UTF_8));
    assertThat(parsed.time()).isEqualTo(T0);
    assertThat(parsed.stream()).isEqualTo("stderr");
    assertThat(parsed.textString()).isEqualTo("héllo world");
  }

  @Test
  void parseKeepsLinesWithoutTimestamp() {
    var l = TimestampedLog.Line.parse("not a timestamp here".getBytes(StandardCharsets.UTF_8));
    assertThat(l.time()).isNull();
    assertThat(l.textString()).isEqualTo("not a timestamp here");
    var empty = TimestampedLog.Line.parse("2026-11-24T22:05:50Z stdout ".getBytes());
    assertThat(empty.textString()).isEmpty();
  }

  @Test
  void allLinesWithoutTimestamps() throws IOException {
    assertThat(read(stored("a", "b", "c"), LogOptions.ALL)).isEqualTo("a\nb\nc\n");
  }

  @Test
  void withTimestamps() throws IOException {
    assertThat(read(stored("a", "b"), opts(null, true, null, null, null)))
        .isEqualTo("2026-11-24T22:05:50.000000000Z a\n2026-11-24T22:05:51.000000000Z b\n");
  }

  @Test
  void tailLines() throws IOException {
    byte[] s = stored("1", "2", "3", "4", "5");
    assertThat(read(s, opts(2, false, null, null, null))).isEqualTo("4\n5\n");
    assertThat(read(s, opts(0, false, null, null, null))).isEmpty();
    assertThat(read(s, opts(10, false, null, null, null))).isEqualTo("1\n2\n3\n4\n5\n");
    assertThat(read(s, opts(-1, false, null, null, null))).isEqualTo("1\n2\n3\n4\n5\n");
  }

  @Test
  void limitBytesCutsTheOutput() throws IOException {
    byte[] s = stored("hello", "world");
    assertThat(read(s, opts(null, false, 8L, null, null))).isEqualTo("hello\nwo");
    assertThat(read(s, opts(null, false, 0L, null, null))).isEmpty();
  }

  @Test
  void sinceTimeAndSinceSeconds() throws IOException {
    byte[] s = stored("0", "1", "2", "3");
    assertThat(read(s, opts(null, false, null, null, T0.plusSeconds(2)))).isEqualTo("2\n3\n");
    // now = T0+100s; sinceSeconds 99 → T0+1s
    assertThat(read(s, opts(null, false, null, 99L, null))).isEqualTo("1\n2\n3\n");
    // both: the later bound wins
    assertThat(read(s, opts(null, false, null, 99L, T0.plusSeconds(3)))).isEqualTo("3\n");
    assertThat(read(s, opts(null, false, null, null, T0.plusSeconds(60)))).isEmpty();
  }

  @Test
  void tailAppliesAfterSince() throws IOException {
    byte[] s = stored("0", "1", "2", "3", "4");
    assertThat(read(s, opts(2, false, null, null, T0.plusSeconds(1)))).isEqualTo("3\n4\n");
    assertThat(read(s, opts(10, false, null, null, T0.plusSeconds(3)))).isEqualTo("3\n4\n");
  }

  @Test
  void tailTimestampsAndLimitTogether() throws IOException {
    byte[] s = stored("0", "1", "2");
    assertThat(read(s, opts(1, true, 20L, null, null))).isEqualTo("2026-11-24T22:05:52.");
  }

  @Test
  void unterminatedLastLineIsShownWhenNotFollowing() throws IOException {
    byte[] s =
        "2026-11-24T22:05:50.000000000Z stdout a\n2026-11-24T22:05:51.000000000Z stdout b"
            .getBytes(StandardCharsets.UTF_8);
    assertThat(read(s, LogOptions.ALL)).isEqualTo("a\nb\n");
    assertThat(read(s, opts(1, false, null, null, null))).isEqualTo("b\n");
  }

  @Test
  void binaryAndEmptyLinesPassThrough() throws IOException {
    byte[] text = {(byte) 0xff, 0, (byte) 0xfe};
    var out = new ByteArrayOutputStream();
    out.writeBytes(TimestampedLog.line(T0, "stdout", text, 0, 3));
    out.writeBytes(TimestampedLog.line(T0, "stdout", new byte[0], 0, 0));
    try (InputStream in =
        TimestampedLog.filter(new ByteArrayInputStream(out.toByteArray()), LogOptions.ALL, T0)) {
      assertThat(in.readAllBytes()).containsExactly((byte) 0xff, 0, (byte) 0xfe, '\n', '\n');
    }
  }

  @Test
  void followStreamsAppendedLinesUntilFinished(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("log");
    Files.write(f, stored("first"));
    AtomicBoolean done = new AtomicBoolean();
    var follow = new LogOptions(true, null, false, null, null, null, false);
    try (InputStream in = TimestampedLog.follow(f, follow, T0, done::get, Duration.ofMillis(20))) {
      CompletableFuture<String> all =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                  throw new RuntimeException(e);
                }
              });
      byte[] second = "second".getBytes();
      Files.write(f, TimestampedLog.line(T0, "stdout", second, 0, 6), StandardOpenOption.APPEND);
      // half a line, completed later: must come out whole
      Files.write(
          f, "2026-11-24T22:05:59.000000000Z stdout thi".getBytes(), StandardOpenOption.APPEND);
      assertThat(all).isNotDone();
      Files.write(f, "rd\n".getBytes(), StandardOpenOption.APPEND);
      done.set(true);
      assertThat(all.get(10, TimeUnit.SECONDS)).isEqualTo("first\nsecond\nthird\n");
    }
  }

  @Test
  void followWithTailStartsFromTheLastLines(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("log");
    Files.write(f, stored("1", "2", "3"));
    var follow = new LogOptions(true, 1, false, null, null, null, false);
    AtomicBoolean done = new AtomicBoolean(true);
    try (InputStream in = TimestampedLog.follow(f, follow, T0, done::get, Duration.ofMillis(20))) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("3\n");
    }
  }

  @Test
  void aLongLineIsReadInPiecesOfBoundedSize() throws IOException {
    int max = TimestampedLog.MAX_READ_LINE_BYTES;
    byte[] huge = new byte[2 * max + 100];
    Arrays.fill(huge, (byte) 'x');
    byte[] exact = new byte[max];
    Arrays.fill(exact, (byte) 'y');
    var out = new ByteArrayOutputStream();
    out.writeBytes(huge);
    out.write('\n');
    out.writeBytes(exact);
    out.write('\n');
    out.writeBytes("tail".getBytes(StandardCharsets.UTF_8)); // no newline at the end
    List<String> lines = read(out.toByteArray(), LogOptions.ALL).lines().toList();
    assertThat(lines).extracting(String::length).containsExactly(max, max, 100, max, 4);
    assertThat(read(out.toByteArray(), opts(3, false, null, null, null)).lines())
        .extracting(String::length)
        .containsExactly(100, max, 4);
  }

  @Test
  void tailOfAFileFindsTheSameLinesAsReadingItAll() throws IOException {
    // Random lines: with or without timestamps, empty, longer than the read limit; random since.
    Random r = new Random(42);
    int max = TimestampedLog.MAX_READ_LINE_BYTES;
    for (int round = 0; round < 30; round++) {
      var out = new ByteArrayOutputStream();
      int n = r.nextInt(12);
      for (int i = 0; i < n; i++) {
        int kind = r.nextInt(5);
        byte[] text = new byte[kind == 4 ? max + r.nextInt(2 * max) : r.nextInt(20)];
        Arrays.fill(text, (byte) ('a' + i));
        if (kind == 0) {
          out.writeBytes(text);
          out.write('\n');
        } else {
          out.writeBytes(TimestampedLog.line(T0.plusSeconds(i), "stdout", text, 0, text.length));
        }
      }
      if (r.nextBoolean()) {
        out.writeBytes("2026-11-24T22:06:30Z stdout unterminated".getBytes(StandardCharsets.UTF_8));
      }
      Instant since = r.nextBoolean() ? null : T0.plusSeconds(r.nextInt(12));
      for (int tail : new int[] {0, 1, 2, 3, 5, 100}) {
        read(out.toByteArray(), opts(tail, false, null, null, since));
      }
    }
  }

  @Test
  void tailOfAHugeSingleLineHoldsOnePiece(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("log");
    byte[] block = new byte[1 << 20];
    Arrays.fill(block, (byte) 'z');
    try (var o = Files.newOutputStream(f)) {
      for (int i = 0; i < 24; i++) {
        o.write(block); // 24 MiB, no newline
      }
    }
    try (InputStream in =
        TimestampedLog.read(f, opts(1, false, null, null, null), T0.plusSeconds(100))) {
      byte[] last = in.readAllBytes();
      assertThat(last.length).isLessThanOrEqualTo(TimestampedLog.MAX_READ_LINE_BYTES + 1);
      assertThat(last[last.length - 1]).isEqualTo((byte) '\n');
    }
  }
}
