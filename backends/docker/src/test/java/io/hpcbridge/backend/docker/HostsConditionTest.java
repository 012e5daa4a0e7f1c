package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.BackendCondition;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * How {@link DockerBackend#hostHealth()} becomes the node condition {@code DockerHostsReachable}.
 */
class HostsConditionTest {
  static HostHealth up(String name) {
    return new HostHealth(name, "tcp://" + name + ":2376", true, null, null, null, "20.10.24");
  }

  static HostHealth down(String name, String error, Instant since) {
    return new HostHealth(
        name, "unix:///run/" + name + ".sock", false, "HostUnreachable", error, since, null);
  }

  @Test
  void allHostsAnsweringIsTrue() {
    List<BackendCondition> c = DockerHosts.conditions(List.of(up("h1"), up("h2")));
    assertThat(c)
        .containsExactly(
            new BackendCondition(
                "DockerHostsReachable",
                BackendCondition.Status.TRUE,
                "AllHostsReachable",
                "all 2 docker hosts reachable"));
  }

  @Test
  void anUnreachableHostIsFalseWithItsNameAndError() {
    Instant since = Instant.parse("2024-05-01T10:00:00Z");
    List<BackendCondition> c =
        DockerHosts.conditions(
            List.of(up("h1"), down("h2", "IOException: Connection refused", since)));
    assertThat(c).hasSize(1);
    BackendCondition h = c.get(0);
    assertThat(h.type()).isEqualTo(DockerBackend.HOSTS_CONDITION);
    assertThat(h.status()).isEqualTo(BackendCondition.Status.FALSE);
    assertThat(h.status().toKubernetes()).isEqualTo("False");
    assertThat(h.reason()).isEqualTo("HostUnreachable");
    assertThat(h.message())
        .isEqualTo(
            "1 of 2 docker hosts reachable; docker host h2 (unix:///run/h2.sock) unreachable"
                + " since 2024-05-01T10:00:00Z: IOException: Connection refused");
  }

  @Test
  void everyHostDownIsListed() {
    BackendCondition h =
        DockerHosts.conditions(List.of(down("a", "timeout", null), down("b", null, null))).get(0);
    assertThat(h.status()).isEqualTo(BackendCondition.Status.FALSE);
    assertThat(h.message())
        .isEqualTo(
            "0 of 2 docker hosts reachable; docker host a (unix:///run/a.sock) unreachable:"
                + " timeout; docker host b (unix:///run/b.sock) unreachable: no answer");
  }
}
