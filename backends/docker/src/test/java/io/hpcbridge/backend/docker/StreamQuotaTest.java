package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StreamQuotaTest {
  static StreamQuota quota(Map<String, Object> limits) {
    Map<String, Object> s = new java.util.HashMap<>(limits);
    s.put("hosts", List.of(Map.of("name", "h1", "uri", "unix:///a")));
    return new StreamQuota(DockerSettings.parse(s));
  }

  @Test
  void defaultsLeaveRoomForOtherNamespaces() {
    DockerSettings s = DockerSettings.parse(Map.of("hosts", List.of(Map.of("uri", "unix:///a"))));
    assertThat(s.maxPullsPerNamespace()).isEqualTo(4);
    assertThat(s.maxLogStreamsPerNamespace()).isEqualTo(16);
    assertThat(s.maxLogStreamsPerPod()).isEqualTo(5);
    assertThat(s.maxLogStreamsPerNamespace()).isLessThan(s.hosts().get(0).maxStreams());
  }

  @Test
  void sharesArePerHostNamespaceAndPodAndComeBackOnce() throws Exception {
    StreamQuota q =
        quota(
            Map.of(
                "maxPullsPerNamespace",
                1,
                "maxLogStreamsPerNamespace",
                2,
                "maxLogStreamsPerPod",
                1));
    StreamQuota.Slot pull = q.pull("h1", "a");
    assertThat(pull).isNotNull();
    assertThat(q.pull("h1", "a")).isNull();
    assertThat(q.pullsFull("h1", "a"))
        .isEqualTo(
            "waiting for an image pull slot: namespace a already pulls 1 image on docker host h1"
                + " (backends.docker.maxPullsPerNamespace)");
    assertThat(q.pull("h2", "a")).as("another host").isNotNull();
    assertThat(q.pull("h1", "b")).as("another namespace").isNotNull();
    pull.close();
    pull.close();
    assertThat(q.pull("h1", "a")).isNotNull();

    StreamQuota.Slot p1 = q.logStream("h1", "a", "p1", "u1");
    assertThatThrownBy(() -> q.logStream("h1", "a", "p1", "u1"))
        .isInstanceOf(BackendException.Transient.class)
        .hasMessageStartingWith("pod p1 already has 1 log streams open on docker host h1");
    q.logStream("h1", "a", "p2", "u2");
    assertThatThrownBy(() -> q.logStream("h1", "a", "p3", "u3"))
        .hasMessageStartingWith("namespace a already has 2 log streams open on docker host h1");
    int held = q.held();
    p1.close();
    p1.close();
    assertThat(q.held()).isEqualTo(held - 2); // its pod's and its namespace's place
    q.logStream("h1", "a", "p3", "u3");
  }
}
