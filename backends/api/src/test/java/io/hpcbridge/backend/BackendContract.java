package io.hpcbridge.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.Observed.Phase;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every backend promises the bridge, tested against the real thing: each backend's integration
 * test extends this class and says how to make a backend and a container that runs a shell script.
 * Published in this module's test-jar.
 *
 * <p>The promises: submit is idempotent and find works after a restart; observe answers many pods
 * in one batched call, changes nothing, and reports a handle it does not know as {@link
 * Phase#UNKNOWN}; exit codes decide the phase; cancel sends SIGTERM, then SIGKILL once the grace
 * period is over; logs honour tailLines, sinceTime, limitBytes and follow.
 */
public abstract class BackendContract {

  /** The backend under test, created once per test class and kept between tests. */
  protected abstract Backend backend();

  /** A second instance over the same state and data, as after a bridge restart. */
  protected abstract Backend restarted();

  /** A container named {@code name} that runs {@code script} with {@code /bin/sh -c}. */
  protected abstract ContainerPlan shell(String name, String script);

  /** A well-formed handle of this backend that names nothing (e.g. a job id that never existed). */
  protected abstract Handle unknownHandle();

  /**
   * Remote calls made so far (SSH commands, engine API calls); a backend that makes none returns 0.
   */
  protected abstract long remoteCalls();

  /** Whether this backend tells {@link Backend#onChange} listeners of starts and ends. */
  protected boolean reportsChanges() {
    return false;
  }

  /** How long a short pod may take from submit to its end on this backend. */
  protected Duration patience() {
    return Duration.ofSeconds(60);
  }

  private final List<Handle> submitted = new ArrayList<>();

  @AfterEach
  void cleanUp() {
    for (Handle h : submitted) {
      try {
        backend().cancel(h, Duration.ZERO);
      } catch (BackendException | RuntimeException e) {
        // already gone
      }
    }
    submitted.clear();
  }

  /** A one-container pod with a fresh UID in namespace {@code contract}. */
  protected PodPlan pod(String name, String script, Duration grace) {
    String uid = UUID.randomUUID().toString();
    return new PodPlan(
        new PodRef("contract", name, uid),
        "contract-node",
        List.of(),
        List.of(shell("main", script)),
        List.of(),
        PodPlan.RestartPolicy.NEVER,
        grace,
        Optional.empty(),
        Map.of(),
        Map.of());
  }

  protected Handle submit(PodPlan plan) throws BackendException {
    Handle h = backend().submit(plan);
    submitted.add(h);
    return h;
  }

  protected Observed awaitPhase(Handle h, Phase... phases) {
    Observed[] last = new Observed[1];
    await()
        .atMost(patience())
        .pollInterval(Duration.ofMillis(500))
        .until(
            () -> {
              last[0] = backend().observe(List.of(h)).get(h);
              return last[0] != null && List.of(phases).contains(last[0].phase());
            });
    return last[0];
  }

  protected String logs(Handle h, LogOptions options) throws BackendException {
    try (InputStream in = backend().logs(h, "main", options)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void submitIsIdempotentAndFindWorksAfterARestart() throws Exception {
    PodPlan plan = pod("once", "echo ran", Duration.ofSeconds(5));
    Handle first = submit(plan);
    Handle again = backend().submit(plan);
    assertThat(again).isEqualTo(first);
    assertThat(restarted().find(plan.pod())).contains(first);
    awaitPhase(first, Phase.SUCCEEDED);
    assertThat(logs(first, LogOptions.ALL)).isEqualTo("ran\n");
  }

  @Test
  void submitNewStartsEachPodOnceInOrderAndCancelAllStopsThem() throws Exception {
    List<PodPlan> plans = new ArrayList<>();
    // Three, so they run side by side on a small cluster; long enough to be running at the cancel.
    for (int i = 0; i < 3; i++) {
      plans.add(pod("new-" + i, "echo pod" + i + "; sleep 300", Duration.ofSeconds(1)));
    }
    List<Submission> out = backend().submitNew(plans);
    assertThat(out).hasSize(plans.size());
    List<Handle> handles = new ArrayList<>();
    for (int i = 0; i < plans.size(); i++) {
      Submission s = out.get(i);
      assertThat(s.pod()).isEqualTo(plans.get(i).pod());
      assertThat(s.ok()).as("pod %d: %s", i, s.error()).isTrue();
      submitted.add(s.handle());
      handles.add(s.handle());
      assertThat(restarted().find(plans.get(i).pod())).contains(s.handle());
    }
    assertThat(handles).doesNotHaveDuplicates();
    for (int i = 0; i < handles.size(); i++) {
      Handle h = handles.get(i);
      awaitPhase(h, Phase.RUNNING);
      String want = "pod" + i;
      await().atMost(patience()).until(() -> logs(h, LogOptions.ALL).equals(want + "\n"));
    }
    assertThat(backend().cancelAll(handles, Duration.ZERO)).isEmpty();
    for (Handle h : handles) {
      assertThat(awaitPhase(h, Phase.FAILED, Phase.SUCCEEDED).phase()).isEqualTo(Phase.FAILED);
    }
  }

  @Test
  void changesAreReportedByBackendsThatSaySoAndOnlyByThem() throws Exception {
    AtomicInteger told = new AtomicInteger();
    backend().onChange(told::incrementAndGet);
    try {
      Handle h = submit(pod("told", "echo up; sleep 3", Duration.ofSeconds(1)));
      if (reportsChanges()) {
        // Nobody observes meanwhile: the backend speaks up by itself once the container runs.
        int before = told.get();
        await().atMost(patience()).until(() -> told.get() > before);
      }
      awaitPhase(h, Phase.SUCCEEDED, Phase.FAILED);
      if (!reportsChanges()) {
        assertThat(told.get()).as("a polled-only backend never calls the listener").isZero();
      }
    } finally {
      backend().onChange(() -> {});
    }
  }

  @Test
  void findKnowsNothingOfAPodNeverSubmitted() throws Exception {
    assertThat(backend().find(new PodRef("contract", "never", UUID.randomUUID().toString())))
        .isEmpty();
  }

  @Test
  void exitCodesDecideThePhase() throws Exception {
    Handle ok = submit(pod("ok", "exit 0", Duration.ofSeconds(5)));
    Handle bad = submit(pod("bad", "exit 3", Duration.ofSeconds(5)));
    Observed good = awaitPhase(ok, Phase.SUCCEEDED, Phase.FAILED);
    Observed failed = awaitPhase(bad, Phase.SUCCEEDED, Phase.FAILED);
    assertThat(good.phase()).isEqualTo(Phase.SUCCEEDED);
    assertThat(good.containers().get(0).exitCode()).isZero();
    assertThat(failed.phase()).isEqualTo(Phase.FAILED);
    assertThat(failed.containers().get(0).exitCode()).isEqualTo(3);
  }

  @Test
  void observeIsOneBatchedCallWithoutSideEffects() throws Exception {
    List<Handle> handles = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      handles.add(submit(pod("batch-" + i, "sleep 30", Duration.ofSeconds(1))));
    }
    Handle unknown = unknownHandle();
    handles.add(unknown);
    backend().observe(handles); // warm up (connections, caches)
    long before = remoteCalls();
    Map<Handle, Observed> seen = backend().observe(handles);
    long calls = remoteCalls() - before;
    assertThat(calls).as("remote calls for one observe of 4 pods").isLessThanOrEqualTo(2);
    assertThat(seen.keySet()).containsAll(handles.subList(0, 3));
    assertThat(seen.get(unknown))
        .satisfiesAnyOf(
            o -> assertThat(o).isNull(), o -> assertThat(o.phase()).isEqualTo(Phase.UNKNOWN));
    // Observing changed nothing: the unknown handle still names nothing.
    PodRef never = new PodRef("contract", "never", UUID.randomUUID().toString());
    backend().observe(List.of(unknown));
    assertThat(backend().find(never)).isEmpty();
  }

  @Test
  void cancelSendsTermThenKillAfterTheGracePeriod() throws Exception {
    // Ignores SIGTERM: only SIGKILL ends it, once the 3 s grace period is over.
    Handle h =
        submit(
            pod(
                "stubborn",
                "trap 'echo got TERM' TERM; echo ready; while :; do sleep 1; done",
                Duration.ofSeconds(3)));
    awaitPhase(h, Phase.RUNNING);
    await().atMost(patience()).until(() -> logs(h, LogOptions.ALL).contains("ready"));
    Instant asked = Instant.now();
    backend().cancel(h, Duration.ofSeconds(3));
    Observed end = awaitPhase(h, Phase.FAILED, Phase.SUCCEEDED);
    Duration took = Duration.between(asked, Instant.now());
    assertThat(end.phase()).isEqualTo(Phase.FAILED);
    assertThat(took).as("ended only after the grace period").isGreaterThan(Duration.ofSeconds(2));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> logs(h, LogOptions.ALL).contains("got TERM"));
  }

  @Test
  void logsHonourTailSinceLimitAndFollow() throws Exception {
    Handle h =
        submit(
            pod(
                "lines",
                "for i in 1 2 3; do echo line$i; done; sleep 3; echo line4; sleep 1; echo line5",
                Duration.ofSeconds(1)));
    awaitPhase(h, Phase.RUNNING, Phase.SUCCEEDED);
    await().atMost(patience()).until(() -> logs(h, LogOptions.ALL).contains("line3"));
    // follow: everything, until the container has ended
    LogOptions follow = new LogOptions(true, null, false, null, null, null, false);
    assertThat(logs(h, follow)).isEqualTo("line1\nline2\nline3\nline4\nline5\n");
    assertThat(logs(h, new LogOptions(false, 2, false, null, null, null, false)))
        .isEqualTo("line4\nline5\n");
    assertThat(logs(h, new LogOptions(false, null, false, 8L, null, null, false)))
        .isEqualTo("line1\nli");
    assertThat(
            logs(
                h,
                new LogOptions(
                    false, null, false, null, null, Instant.now().plusSeconds(60), false)))
        .isEmpty();
    String stamped = logs(h, new LogOptions(false, 1, true, null, null, null, false));
    assertThat(stamped).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?Z line5\n");
  }
}
