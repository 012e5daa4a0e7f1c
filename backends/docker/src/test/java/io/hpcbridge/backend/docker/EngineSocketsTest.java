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
import org.junit.jupiter.api.Test;

class EngineSocketsTest {
  static final EngineSockets SOCKETS =
      EngineSockets.of(
              DockerSettings.parse(
                  Map.of(
                      "hosts",
                      List.of(
                          Map.of("name", "a", "uri", "unix:///srv/engines/a/docker.sock"),
                          Map.of("name", "b", "uri", "unix:///run/docker.sock")),
                      "refusedHostPaths",
                      List.of("/srv/engine-c/./run/"))))
          .withDataRoots(java.util.Arrays.asList("/data/docker", null));

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
    assertThatThrownBy(() -> SOCKETS.check(pod(hostPath, subPath)))
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
    refused("/run/containerd", null, "is /run/containerd (containerd's sockets");
    // the configured host's own socket, wherever it is
    refused("/srv/engines", null, "/srv/engines/a/docker.sock");
    refused("/srv/engines/a/docker.sock", null, "is the container engine's socket");
    // with a subPath too
    refused("/var", "run/docker.sock", "holds the container engine's socket");
    refused("/proc", null, "is /proc (every process's root file system and engine socket");
    refused("/proc/1/root", null, "is under /proc");
  }

  @Test
  void otherEnginesSocketsAndTheEnginesOwnDirectoriesAreRefused() {
    // rootless Docker, Podman, CRI-O, containerd's shims, BuildKit: sockets and their directories
    refused("/run/user/1000/docker.sock", null, "/run/user/*/docker.sock");
    refused("/run/user/1000", null, "holds");
    refused("/run/user", null, "holds");
    refused("/run/podman/podman.sock", null, "/run/podman");
    refused("/var/run/podman", null, "/var/run/podman");
    refused("/var/run/crio/crio.sock", null, "/var/run/crio");
    refused("/run/crio", null, "/run/crio");
    refused("/run/containerd/s/0a1b2c", null, "is under /run/containerd");
    refused("/run/containerd/s", null, "/run/containerd");
    refused("/run/buildkit/buildkitd.sock", null, "/run/buildkit");
    refused("/run/docker/plugins/x.sock", null, "is under /run/docker");
    // the engine's data and the host's kernel interfaces, everything under them and above them
    refused("/var/lib/docker", null, "is /var/lib/docker");
    refused("/var/lib/docker/volumes/x/_data", null, "is under /var/lib/docker");
    refused("/var/lib/containerd/io.containerd.content.v1.content", null, "/var/lib/containerd");
    refused("/var/lib", null, "holds /var/lib/docker");
    refused("/sys", null, "is /sys");
    refused("/sys/fs/cgroup", null, "is under /sys");
    refused("/dev", null, "is /dev");
    refused("/dev/sda", null, "is under /dev");
    refused("/opt", "../dev/mem", "is under /dev");
    // the directory of a configured host's socket is the engine's (its exec root is often there)
    refused("/srv/engines/a/exec/containerd/containerd.sock", null, "is under /srv/engines/a");
    // the operator's list, and the data roots the engines report
    refused("/srv/engine-c/run/docker.sock", null, "is under /srv/engine-c/run (listed in");
    refused("/srv/engine-c", null, "holds /srv/engine-c/run");
    refused("/data/docker/overlay2", null, "is under /data/docker (an engine's data root");
    refused("/data", null, "holds /data/docker");
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
    for (String ok :
        List.of("/srv/data", "/var/lib/app", "/srv/run/user/1000", "/srv/engines/b", "/devices")) {
      SOCKETS.check(pod(ok, null));
    }
    SOCKETS.check(pod("/srv/data", "logs"));
    assertThat(EngineSockets.normalize("/a/./b/../c//")).isEqualTo("/a/c");
  }
}
