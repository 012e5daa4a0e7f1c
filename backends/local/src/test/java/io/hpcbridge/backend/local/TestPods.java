package io.hpcbridge.backend.local;

import static org.junit.jupiter.api.Assertions.fail;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.ProcFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/** Builds plans and backends for the tests. */
final class TestPods {

  static final Map<String, String> PATH = Map.of("PATH", "/usr/local/bin:/usr/bin:/bin");

  private TestPods() {}

  static Backend backend(Path dataDir, Map<String, Object> extra) {
    Map<String, Object> s = new HashMap<>();
    s.put("workDir", dataDir.resolve("pods").toString());
    s.put("restartBackoff", "100ms");
    s.put("maxRestartBackoff", "400ms");
    s.putAll(extra);
    return new LocalBackendFactory().create(new BackendContext("node-1", dataDir, s));
  }

  static Backend backend(Path dataDir) {
    return backend(dataDir, Map.of());
  }

  static ContainerPlan sh(String name, String script) {
    return sh(name, script, PATH, List.of());
  }

  static ContainerPlan sh(
      String name, String script, Map<String, String> env, List<ContainerPlan.Mount> mounts) {
    return new ContainerPlan(
        name,
        "debian:bookworm",
        "IfNotPresent",
        List.of("sh", "-c", script),
        List.of(),
        null,
        new LinkedHashMap<>(env),
        null,
        null,
        mounts,
        null);
  }

  static PodPlan pod(
      PodPlan.RestartPolicy policy, List<ContainerPlan> init, List<ContainerPlan> containers) {
    return pod(policy, init, containers, List.of(), Optional.empty());
  }

  static PodPlan pod(
      PodPlan.RestartPolicy policy,
      List<ContainerPlan> init,
      List<ContainerPlan> containers,
      List<VolumePlan> volumes,
      Optional<Duration> deadline) {
    String uid = UUID.randomUUID().toString();
    return new PodPlan(
        new PodRef("default", "pod-" + uid.substring(0, 8), uid),
        "node-1",
        init,
        containers,
        volumes,
        policy,
        Duration.ofSeconds(2),
        deadline,
        Map.of("app", "test"),
        Map.of());
  }

  /**
   * Whether root-only parts of a test can run: true as root; false for a developer without root; a
   * loud failure in CI.
   */
  static boolean rootOrSkipPart() {
    long uid = ProcFs.effectiveUid();
    if (uid != 0 && "true".equalsIgnoreCase(System.getenv("CI"))) {
      fail("this test needs root (private mount namespaces) and CI must run it: uid is " + uid);
    }
    return uid == 0;
  }

  /** Root-only tests: skipped for a developer without root, a loud failure in CI. */
  static void requireRoot() {
    long uid = ProcFs.effectiveUid();
    if (uid == 0) {
      return;
    }
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail("this test needs root (private mount namespaces) and CI must run it: uid is " + uid);
    }
    Assumptions.abort("needs root for private mount namespaces (uid " + uid + ")");
  }

  /** A pod's memory cgroup: below this JVM's, where the supervisor it starts sits too. */
  static Path memoryCgroup(Handle h) throws IOException {
    return cgroup(h, "memory");
  }

  /** A pod's cgroup v1 directory for {@code controller}, below this JVM's. */
  static Path cgroup(Handle h, String controller) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
      String[] f = line.split(":", 3);
      if (List.of(f[1].split(",")).contains(controller)) {
        return Path.of("/sys/fs/cgroup/" + controller + f[2]).resolve("hpc-bridge-" + h.id());
      }
    }
    throw new AssertionError(
        "no " + controller + " cgroup: " + Files.readString(Path.of("/proc/self/cgroup")));
  }
}
