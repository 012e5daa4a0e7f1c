package io.hpcbridge.backend.local.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pod's phase as the supervisor records it: the kubelet's rules, the end only when it ends. */
class PodStateTest {

  @TempDir Path dir;

  PodState pod(PodPlan.RestartPolicy policy, int init) {
    ContainerPlan c =
        new ContainerPlan("c", "", null, List.of("true"), null, null, null, null, null, null, null);
    ContainerPlan i =
        new ContainerPlan("i", "", null, List.of("true"), null, null, null, null, null, null, null);
    PodPlan plan =
        new PodPlan(
            new PodRef("ns", "p", "uid"),
            "n",
            init == 0 ? List.of() : List.of(i),
            List.of(c),
            List.of(),
            policy,
            Duration.ofSeconds(1),
            Optional.empty(),
            Map.of(),
            Map.of());
    return new PodState(plan, new StatusFile(dir.resolve("status.json")), 1, 1, Instant.now());
  }

  @Test
  void terminalOnlyOnceFinishedAndThenByExitCodesOrAFailingReason() {
    PodState p = pod(PodPlan.RestartPolicy.NEVER, 0);
    assertThat(p.phase()).isEqualTo(Observed.Phase.PENDING);
    p.main.get(0).running(0, 2, 2, Instant.now());
    assertThat(p.phase()).isEqualTo(Observed.Phase.RUNNING);
    p.main.get(0).terminated(0, "Completed", null, Instant.now());
    assertThat(p.phase()).isEqualTo(Observed.Phase.RUNNING); // not yet recorded as the end
    p.finish();
    assertThat(p.phase()).isEqualTo(Observed.Phase.SUCCEEDED);

    PodState late = pod(PodPlan.RestartPolicy.NEVER, 0);
    late.main.get(0).running(0, 2, 2, Instant.now());
    late.main.get(0).terminated(0, "Completed", null, Instant.now());
    late.reason("DeadlineExceeded", "too long");
    late.finish();
    assertThat(late.phase()).isEqualTo(Observed.Phase.FAILED);
  }

  @Test
  void aFailedInitContainerKeepsThePodPendingUntilTheEndIsRecorded() {
    PodState p = pod(PodPlan.RestartPolicy.NEVER, 1);
    p.init.get(0).running(0, 2, 2, Instant.now());
    p.init.get(0).terminated(5, "Error", null, Instant.now());
    assertThat(p.phase()).isEqualTo(Observed.Phase.PENDING);
    p.reason("InitContainerFailed", "init container i exited with code 5");
    p.finish();
    assertThat(p.phase()).isEqualTo(Observed.Phase.FAILED);
  }
}
