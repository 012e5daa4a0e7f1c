package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * How pods that do not simply run and exit are reported, on the real engines: failed pulls, OOM
 * kills and restarts, containers that cannot start, pods past their deadline.
 */
class DockerPodStatusIT extends EngineTest {

  @Test
  void pullFailuresBecomeWaitingReasonsWithTheDaemonsMessage() throws Exception {
    ContainerPlan missing =
        Plans.container("app", "hpcbridge-it-missing/image:1", List.of("true"), List.of());
    ContainerPlan never =
        new ContainerPlan(
            "strict",
            "hpcbridge-it-missing/other:1",
            "Never",
            List.of("true"),
            List.of(),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(),
            List.of());
    Handle h = backend.submit(Plans.pod("pull", List.of(), List.of(missing, never)));
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              Observed o = observe(backend, h);
              assertThat(o.phase()).isEqualTo(Phase.PENDING);
              var app = o.container("app").orElseThrow();
              assertThat(app.reason()).isEqualTo("ErrImagePull");
              assertThat(app.message()).contains("hpcbridge-it-missing/image:1");
            });
    // the daemon's own words are in the message
    assertThat(observe(backend, h).container("app").orElseThrow().message())
        .containsAnyOf("denied", "not found", "resolve", "no such host", "dial", "lookup", "Get ");
    // Never does not pull
    assertThat(observe(backend, h).container("strict").orElseThrow().reason())
        .isEqualTo("ErrImageNeverPull");
    // the next pull waits for its back-off (10 s), however often the pod is observed
    await()
        .during(Duration.ofSeconds(5))
        .atMost(Duration.ofSeconds(6))
        .pollInterval(Duration.ofMillis(250))
        .untilAsserted(
            () ->
                assertThat(observe(backend, h).container("app").orElseThrow().reason())
                    .isEqualTo("ErrImagePull"));
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () ->
                assertThat(observe(backend, h).container("app").orElseThrow().reason())
                    .isEqualTo("ImagePullBackOff"));
  }

  @Test
  void oomKilledAndOnFailureRestartsAreReported() throws Exception {
    ContainerPlan hog =
        new ContainerPlan(
            "hog",
            "local/busybox:1",
            "IfNotPresent",
            List.of("sh", "-c"),
            List.of("head -c 300m /dev/zero | tail"),
            null,
            Map.of(),
            null,
            new Resources(0, 0, 0, 16L << 20, 0, Map.of()),
            List.of(),
            List.of());
    Handle oom = backend.submit(Plans.pod("oom", List.of(), List.of(hog)));

    // fails twice, then succeeds: counted in an emptyDir that survives the restarts
    var vols = List.of(new VolumePlan("state", VolumePlan.Type.EMPTY_DIR, List.of(), null, false));
    ContainerPlan flaky =
        new ContainerPlan(
            "flaky",
            "local/busybox:1",
            "IfNotPresent",
            List.of("sh", "-c"),
            List.of(
                "n=$(cat /s/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /s/n; echo run$n; [ $n"
                    + " -ge 3 ] && exit 0; exit 4"),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(new ContainerPlan.Mount("state", "/s", null, false)),
            List.of());
    Handle retry =
        backend.submit(
            Plans.pod("retry", List.of(), List.of(flaky), vols, PodPlan.RestartPolicy.ON_FAILURE));

    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              Observed o = observe(backend, oom);
              assertThat(o.phase()).isEqualTo(Phase.FAILED);
              assertThat(o.container("hog").orElseThrow().reason()).isEqualTo("OOMKilled");
              assertThat(o.container("hog").orElseThrow().exitCode()).isEqualTo(137);
            });

    Observed r = awaitPhase(backend, retry, Set.of(Phase.SUCCEEDED), Duration.ofSeconds(60));
    var f = r.container("flaky").orElseThrow();
    assertThat(f.exitCode()).isZero();
    assertThat(f.restartCount()).isEqualTo(2);
    assertThat(read(backend.logs(retry, "flaky", LogOptions.ALL))).contains("run1", "run2", "run3");
  }

  @Test
  void aContainerThatCannotStartFailsTheNeverPod() throws Exception {
    ContainerPlan bad =
        Plans.container("bad", "local/busybox:1", List.of("/no/such/program"), List.of());
    Handle h = backend.submit(Plans.pod("cannot-start", List.of(), List.of(bad)));
    Observed o = awaitPhase(backend, h, Set.of(Phase.FAILED), Duration.ofSeconds(60));
    var c = o.container("bad").orElseThrow();
    assertThat(c.state()).isEqualTo(Observed.State.TERMINATED);
    assertThat(c.exitCode()).isNotZero();
    assertThat(c.message()).contains("/no/such/program");
  }

  @Test
  void activeDeadlineFailsThePodAndStopsIt() throws Exception {
    PodPlan p0 =
        Plans.pod(
            "deadline",
            List.of(),
            List.of(Plans.sh("c", "trap 'exit 0' TERM; while :; do sleep 0.2; done")));
    PodPlan p =
        new PodPlan(
            p0.pod(),
            p0.nodeName(),
            p0.initContainers(),
            p0.containers(),
            p0.volumes(),
            p0.restartPolicy(),
            Duration.ofSeconds(2),
            java.util.Optional.of(Duration.ofSeconds(2)),
            p0.labels(),
            p0.annotations());
    Handle h = backend.submit(p);
    Observed o = awaitPhase(backend, h, Set.of(Phase.FAILED), Duration.ofSeconds(60));
    assertThat(o.reason()).isEqualTo("DeadlineExceeded");
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () ->
                assertThat(observe(backend, h).container("c").orElseThrow().state())
                    .isEqualTo(Observed.State.TERMINATED));
  }
}
