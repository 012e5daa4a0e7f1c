package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EngineSocketsTest {
  static final Set<String> SOCKETS =
      EngineSockets.of(
          DockerSettings.parse(
                  Map.of(
                      "hosts",
                      List.of(
                          Map.of("name", "a", "uri", "unix:///srv/engines/a/docker.sock"),
                          Map.of("name", "b", "uri", "unix:///run/docker.sock"))))
              .hosts());

  static PodPlan pod(String hostPath, String subPath) {
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "busybox",
            null,
            List.of(),
            List.of(),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(new ContainerPlan.Mount("hp", "/mnt", subPath, false)),
            List.of());
    return Plans.pod(
        "p",
        List.of(),
        List.of(c),
        List.of(new VolumePlan("hp", VolumePlan.Type.HOST_PATH, List.of(), hostPath, false)),
        PodPlan.RestartPolicy.NEVER);
  }

  static void refused(String hostPath, String subPath, String message) {
    assertThatThrownBy(() -> EngineSockets.check(pod(hostPath, subPath), SOCKETS))
        .isInstanceOf(BackendException.InvalidPod.class)
        .hasMessageContaining(message)
        .hasMessageStartingWith("hostPath volume hp (")
        .extracting(e -> ((BackendException.InvalidPod) e).reason())
        .isEqualTo("PolicyViolation");
  }

  @Test
  void socketsAndEveryDirectoryAboveThemAreRefused() {
    refused("/var/run/docker.sock", null, "is the container engine's socket /var/run/docker.sock");
    refused("/", null, "holds the container engine's socket");
    refused("/var", null, "holds the container engine's socket /var/run/docker.sock");
    refused("/var/run/", null, "(/var/run)");
    refused("/run", null, "holds");
    refused("//var//run/./docker.sock", null, "(/var/run/docker.sock)");
    refused("/srv/x/../../var/run/docker.sock", null, "is the container engine's socket");
    refused("/run/containerd", null, "/run/containerd/containerd.sock");
    // the configured host's own socket, wherever it is
    refused("/srv/engines", null, "/srv/engines/a/docker.sock");
    refused("/srv/engines/a/docker.sock", null, "is the container engine's socket");
    // with a subPath too
    refused("/var", "run/docker.sock", "holds the container engine's socket");
    refused("/proc", null, "/proc reaches every process's root");
    refused("/proc/1/root", null, "/proc reaches");
  }

  @Test
  void aColonCannotSmuggleASecondBind() {
    assertThatThrownBy(() -> ContainerSpecs.validate(pod("/srv/ok:/var/run/docker.sock", null)))
        .isInstanceOf(BackendException.InvalidPod.class)
        .hasMessageStartingWith("hostPath of volume hp must not contain ':'")
        .extracting(e -> ((BackendException.InvalidPod) e).reason())
        .isEqualTo("InvalidHostPath");
    assertThatThrownBy(() -> ContainerSpecs.validate(pod("/srv/ok", "a:b")))
        .isInstanceOf(BackendException.InvalidPod.class)
        .hasMessageStartingWith("subPath of container app must not contain ':'");
  }

  @Test
  void otherPathsPass() throws Exception {
    for (String ok : List.of("/srv/data", "/var/lib/app", "/run/user/1000", "/srv/engines/b")) {
      EngineSockets.check(pod(ok, null), SOCKETS);
    }
    EngineSockets.check(pod("/srv/data", "logs"), SOCKETS);
    assertThat(EngineSockets.normalize("/a/./b/../c//")).isEqualTo("/a/c");
  }
}
