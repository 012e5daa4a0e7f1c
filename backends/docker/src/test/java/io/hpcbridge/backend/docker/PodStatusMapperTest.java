package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.Observed.State;
import io.hpcbridge.backend.PodPlan.RestartPolicy;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PodStatusMapperTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final Instant T1 = Instant.parse("2026-01-01T00:01:00Z");

  static ContainerView v(String name, String role, String status, int exit) {
    return new ContainerView(
        "id-" + name,
        name,
        role,
        status,
        exit,
        false,
        "created".equals(status) ? null : T0,
        "exited".equals(status) ? T1 : null,
        0,
        null,
        null,
        Map.of(),
        null);
  }

  static ContainerView sandbox() {
    return new ContainerView(
        "sb",
        "POD",
        "sandbox",
        "running",
        0,
        false,
        T0,
        null,
        0,
        null,
        "172.17.0.5",
        Map.of(),
        null);
  }

  static Observed map(
      RestartPolicy p,
      List<String> inits,
      List<String> names,
      Map<String, ContainerView> cs,
      Map<String, PodStatusMapper.Waiting> waiting,
      boolean cancelled) {
    return PodStatusMapper.map(
        new PodStatusMapper.PodView(
            p, inits, names, sandbox(), cs, waiting, cancelled, "10.0.0.1"));
  }

  @Test
  void pendingWhileContainersAreCreated() {
    Observed o = map(RestartPolicy.NEVER, List.of(), List.of("app"), Map.of(), Map.of(), false);
    assertThat(o.phase()).isEqualTo(Phase.PENDING);
    assertThat(o.containers().get(0).state()).isEqualTo(State.WAITING);
    assertThat(o.containers().get(0).reason()).isEqualTo("ContainerCreating");
    assertThat(o.podIP()).isEqualTo("172.17.0.5");
    assertThat(o.hostIP()).isEqualTo("10.0.0.1");
  }

  @Test
  void pullErrorsShowAsWaitingReason() {
    Observed o =
        map(
            RestartPolicy.NEVER,
            List.of(),
            List.of("app"),
            Map.of(),
            Map.of(
                "app", new PodStatusMapper.Waiting("ErrImagePull", "pull access denied for nope")),
            false);
    assertThat(o.phase()).isEqualTo(Phase.PENDING);
    assertThat(o.containers().get(0).reason()).isEqualTo("ErrImagePull");
    assertThat(o.containers().get(0).message()).contains("pull access denied");
  }

  @Test
  void initContainersGateTheContainers() {
    Map<String, ContainerView> cs = new HashMap<>();
    cs.put("i1", v("i1", "init", "exited", 0));
    cs.put("i2", v("i2", "init", "running", 0));
    cs.put("app", v("app", "container", "created", 0));
    Observed o = map(RestartPolicy.NEVER, List.of("i1", "i2"), List.of("app"), cs, Map.of(), false);
    assertThat(o.phase()).isEqualTo(Phase.PENDING);
    assertThat(o.initContainers())
        .extracting(Observed.ContainerStatus::state)
        .containsExactly(State.TERMINATED, State.RUNNING);
    assertThat(o.initContainers().get(0).reason()).isEqualTo("Completed");
    assertThat(o.containers().get(0).reason()).isEqualTo("PodInitializing");
  }

  @Test
  void failedInitFailsANeverPod() {
    Map<String, ContainerView> cs = new HashMap<>();
    cs.put("i1", v("i1", "init", "exited", 3));
    cs.put("app", v("app", "container", "created", 0));
    Observed o = map(RestartPolicy.NEVER, List.of("i1"), List.of("app"), cs, Map.of(), false);
    assertThat(o.phase()).isEqualTo(Phase.FAILED);
    assertThat(o.message()).contains("i1").contains("3");
    // with OnFailure it is restarted instead
    Observed r = map(RestartPolicy.ON_FAILURE, List.of("i1"), List.of("app"), cs, Map.of(), false);
    assertThat(r.phase()).isEqualTo(Phase.PENDING);
    assertThat(r.initContainers().get(0).reason()).isEqualTo("CrashLoopBackOff");
    assertThat(r.initContainers().get(0).lastTermination().exitCode()).isEqualTo(3);
  }

  @Test
  void exitCodesDecideTheTerminalPhase() {
    Map<String, ContainerView> cs = new HashMap<>();
    cs.put("a", v("a", "container", "exited", 0));
    cs.put("b", v("b", "container", "exited", 0));
    assertThat(map(RestartPolicy.NEVER, List.of(), List.of("a", "b"), cs, Map.of(), false).phase())
        .isEqualTo(Phase.SUCCEEDED);
    cs.put("b", v("b", "container", "exited", 42));
    Observed o = map(RestartPolicy.NEVER, List.of(), List.of("a", "b"), cs, Map.of(), false);
    assertThat(o.phase()).isEqualTo(Phase.FAILED);
    var b = o.container("b").orElseThrow();
    assertThat(b.exitCode()).isEqualTo(42);
    assertThat(b.reason()).isEqualTo("Error");
    assertThat(b.startedAt()).isEqualTo(T0);
    assertThat(b.finishedAt()).isEqualTo(T1);
    cs.put("b", v("b", "container", "running", 0));
    assertThat(map(RestartPolicy.NEVER, List.of(), List.of("a", "b"), cs, Map.of(), false).phase())
        .isEqualTo(Phase.RUNNING);
  }

  @Test
  void phaseFollowsTheKubeletsRules() {
    Map<String, ContainerView> cs = new HashMap<>();
    cs.put("a", v("a", "container", "running", 0));
    cs.put("b", v("b", "container", "created", 0));
    // one container still waiting to start keeps the pod Pending, like the kubelet
    assertThat(map(RestartPolicy.NEVER, List.of(), List.of("a", "b"), cs, Map.of(), false).phase())
        .isEqualTo(Phase.PENDING);
    cs.put("a", v("a", "container", "exited", 0));
    cs.put("b", v("b", "container", "exited", 0));
    assertThat(
            map(RestartPolicy.ON_FAILURE, List.of(), List.of("a", "b"), cs, Map.of(), false)
                .phase())
        .isEqualTo(Phase.SUCCEEDED);
    assertThat(map(RestartPolicy.ALWAYS, List.of(), List.of("a", "b"), cs, Map.of(), false).phase())
        .isEqualTo(Phase.RUNNING);
    cs.put("b", v("b", "container", "exited", 2));
    Observed o = map(RestartPolicy.ON_FAILURE, List.of(), List.of("a", "b"), cs, Map.of(), false);
    assertThat(o.phase()).isEqualTo(Phase.RUNNING);
    assertThat(o.container("b").orElseThrow().reason()).isEqualTo("CrashLoopBackOff");
  }

  @Test
  void oomKilledIsTheReason() {
    var oom =
        new ContainerView(
            "x", "a", "container", "exited", 137, true, T0, T1, 0, null, null, Map.of(), null);
    Observed o =
        map(RestartPolicy.NEVER, List.of(), List.of("a"), Map.of("a", oom), Map.of(), false);
    assertThat(o.phase()).isEqualTo(Phase.FAILED);
    assertThat(o.containers().get(0).reason()).isEqualTo("OOMKilled");
  }

  @Test
  void alwaysRestartsShowAsBackOffWithRestartCount() {
    var c =
        new ContainerView(
            "x", "a", "container", "restarting", 1, false, T0, T1, 4, null, null, Map.of(), null);
    Observed o =
        map(RestartPolicy.ALWAYS, List.of(), List.of("a"), Map.of("a", c), Map.of(), false);
    assertThat(o.phase()).isEqualTo(Phase.RUNNING);
    assertThat(o.containers().get(0).reason()).isEqualTo("CrashLoopBackOff");
    assertThat(o.containers().get(0).restartCount()).isEqualTo(4);
  }

  @Test
  void cancelledPodIsTerminalOnceNothingRuns() {
    Map<String, ContainerView> cs = new HashMap<>();
    cs.put("a", v("a", "container", "running", 0));
    assertThat(map(RestartPolicy.ALWAYS, List.of(), List.of("a"), cs, Map.of(), true).phase())
        .isEqualTo(Phase.RUNNING);
    cs.put("a", v("a", "container", "exited", 143));
    Observed o = map(RestartPolicy.ALWAYS, List.of(), List.of("a"), cs, Map.of(), true);
    assertThat(o.phase()).isEqualTo(Phase.FAILED);
    assertThat(o.containers().get(0).state()).isEqualTo(State.TERMINATED);
    assertThat(o.containers().get(0).exitCode()).isEqualTo(143);
  }

  @Test
  void aPodOnTheHostsNetworkHasTheHostsAddress() {
    ContainerView sb =
        new ContainerView(
            "sb",
            "POD",
            "sandbox",
            "running",
            0,
            false,
            T0,
            null,
            0,
            null,
            "",
            Map.of(Names.LABEL_HOST_NETWORK, "true", Names.LABEL_CONTAINERS, "a"),
            null);
    Observed o =
        PodStatusMapper.observe(
            List.of(sb, v("a", "container", "running", 0)),
            PodStatusMapper.PodFacts.NONE,
            "10.0.0.7",
            T1,
            null);
    assertThat(o.podIP()).isEqualTo("10.0.0.7");
    assertThat(o.phase()).isEqualTo(Phase.RUNNING);
  }

  @Test
  void missingSandboxIsUnknown() {
    Observed o =
        PodStatusMapper.map(
            new PodStatusMapper.PodView(
                RestartPolicy.NEVER,
                List.of(),
                List.of("a"),
                null,
                Map.of(),
                Map.of(),
                false,
                null));
    assertThat(o.phase()).isEqualTo(Phase.UNKNOWN);
  }
}
