package io.hpcbridge.state;

import static io.hpcbridge.state.Pods.intent;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.Observed.Phase;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Many threads, several stores and a second JVM on one file. The "shared" pod is updated by every
 * writer at once: exactly one intent and one phase change may reach its history, which holds only
 * if each read-modify-write is atomic across connections and processes.
 */
class ConcurrencyTest {
  private static final String SHARED = "shared";
  private static final Duration LIMIT = Duration.ofSeconds(60);

  @TempDir Path dir;
  private Path file;

  @BeforeEach
  void setUp() {
    file = dir.resolve("state.db");
  }

  @Test
  void manyThreadsShareOneStore() throws Exception {
    int threads = 8;
    int perThread = 15;
    try (StateStore store = StateStore.open(file)) {
      runConcurrently(
          threads,
          t -> {
            for (int i = 0; i < perThread; i++) {
              lifecycle(store, "t" + t + "-" + i);
              raceOnShared(store, "t" + t);
            }
          });

      assertAllWritten(store, threads * perThread);
    }
  }

  @Test
  void twoStoresWriteOneFileWhileAThirdReads() throws Exception {
    int threads = 6;
    int perThread = 15;
    try (StateStore first = StateStore.open(file);
        StateStore second = StateStore.open(file);
        StateStore reader = StateStore.open(file)) {
      AtomicBoolean writing = new AtomicBoolean(true);
      CompletableFuture<Void> writers =
          CompletableFuture.runAsync(
              () -> {
                try {
                  runConcurrently(
                      threads,
                      t -> {
                        StateStore store = t % 2 == 0 ? first : second;
                        for (int i = 0; i < perThread; i++) {
                          lifecycle(store, "t" + t + "-" + i);
                          raceOnShared(store, "t" + t);
                        }
                      });
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                } finally {
                  writing.set(false);
                }
              });

      // The reader polls while the writers run: every snapshot it sees is whole.
      int expected = threads * perThread + 1;
      await()
          .atMost(LIMIT)
          .pollInterval(Duration.ofMillis(5))
          .untilAsserted(
              () -> {
                List<TrackedPod> seen = reader.list();
                assertThat(seen)
                    .allSatisfy(
                        pod -> {
                          if (pod.isTerminal()) {
                            assertThat(pod.finished()).isNotNull();
                            assertThat(pod.handle()).isPresent();
                          }
                        });
                assertThat(seen).hasSize(expected);
              });
      writers.get(LIMIT.toSeconds(), SECONDS);
      assertThat(writing).isFalse();
      assertAllWritten(reader, threads * perThread);
    }
  }

  @Test
  void concurrentFirstOpensOfAFreshFileMigrateItOnce() throws Exception {
    List<StateStore> stores = new ArrayList<>();
    try {
      runConcurrently(
          8,
          t -> {
            StateStore store = StateStore.open(file);
            synchronized (stores) {
              stores.add(store);
            }
          });
      assertThat(stores)
          .hasSize(8)
          .allSatisfy(
              s -> assertThat(s.schemaVersion()).isEqualTo(StateStore.currentSchemaVersion()));
      stores.get(0).recordIntent(intent("u1"));
      assertThat(stores.get(7).get("u1")).isPresent();
    } finally {
      stores.forEach(StateStore::close);
    }
  }

  @Test
  void aSecondProcessWritesWhileThisOneWrites() throws Exception {
    int count = 40;
    try (StateStore store = StateStore.open(file)) {
      Process child =
          startSecondProcess("write", file.toString(), "child-", "" + count, "parent-0");
      // Start once the child is writing, and let it continue only once we are: true overlap.
      await().atMost(LIMIT).until(() -> store.get("child-0").isPresent() || !child.isAlive());
      runConcurrently(
          2,
          t -> {
            for (int i = t; i < count; i += 2) {
              lifecycle(store, "parent-" + i);
              raceOnShared(store, "parent-" + i);
            }
          });

      assertThat(child.waitFor(LIMIT.toSeconds(), SECONDS)).as("second process ended").isTrue();
      assertThat(child.exitValue()).as(output(child)).isZero();
      assertThat(stdout()).contains("wrote " + count);
      assertAllWritten(store, 2 * count);
    }
  }

  @Test
  void aSecondProcessReadsReadOnlyWhileThisOneWrites() throws Exception {
    int count = 60;
    try (StateStore store = StateStore.open(file)) {
      Process child = startSecondProcess("read", file.toString(), "" + count);
      BufferedReader out =
          new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
      assertThat(CompletableFuture.supplyAsync(() -> readLine(out)).get(LIMIT.toSeconds(), SECONDS))
          .as("second process opened the file")
          .isEqualTo("ready");

      for (int i = 0; i < count; i++) {
        lifecycle(store, "p" + i);
      }

      assertThat(child.waitFor(LIMIT.toSeconds(), SECONDS)).as("second process ended").isTrue();
      assertThat(child.exitValue()).as(output(child)).isZero();
      assertThat(readLine(out)).isEqualTo("saw " + count);
    }
  }

  /** The life of one pod as the bridge records it: five transactions, five transitions. */
  static void lifecycle(StateStore store, String uid) {
    store.recordIntent(intent(uid));
    store.recordSubmitted(uid, Pods.handle("h-" + uid));
    store.recordObserved(uid, Pods.observed(Phase.RUNNING, "by " + uid));
    store.recordObserved(uid, Pods.observed(Phase.SUCCEEDED, "{\"exit\":0}"));
    store.markGone(uid);
  }

  /** Every writer does this to the same pod; only the first of each step may leave a trace. */
  static void raceOnShared(StateStore store, String writer) {
    store.recordIntent(intent(SHARED));
    store.recordObserved(SHARED, Pods.observed(Phase.RUNNING, "by " + writer));
    store.markDeleting(SHARED);
  }

  private static void assertAllWritten(StateStore store, int pods) {
    List<TrackedPod> all = store.list();
    assertThat(all).hasSize(pods + 1);
    for (TrackedPod pod : all) {
      if (pod.uid().equals(SHARED)) {
        assertThat(store.transitions(SHARED))
            .extracting(Transition::event)
            .containsExactly("intent", "observed", "deleting");
      } else {
        assertThat(pod.phase()).isEqualTo(Phase.SUCCEEDED);
        assertThat(pod.isGone()).isTrue();
        assertThat(pod.handle()).contains(Pods.handle("h-" + pod.uid()));
        assertThat(store.transitions(pod.uid()))
            .extracting(Transition::event)
            .containsExactly("intent", "submitted", "observed", "observed", "gone");
      }
    }
  }

  /** Runs {@code body(0..threads-1)} on that many threads released together; rethrows failures. */
  private static void runConcurrently(int threads, IntConsumer body) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch start = new CountDownLatch(1);
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        done.add(
            pool.submit(
                () -> {
                  start.await();
                  body.accept(id);
                  return null;
                }));
      }
      start.countDown();
      for (Future<?> f : done) {
        f.get(LIMIT.toSeconds(), SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  private Process startSecondProcess(String... args) throws Exception {
    // Surefire puts the real test class path here; java.class.path may be a manifest-only jar.
    String classPath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-Xmx64m", "-cp", classPath, SecondProcess.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(dir.resolve("err").toFile());
    if (args[0].equals("write")) {
      builder.redirectOutput(dir.resolve("out").toFile());
    }
    return builder.start();
  }

  private String stdout() throws Exception {
    return Files.readString(dir.resolve("out"));
  }

  private String output(Process child) {
    try {
      return "second process exit "
          + child.exitValue()
          + ", stderr:\n"
          + Files.readString(dir.resolve("err"));
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static String readLine(BufferedReader in) {
    try {
      return in.readLine();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
