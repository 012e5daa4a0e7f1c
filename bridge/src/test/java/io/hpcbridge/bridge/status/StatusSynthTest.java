package io.hpcbridge.bridge.status;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StatusSynthTest {

  private static final Instant T0 = Instant.parse("2024-03-01T10:00:00Z");
  private static final Instant T1 = Instant.parse("2024-03-01T10:00:05.123Z");
  private static final Instant T2 = Instant.parse("2024-03-01T10:01:00Z");
  private static final Instant T3 = Instant.parse("2024-03-01T10:02:00Z");

  private final StatusSynth synth = new StatusSynth("local");

  // ---- phases and container states ----

  @Test
  void pendingPodWaitsInContainerCreating() {
    PodStatus s = synth.pending(pod(), T0, "10.0.0.1");

    assertThat(s.getPhase()).isEqualTo("Pending");
    assertThat(s.getHostIP()).isEqualTo("10.0.0.1");
    assertThat(s.getStartTime()).isEqualTo("2024-03-01T10:00:00Z");
    assertThat(s.getPodIP()).isNull();
    ContainerStatus c = s.getContainerStatuses().get(0);
    assertThat(c.getState().getWaiting().getReason()).isEqualTo("ContainerCreating");
    assertThat(c.getReady()).isFalse();
    assertThat(c.getContainerID()).isNull();
    assertThat(conditions(s))
        .containsExactly(
            tuple("Initialized", "True", null),
            tuple("Ready", "False", "ContainersNotReady"),
            tuple("ContainersReady", "False", "ContainersNotReady"),
            tuple("PodScheduled", "True", null));
  }

  @Test
  void pendingPodWithInitContainersIsNotInitialized() {
    PodStatus s = synth.pending(podWithInit(), T0, "10.0.0.1");

    assertThat(s.getInitContainerStatuses())
        .extracting(c -> c.getState().getWaiting().getReason())
        .containsExactly("PodInitializing");
    assertThat(s.getContainerStatuses())
        .extracting(c -> c.getState().getWaiting().getReason())
        .containsExactly("PodInitializing");
    assertThat(condition(s, "Initialized"))
        .extracting(PodCondition::getStatus, PodCondition::getReason)
        .containsExactly("False", "ContainersNotInitialized");
  }

  @Test
  void runningPodIsReady() {
    Observed o =
        observed(Phase.RUNNING, Observed.ContainerStatus.running("main", T1, 0))
            .withAddresses("10.0.0.7", "10.0.0.8")
            .get();

    PodStatus s = synth.synth(pod(), o, T2, "10.0.0.1");

    assertThat(s.getPhase()).isEqualTo("Running");
    assertThat(s.getHostIP()).isEqualTo("10.0.0.7");
    assertThat(s.getPodIP()).isEqualTo("10.0.0.8");
    assertThat(s.getPodIPs()).containsExactly(new PodIP("10.0.0.8"));
    ContainerStatus c = s.getContainerStatuses().get(0);
    assertThat(c.getState().getRunning().getStartedAt()).isEqualTo("2024-03-01T10:00:05Z");
    assertThat(c.getReady()).isTrue();
    assertThat(c.getStarted()).isTrue();
    assertThat(c.getRestartCount()).isZero();
    assertThat(c.getContainerID()).isEqualTo("local://uid-1/main");
    assertThat(c.getImage()).isEqualTo("busybox:1");
    assertThat(conditions(s))
        .containsExactly(
            tuple("Initialized", "True", null),
            tuple("Ready", "True", null),
            tuple("ContainersReady", "True", null),
            tuple("PodScheduled", "True", null));
  }

  @Test
  void hostIpFallsBackToTheNodeAddress() {
    PodStatus s =
        synth.synth(
            pod(),
            observed(Phase.RUNNING, Observed.ContainerStatus.running("main", T1, 0)).get(),
            T2,
            "10.0.0.1");

    assertThat(s.getHostIP()).isEqualTo("10.0.0.1");
    assertThat(s.getPodIP()).isNull();
    assertThat(s.getPodIPs()).isEmpty();
  }

  @Test
  void succeededPodHasCompletedContainers() {
    Observed o =
        observed(Phase.SUCCEEDED, Observed.ContainerStatus.terminated("main", 0, null, T1, T2))
            .get();

    PodStatus s = synth.synth(pod(), o, T3, "10.0.0.1");

    assertThat(s.getPhase()).isEqualTo("Succeeded");
    var t = s.getContainerStatuses().get(0).getState().getTerminated();
    assertThat(t.getExitCode()).isZero();
    assertThat(t.getReason()).isEqualTo("Completed");
    assertThat(t.getStartedAt()).isEqualTo("2024-03-01T10:00:05Z");
    assertThat(t.getFinishedAt()).isEqualTo("2024-03-01T10:01:00Z");
    assertThat(s.getContainerStatuses().get(0).getReady()).isFalse();
    assertThat(condition(s, "Ready").getReason()).isEqualTo("PodCompleted");
    assertThat(condition(s, "ContainersReady").getReason()).isEqualTo("PodCompleted");
  }

  @Test
  void failedPodHasErrorContainersAndTheBackendsReason() {
    Observed o =
        new Observed(
            Phase.FAILED,
            "DeadlineExceeded",
            "Pod was active on the node longer than the specified deadline",
            null,
            null,
            T0,
            List.of(),
            List.of(Observed.ContainerStatus.terminated("main", 2, null, T1, T2)));

    PodStatus s = synth.synth(pod(), o, T3, "10.0.0.1");

    assertThat(s.getPhase()).isEqualTo("Failed");
    assertThat(s.getReason()).isEqualTo("DeadlineExceeded");
    assertThat(s.getMessage()).contains("deadline");
    var t = s.getContainerStatuses().get(0).getState().getTerminated();
    assertThat(t.getExitCode()).isEqualTo(2);
    assertThat(t.getReason()).isEqualTo("Error");
    // As the kubelet: a failed pod's containers are not ready because the pod failed.
    assertThat(condition(s, "Ready").getReason()).isEqualTo("PodFailed");
    assertThat(condition(s, "ContainersReady").getReason()).isEqualTo("PodFailed");
  }

  @Test
  void oomKilledReasonIsKept() {
    Observed o =
        observed(
                Phase.FAILED, Observed.ContainerStatus.terminated("main", 137, "OOMKilled", T1, T2))
            .get();

    var t =
        synth.synth(pod(), o, T3, null).getContainerStatuses().get(0).getState().getTerminated();

    assertThat(t.getExitCode()).isEqualTo(137);
    assertThat(t.getReason()).isEqualTo("OOMKilled");
  }

  @Test
  void restartCountAndLastState() {
    Observed.ContainerStatus restarted =
        new Observed.ContainerStatus(
            "main",
            Observed.State.RUNNING,
            null,
            null,
            null,
            T2,
            null,
            3,
            new Observed.Termination(1, "Error", "boom", T0, T1));

    ContainerStatus c =
        synth
            .synth(pod(), observed(Phase.RUNNING, restarted).get(), T3, null)
            .getContainerStatuses()
            .get(0);

    assertThat(c.getRestartCount()).isEqualTo(3);
    assertThat(c.getState().getRunning().getStartedAt()).isEqualTo("2024-03-01T10:01:00Z");
    var last = c.getLastState().getTerminated();
    assertThat(last.getExitCode()).isEqualTo(1);
    assertThat(last.getReason()).isEqualTo("Error");
    assertThat(last.getMessage()).isEqualTo("boom");
    assertThat(last.getFinishedAt()).isEqualTo("2024-03-01T10:00:05Z");
  }

  @Test
  void containerTheBackendDoesNotReportIsCreating() {
    PodStatus s = synth.synth(pod(), observed(Phase.PENDING).get(), T1, null);

    assertThat(s.getContainerStatuses().get(0).getState().getWaiting().getReason())
        .isEqualTo("ContainerCreating");
  }

  @Test
  void initializedOnlyWhenEveryInitContainerSucceeded() {
    Observed done =
        new Observed(
            Phase.RUNNING,
            null,
            null,
            null,
            null,
            T0,
            List.of(Observed.ContainerStatus.terminated("init", 0, null, T0, T1)),
            List.of(Observed.ContainerStatus.running("main", T1, 0)));
    Observed failed =
        new Observed(
            Phase.FAILED,
            null,
            null,
            null,
            null,
            T0,
            List.of(Observed.ContainerStatus.terminated("init", 1, null, T0, T1)),
            List.of(Observed.ContainerStatus.waiting("main", "PodInitializing", null)));

    PodStatus ok = synth.synth(podWithInit(), done, T2, null);
    PodStatus bad = synth.synth(podWithInit(), failed, T2, null);

    assertThat(condition(ok, "Initialized").getStatus()).isEqualTo("True");
    assertThat(ok.getInitContainerStatuses().get(0).getReady()).isFalse();
    assertThat(condition(bad, "Initialized"))
        .extracting(PodCondition::getStatus, PodCondition::getReason)
        .containsExactly("False", "ContainersNotInitialized");
    assertThat(bad.getInitContainerStatuses().get(0).getState().getTerminated().getReason())
        .isEqualTo("Error");
  }

  // ---- determinism and transition times ----

  @Test
  void sameInputGivesEqualStatus() {
    Observed o =
        observed(Phase.RUNNING, Observed.ContainerStatus.running("main", T1, 1))
            .withAddresses("h", "p")
            .get();

    PodStatus a = synth.synth(pod(), o, T2, "10.0.0.1");
    PodStatus b = synth.synth(pod(), o, T2, "10.0.0.1");

    assertThat(a).isEqualTo(b);
    assertThat(Serialization.asJson(a)).isEqualTo(Serialization.asJson(b));
  }

  @Test
  void unchangedConditionsKeepTheirTransitionTime() {
    Observed running =
        observed(Phase.RUNNING, Observed.ContainerStatus.running("main", T1, 0)).get();
    PodStatus first = synth.synth(pod(), running, T1, "10.0.0.1");
    Pod withFirst = new PodBuilder(pod()).withStatus(first).build();

    PodStatus again = synth.synth(withFirst, running, T2, "10.0.0.1");

    assertThat(again).isEqualTo(first);
    assertThat(Serialization.asJson(again)).isEqualTo(Serialization.asJson(first));
  }

  @Test
  void changedConditionsGetTheNewTime() {
    Observed running =
        observed(Phase.RUNNING, Observed.ContainerStatus.running("main", T1, 0)).get();
    Observed done =
        observed(Phase.SUCCEEDED, Observed.ContainerStatus.terminated("main", 0, null, T1, T2))
            .get();
    Pod withRunning =
        new PodBuilder(pod()).withStatus(synth.synth(pod(), running, T1, null)).build();

    PodStatus s = synth.synth(withRunning, done, T3, null);

    assertThat(condition(s, "Ready").getLastTransitionTime()).isEqualTo("2024-03-01T10:02:00Z");
    assertThat(condition(s, "ContainersReady").getLastTransitionTime())
        .isEqualTo("2024-03-01T10:02:00Z");
    assertThat(condition(s, "PodScheduled").getLastTransitionTime())
        .isEqualTo("2024-03-01T10:00:05Z");
    assertThat(condition(s, "Initialized").getLastTransitionTime())
        .isEqualTo("2024-03-01T10:00:05Z");
    assertThat(s.getStartTime()).isEqualTo("2024-03-01T10:00:00Z");
  }

  // ---- failed() ----

  @Test
  void failedStatusCarriesReasonAndMessage() {
    Pod pending = new PodBuilder(pod()).withStatus(synth.pending(pod(), T0, "10.0.0.1")).build();

    PodStatus s = synth.failed(pending, "UnsupportedVolume", "volume \"data\" has a type ...", T1);

    assertThat(s.getPhase()).isEqualTo("Failed");
    assertThat(s.getReason()).isEqualTo("UnsupportedVolume");
    assertThat(s.getMessage()).contains("data");
    assertThat(s.getStartTime()).isEqualTo("2024-03-01T10:00:00Z");
    assertThat(s.getQosClass()).isEqualTo("BestEffort");
    assertThat(condition(s, "PodScheduled").getStatus()).isEqualTo("True");
    assertThat(condition(s, "Ready"))
        .extracting(PodCondition::getStatus, PodCondition::getReason)
        .containsExactly("False", "UnsupportedVolume");
    assertThat(synth.failed(pending, "UnsupportedVolume", "m", T1))
        .isEqualTo(synth.failed(pending, "UnsupportedVolume", "m", T1));
  }

  // ---- QoS class ----

  @Test
  void qosClassFollowsTheKubeletRules() {
    assertThat(qos(main(Map.of(), Map.of()))).isEqualTo("BestEffort");
    assertThat(qos(main(Map.of("cpu", "100m"), Map.of()))).isEqualTo("Burstable");
    assertThat(qos(main(Map.of(), Map.of("cpu", "1", "memory", "1Gi")))).isEqualTo("Guaranteed");
    assertThat(
            qos(
                main(
                    Map.of("cpu", "1000m", "memory", "1024Mi"),
                    Map.of("cpu", "1", "memory", "1Gi"))))
        .isEqualTo("Guaranteed");
    assertThat(
            qos(main(Map.of("cpu", "500m", "memory", "1Gi"), Map.of("cpu", "1", "memory", "1Gi"))))
        .isEqualTo("Burstable");
    assertThat(qos(main(Map.of(), Map.of("cpu", "1")))).isEqualTo("Burstable");
  }

  @Test
  void qosClassCountsOnlyCpuAndMemory() {
    assertThat(qos(main(Map.of(), Map.of("nvidia.com/gpu", "1")))).isEqualTo("BestEffort");
    assertThat(qos(main(Map.of("ephemeral-storage", "1Gi"), Map.of()))).isEqualTo("BestEffort");
    assertThat(qos(main(Map.of(), Map.of("cpu", "1", "memory", "1Gi", "nvidia.com/gpu", "1"))))
        .isEqualTo("Guaranteed");
  }

  @Test
  void qosClassIgnoresZeroQuantities() {
    assertThat(qos(main(Map.of("cpu", "0", "memory", "0"), Map.of()))).isEqualTo("BestEffort");
  }

  @Test
  void qosClassLooksAtEveryContainerIncludingInit() {
    Container guaranteed = main(Map.of(), Map.of("cpu", "1", "memory", "1Gi"));
    Container bare = new ContainerBuilder().withName("side").build();
    Pod oneBare =
        new PodBuilder(pod()).editSpec().withContainers(guaranteed, bare).endSpec().build();
    Pod initBare =
        new PodBuilder(pod())
            .editSpec()
            .withContainers(guaranteed)
            .withInitContainers(bare)
            .endSpec()
            .build();

    assertThat(StatusSynth.qosClass(oneBare)).isEqualTo("Burstable");
    assertThat(StatusSynth.qosClass(initBare)).isEqualTo("Burstable");
  }

  // ---- helpers ----

  private static Pod pod() {
    return new PodBuilder()
        .withNewMetadata()
        .withName("web-0")
        .withNamespace("ns")
        .withUid("uid-1")
        .endMetadata()
        .withNewSpec()
        .withNodeName("vnode-1")
        .withContainers(new ContainerBuilder().withName("main").withImage("busybox:1").build())
        .endSpec()
        .build();
  }

  private static Pod podWithInit() {
    return new PodBuilder(pod())
        .editSpec()
        .withInitContainers(new ContainerBuilder().withName("init").withImage("busybox:1").build())
        .endSpec()
        .build();
  }

  private static String qos(Container c) {
    return StatusSynth.qosClass(
        new PodBuilder(pod()).editSpec().withContainers(c).endSpec().build());
  }

  private static Container main(Map<String, String> requests, Map<String, String> limits) {
    ContainerBuilder b = new ContainerBuilder().withName("main");
    if (!requests.isEmpty() || !limits.isEmpty()) {
      b.withNewResources()
          .withRequests(quantities(requests))
          .withLimits(quantities(limits))
          .endResources();
    }
    return b.build();
  }

  private static Map<String, Quantity> quantities(Map<String, String> m) {
    Map<String, Quantity> out = new java.util.HashMap<>();
    m.forEach((k, v) -> out.put(k, new Quantity(v)));
    return out;
  }

  private static List<org.assertj.core.groups.Tuple> conditions(PodStatus s) {
    return s.getConditions().stream()
        .map(c -> tuple(c.getType(), c.getStatus(), c.getReason()))
        .toList();
  }

  private static PodCondition condition(PodStatus s, String type) {
    Optional<PodCondition> c =
        s.getConditions().stream().filter(x -> x.getType().equals(type)).findFirst();
    assertThat(c).as("condition %s", type).isPresent();
    return c.get();
  }

  /** An observation with main containers only, started at T0. */
  private static ObservedBuilder observed(Phase phase, Observed.ContainerStatus... containers) {
    return new ObservedBuilder(phase, List.of(containers));
  }

  private record ObservedBuilder(
      Phase phase, List<Observed.ContainerStatus> containers, String hostIP, String podIP) {
    ObservedBuilder(Phase phase, List<Observed.ContainerStatus> containers) {
      this(phase, containers, null, null);
    }

    ObservedBuilder withAddresses(String host, String pod) {
      return new ObservedBuilder(phase, containers, host, pod);
    }

    Observed get() {
      return new Observed(phase, null, null, hostIP, podIP, T0, List.of(), containers);
    }
  }

  @Test
  void onlyAddressesBecomeHostAndPodIps() {
    assertThat(StatusSynth.ip("10.1.2.3")).isEqualTo("10.1.2.3");
    assertThat(StatusSynth.ip("fd00::1")).isEqualTo("fd00::1");
    assertThat(StatusSynth.ip("docker-host-1.example.org")).isNull();
    assertThat(StatusSynth.ip("999.1.1.1")).isNull();
    assertThat(StatusSynth.ip("1.2.3.4; rm -rf /")).isNull();
    assertThat(StatusSynth.ip(null)).isNull();
  }
}
