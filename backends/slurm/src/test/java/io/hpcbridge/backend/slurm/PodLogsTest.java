package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.slurm.transport.LocalTransport;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Logs read for real (bash, stat, dd) from a local work root: bounded chunks, tail and limit
 * without reading the whole file, no symlink or FIFO served, follow without a thread of its own.
 */
class PodLogsTest {
  @TempDir Path root;
  CountingTransport transport;
  PodLogs logs;
  Path dir;
  final Handle handle = new SlurmHandle("1", "u-1").handle();

  @BeforeEach
  void setUp() throws Exception {
    transport = new CountingTransport(new LocalTransport(Duration.ofSeconds(30)));
    LoginNode login =
        new LoginNode(SlurmConfig.parse(Map.of("workRoot", root.toString())), transport);
    login.account(); // learnt once: not part of what a read costs
    logs = new PodLogs(login, Duration.ofMillis(50));
    dir = Files.createDirectories(root.resolve("u-1/c/main"));
  }

  void append(String text) throws Exception {
    Files.writeString(
        dir.resolve("log"), text, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  String read(LogOptions o) throws Exception {
    try (InputStream in = logs.logs(handle, "main", o)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static String stamp(Instant t) {
    return LogFormat.RFC3339_NANO.format(t);
  }

  static LogOptions opts(Integer tail, boolean timestamps, Long limit, Instant since) {
    return new LogOptions(false, tail, timestamps, limit, null, since, false);
  }

  @Test
  void tailSinceLimitAndTimestamps() throws Exception {
    append("1795559298.000001 one\n1795559299.5 two\n1795559300.250000 three\n");
    append("not stamped\n1795559301.000000 four"); // the last line still being written
    assertThat(read(LogOptions.ALL)).isEqualTo("one\ntwo\nthree\nnot stamped\nfour\n");
    assertThat(read(opts(2, false, null, null))).isEqualTo("not stamped\nfour\n");
    assertThat(read(opts(0, false, null, null))).isEmpty();
    assertThat(read(opts(100, false, null, null))).startsWith("one\n");
    assertThat(read(opts(null, false, 6L, null))).isEqualTo("one\ntw");
    assertThat(read(opts(null, false, null, Instant.ofEpochSecond(1795559299, 600_000_000))))
        .isEqualTo("three\nnot stamped\nfour\n");
    assertThat(read(opts(1, true, null, null)))
        .isEqualTo(stamp(Instant.ofEpochSecond(1795559301)) + " four\n");
    assertThat(read(opts(null, true, 40L, null)))
        .isEqualTo(stamp(Instant.ofEpochSecond(1795559298, 1000)) + " one\n2026-");
  }

  @Test
  void aHugeLogIsReadFromItsEndInBoundedChunks() throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(dir.resolve("log").toFile(), "rw")) {
      f.setLength(2L << 30); // 2 GiB of NULs, sparse: one endless line
      f.seek(f.length());
      f.write("\n1795559298.0 last but one\n1795559299.0 last\n".getBytes(StandardCharsets.UTF_8));
    }
    long before = transport.calls.get();
    Instant start = Instant.now();
    assertThat(read(opts(2, false, null, null))).isEqualTo("last but one\nlast\n");
    assertThat(transport.calls.get() - before).as("remote reads for tail").isLessThanOrEqualTo(4);
    before = transport.calls.get();
    assertThat(read(opts(null, false, 20L, null))).hasSize(20);
    assertThat(transport.calls.get() - before).as("remote reads for limit").isLessThanOrEqualTo(3);
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void longLinesAreSplitAndARestartedContainersLogIsPrevious() throws Exception {
    String longText = "x".repeat(LogStream.MAX_LINE + 10);
    append("1795559298.0 " + longText + "\n");
    String shown = read(LogOptions.ALL);
    assertThat(shown.replace("\n", "")).isEqualTo(longText);
    assertThat(shown.lines()).hasSize(2);
    Files.writeString(dir.resolve("previous.log"), "1795559200.0 before restart\n");
    assertThat(read(new LogOptions(false, null, false, null, null, null, true)))
        .isEqualTo("before restart\n");
  }

  @Test
  void aLogThatIsNotARegularFileIsNotServed() throws Exception {
    Path secret = Files.createDirectories(root.resolve("u-2/env")).resolve("main.env");
    Files.writeString(secret, "export TOKEN='s3cr3t'\n");
    Files.createSymbolicLink(dir.resolve("log"), secret);
    assertThatThrownBy(() -> read(LogOptions.ALL))
        .isInstanceOf(BackendException.NotFound.class)
        .hasMessageContaining("not a regular file");
    Files.delete(dir.resolve("log"));
    assertThat(new ProcessBuilder("mkfifo", dir.resolve("log").toString()).start().waitFor())
        .isZero();
    assertThatThrownBy(() -> read(new LogOptions(true, null, false, null, null, null, false)))
        .isInstanceOf(BackendException.NotFound.class);
    assertThatThrownBy(
            () -> logs.logs(new SlurmHandle("1", "u-9").handle(), "main", LogOptions.ALL))
        .isInstanceOf(BackendException.NotFound.class)
        .hasMessageContaining("no pod directory");
  }

  @Test
  void aLogInASymlinkedDirectoryIsNotServed() throws Exception {
    // Another pod's log (it could be anything the account can read, under the name log).
    Path other = Files.createDirectories(root.resolve("u-2/c/main"));
    Files.writeString(other.resolve("log"), "1795559298.000000 s3cr3t\n");
    // c/main is a link to the other pod's container directory.
    Files.delete(dir);
    Files.createSymbolicLink(dir, other);
    assertThatThrownBy(() -> read(LogOptions.ALL))
        .isInstanceOf(BackendException.NotFound.class)
        .hasMessageContaining("not a regular file");
    // c is a link to the other pod's c.
    Files.delete(dir);
    Files.delete(dir.getParent());
    Files.createSymbolicLink(dir.getParent(), other.getParent());
    assertThatThrownBy(() -> read(LogOptions.ALL))
        .isInstanceOf(BackendException.NotFound.class)
        .hasMessageContaining("not a regular file");
    // Without links the log reads as usual, and a container without a directory has no log yet.
    Files.delete(dir.getParent());
    Files.createDirectories(dir);
    append("1795559298.000000 mine\n");
    assertThat(read(LogOptions.ALL)).isEqualTo("mine\n");
    assertThat(logs.logs(handle, "other", LogOptions.ALL).readAllBytes()).isEmpty();
  }

  @Test
  void followEndsWhenTheContainerExitsAndLeavesNoThread() throws Exception {
    append("1795559298.0 first\n");
    int threads = Thread.activeCount();
    Thread writer =
        new Thread(
            () -> {
              try {
                TimeUnit.MILLISECONDS.sleep(300);
                append("1795559299.0 second\n");
                Files.writeString(dir.resolve("exit"), "0 1795559299\n");
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
    writer.start();
    assertThat(read(new LogOptions(true, null, false, null, null, null, false)))
        .isEqualTo("first\nsecond\n");
    writer.join();
    // Commons-exec's helpers of the last command may take a moment to end; nothing else remains.
    await()
        .pollInSameThread()
        .atMost(Duration.ofSeconds(5))
        .until(() -> Thread.activeCount() <= threads);
  }

  @Test
  void followEndsWhenThePodIsGoneOrTheReaderCloses() throws Exception {
    append("1795559298.0 first\n");
    InputStream in =
        logs.logs(handle, "main", new LogOptions(true, null, false, null, null, null, false));
    byte[] buf = new byte[64];
    assertThat(new String(buf, 0, in.read(buf), StandardCharsets.UTF_8)).isEqualTo("first\n");
    CompletableFuture<Integer> blocked = CompletableFuture.supplyAsync(() -> readQuietly(in, buf));
    TimeUnit.MILLISECONDS.sleep(200);
    assertThat(blocked).isNotDone();
    in.close();
    assertThat(blocked.get(5, TimeUnit.SECONDS)).isEqualTo(-1);

    InputStream again =
        logs.logs(handle, "main", new LogOptions(true, null, false, null, null, null, false));
    assertThat(again.read(buf)).isPositive();
    CompletableFuture<Integer> waiting =
        CompletableFuture.supplyAsync(() -> readQuietly(again, buf));
    new ProcessBuilder("rm", "-rf", root.resolve("u-1").toString()).start().waitFor();
    assertThat(waiting.get(5, TimeUnit.SECONDS)).isEqualTo(-1);
  }

  static int readQuietly(InputStream in, byte[] buf) {
    try {
      return in.read(buf);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
