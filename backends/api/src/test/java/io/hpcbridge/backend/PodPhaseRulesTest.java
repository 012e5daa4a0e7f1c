package io.hpcbridge.backend;

import static io.hpcbridge.backend.Observed.Phase.FAILED;
import static io.hpcbridge.backend.Observed.Phase.PENDING;
import static io.hpcbridge.backend.Observed.Phase.RUNNING;
import static io.hpcbridge.backend.Observed.Phase.SUCCEEDED;
import static io.hpcbridge.backend.PodPlan.RestartPolicy.ALWAYS;
import static io.hpcbridge.backend.PodPlan.RestartPolicy.NEVER;
import static io.hpcbridge.backend.PodPlan.RestartPolicy.ON_FAILURE;
import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.Observed.ContainerStatus;
import io.hpcbridge.backend.Observed.State;
import io.hpcbridge.backend.Observed.Termination;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class PodPhaseRulesTest {
  private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

  private static ContainerStatus waiting(String n) {
    return ContainerStatus.waiting(n, "ContainerCreating", null);
  }

  private static ContainerStatus running(String n) {
    return ContainerStatus.running(n, T, 0);
  }

  private static ContainerStatus exited(String n, int code) {
    return ContainerStatus.terminated(n, code, null, T, T);
  }

  private static ContainerStatus crashLooping(String n, int lastCode) {
    return new ContainerStatus(
        n,
        State.WAITING,
        "CrashLoopBackOff",
        null,
        null,
        null,
        null,
        1,
        new Termination(lastCode, "Error", null, T, T));
  }

  @Test
  void initContainersGateThePod() {
    var mains = List.of(waiting("c"));
    assertThat(PodPhaseRules.phase(NEVER, List.of(running("i")), mains)).isEqualTo(PENDING);
    assertThat(PodPhaseRules.phase(NEVER, List.of(exited("i", 0)), mains)).isEqualTo(PENDING);
    assertThat(PodPhaseRules.phase(NEVER, List.of(exited("i", 0)), List.of(running("c"))))
        .isEqualTo(RUNNING);
  }

  @Test
  void aFailedInitContainerFailsThePodOnlyUnderNever() {
    var mains = List.of(waiting("c"));
    assertThat(PodPhaseRules.phase(NEVER, List.of(exited("i", 3)), mains)).isEqualTo(FAILED);
    assertThat(PodPhaseRules.phase(ON_FAILURE, List.of(exited("i", 3)), mains)).isEqualTo(PENDING);
    assertThat(PodPhaseRules.phase(ALWAYS, List.of(crashLooping("i", 3)), mains))
        .isEqualTo(PENDING);
  }

  @Test
  void containersWaitingForTheirFirstStartKeepThePodPending() {
    assertThat(PodPhaseRules.phase(NEVER, List.of(), List.of(running("a"), waiting("b"))))
        .isEqualTo(PENDING);
    assertThat(PodPhaseRules.phase(NEVER, List.of(), List.of())).isEqualTo(PENDING);
  }

  @Test
  void allStoppedDependsOnThePolicy() {
    var ok = List.of(exited("a", 0), exited("b", 0));
    var bad = List.of(exited("a", 0), exited("b", 1));
    assertThat(PodPhaseRules.phase(NEVER, List.of(), ok)).isEqualTo(SUCCEEDED);
    assertThat(PodPhaseRules.phase(ON_FAILURE, List.of(), ok)).isEqualTo(SUCCEEDED);
    assertThat(PodPhaseRules.phase(ALWAYS, List.of(), ok)).isEqualTo(RUNNING);
    assertThat(PodPhaseRules.phase(NEVER, List.of(), bad)).isEqualTo(FAILED);
    assertThat(PodPhaseRules.phase(ON_FAILURE, List.of(), bad)).isEqualTo(RUNNING);
  }

  @Test
  void aCrashLoopingContainerCountsAsStopped() {
    var mains = List.of(exited("a", 0), crashLooping("b", 2));
    assertThat(PodPhaseRules.phase(ON_FAILURE, List.of(), mains)).isEqualTo(RUNNING);
    assertThat(
            PodPhaseRules.phase(ON_FAILURE, List.of(), List.of(running("a"), crashLooping("b", 2))))
        .isEqualTo(RUNNING);
  }

  @Test
  void anEndedPodSucceedsOnlyWhenEverythingExitedZero() {
    assertThat(PodPhaseRules.ended(List.of(exited("i", 0)), List.of(exited("c", 0))))
        .isEqualTo(SUCCEEDED);
    assertThat(PodPhaseRules.ended(List.of(), List.of(exited("c", 0), running("d"))))
        .isEqualTo(FAILED);
    assertThat(PodPhaseRules.ended(List.of(exited("i", 1)), List.of(exited("c", 0))))
        .isEqualTo(FAILED);
    assertThat(PodPhaseRules.ended(List.of(), List.of())).isEqualTo(FAILED);
  }

  @Test
  void restartRules() {
    assertThat(PodPhaseRules.restarts(NEVER, false, 1)).isFalse();
    assertThat(PodPhaseRules.restarts(ON_FAILURE, false, 1)).isTrue();
    assertThat(PodPhaseRules.restarts(ON_FAILURE, false, 0)).isFalse();
    assertThat(PodPhaseRules.restarts(ALWAYS, false, 0)).isTrue();
    assertThat(PodPhaseRules.restarts(ALWAYS, true, 0)).isFalse();
    assertThat(PodPhaseRules.restarts(ALWAYS, true, 1)).isTrue();
  }
}
