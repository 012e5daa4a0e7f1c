package io.hpcbridge.bridge.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.hpcbridge.backend.BackendCondition;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Node conditions from the backend's ping and its own {@code conditions()}. */
class NodeConditionsTest {
  static final String T0 = "2024-05-01T10:00:00Z";
  static final String T1 = "2024-05-01T10:05:00Z";

  static final BackendCondition HOST_DOWN =
      new BackendCondition(
          "DockerHostsReachable",
          BackendCondition.Status.FALSE,
          "HostUnreachable",
          "1 of 2 docker hosts reachable; docker host h2 (unix:///x.sock) unreachable: refused");

  static NodeCondition find(List<NodeCondition> conds, String type) {
    return conds.stream().filter(c -> c.getType().equals(type)).findFirst().orElseThrow();
  }

  @Test
  void backendConditionsFollowTheStandardOnesAsReported() {
    List<NodeCondition> conds = AdvertisedNode.conditions("docker", null, List.of(HOST_DOWN), T0);
    assertThat(conds)
        .extracting(NodeCondition::getType)
        .containsExactly(
            "Ready",
            "MemoryPressure",
            "DiskPressure",
            "PIDPressure",
            "NetworkUnavailable",
            "DockerHostsReachable");
    NodeCondition ready = find(conds, "Ready");
    assertThat(ready.getStatus()).isEqualTo("True");
    assertThat(ready.getReason()).isEqualTo("KubeletReady");
    NodeCondition hosts = find(conds, "DockerHostsReachable");
    assertThat(hosts.getStatus()).isEqualTo("False");
    assertThat(hosts.getReason()).isEqualTo("HostUnreachable");
    assertThat(hosts.getMessage()).isEqualTo(HOST_DOWN.message());
    assertThat(hosts.getLastHeartbeatTime()).isEqualTo(T0);
    assertThat(hosts.getLastTransitionTime()).isEqualTo(T0);
  }

  @Test
  void anUnreachableBackendIsNotReadyAndItsConditionsStillShow() {
    List<NodeCondition> conds =
        AdvertisedNode.conditions(
            "docker", "docker backend unreachable: no host", List.of(HOST_DOWN), T0);
    NodeCondition ready = find(conds, "Ready");
    assertThat(ready.getStatus()).isEqualTo("False");
    assertThat(ready.getReason()).isEqualTo("BackendUnreachable");
    assertThat(ready.getMessage()).isEqualTo("docker backend unreachable: no host");
    assertThat(find(conds, "DockerHostsReachable").getStatus()).isEqualTo("False");
  }

  @Test
  void aBackendCannotOverrideAStandardCondition() {
    BackendCondition fake =
        new BackendCondition("Ready", BackendCondition.Status.FALSE, "Nope", "not me");
    List<NodeCondition> conds = AdvertisedNode.conditions("docker", null, List.of(fake), T0);
    assertThat(conds).filteredOn(c -> c.getType().equals("Ready")).hasSize(1);
    assertThat(find(conds, "Ready").getStatus()).isEqualTo("True");
  }

  @Test
  void transitionTimeIsKeptWhileTheStatusStaysAndMovesWhenItChanges() {
    List<NodeCondition> current =
        List.of(
            new NodeConditionBuilder()
                .withType("Ready")
                .withStatus("True")
                .withLastTransitionTime(T0)
                .build(),
            new NodeConditionBuilder()
                .withType("DockerHostsReachable")
                .withStatus("True")
                .withReason("AllHostsReachable")
                .withLastTransitionTime(T0)
                .build());

    // h2 went down: Ready stays True (kept time), the host condition turns False (new time)
    List<NodeCondition> down = AdvertisedNode.conditions("docker", null, List.of(HOST_DOWN), T1);
    AdvertisedNode.keepTransitionTimes(down, current);
    assertThat(find(down, "Ready").getLastTransitionTime()).isEqualTo(T0);
    assertThat(find(down, "Ready").getLastHeartbeatTime()).isEqualTo(T1);
    assertThat(find(down, "DockerHostsReachable").getLastTransitionTime()).isEqualTo(T1);
    assertThat(find(down, "MemoryPressure").getLastTransitionTime())
        .as("a condition the node did not have yet starts now")
        .isEqualTo(T1);

    // still down a minute later with another error text: the transition time stays
    BackendCondition stillDown =
        new BackendCondition(
            HOST_DOWN.type(), HOST_DOWN.status(), HOST_DOWN.reason(), "other error");
    List<NodeCondition> later =
        AdvertisedNode.conditions("docker", null, List.of(stillDown), "2024-05-01T10:06:00Z");
    AdvertisedNode.keepTransitionTimes(later, down);
    assertThat(find(later, "DockerHostsReachable").getLastTransitionTime()).isEqualTo(T1);
    assertThat(find(later, "DockerHostsReachable").getMessage()).isEqualTo("other error");
  }
}
