package io.hpcbridge.backend.local;

import static io.hpcbridge.backend.local.TestPods.pod;
import static io.hpcbridge.backend.local.TestPods.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.BackendFactory;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the backend decides without running a pod. */
class LocalBackendTest {

  @TempDir Path dir;

  @Test
  void foundByServiceLoader() {
    assertThat(ServiceLoader.load(BackendFactory.class).stream().map(p -> p.get().name()))
        .contains("local");
  }

  @Test
  void badSettingsNameTheKey() {
    BackendFactory f = new LocalBackendFactory();
    assertThatThrownBy(() -> f.create(new BackendContext("n", dir, Map.of("memory", "lots"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("backends.local.memory: ");
    assertThatThrownBy(() -> f.create(new BackendContext("n", dir, Map.of("pods", "-1"))))
        .hasMessageStartingWith("backends.local.pods: must be positive");
    assertThatThrownBy(() -> f.create(new BackendContext("n", dir, Map.of("cpu", "4"))))
        .hasMessageStartingWith("backends.local.cpu: unknown key")
        .hasMessageContaining("cpus");
    assertThatThrownBy(
            () -> f.create(new BackendContext("n", dir, Map.of("restartBackoff", "soon"))))
        .hasMessageStartingWith("backends.local.restartBackoff: not a duration");
    assertThatThrownBy(() -> f.create(new BackendContext("n", dir, Map.of("runAsUser", 0))))
        .hasMessageStartingWith("backends.local.runAsUser: must not be 0");
    assertThatThrownBy(() -> f.create(new BackendContext("n", dir, Map.of("maxProcesses", 0))))
        .hasMessageStartingWith("backends.local.maxProcesses: must be between 1 and");
  }

  @Test
  void settingsHaveDefaultsAndTheWorkDirIsUnderTheDataDir() {
    LocalSettings s = LocalSettings.from(new BackendContext("n", dir, Map.of()));
    assertThat(s.workDir()).isEqualTo(dir.resolve("local").toAbsolutePath());
    assertThat(s.pods()).isEqualTo(110);
    assertThat(s.restartBackoff()).isEqualTo(Duration.ofSeconds(1));
    assertThat(s.maxRestartBackoff()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.supervisorStartTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(s.cpuMillis()).isZero();
    assertThat(s.runAsUser()).isEqualTo(65534);
    assertThat(s.runAsGroup()).isEqualTo(65534);
    assertThat(s.maxProcesses()).isEqualTo(4096);
    LocalSettings set =
        LocalSettings.from(
            new BackendContext(
                "n",
                dir,
                Map.of("workDir", "/srv/pods", "cpus", 4, "supervisorStartTimeout", "2m")));
    assertThat(set.workDir()).isEqualTo(Path.of("/srv/pods"));
    assertThat(set.cpuMillis()).isEqualTo(4000);
    assertThat(set.supervisorStartTimeout()).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void capacityIsTheMachineByDefault() throws Exception {
    try (Backend b = TestPods.backend(dir)) {
      var c = b.capacity();
      assertThat(c.cpuMillis()).isEqualTo(Runtime.getRuntime().availableProcessors() * 1000L);
      assertThat(c.memoryBytes()).isGreaterThan(64L << 20);
      assertThat(c.pods()).isEqualTo(110);
      assertThat(c.nodeInfo())
          .containsKeys("osImage", "kernelVersion", "architecture", "operatingSystem");
      assertThat(c.nodeInfo().get("kernelVersion")).isNotBlank();
    }
  }

  @Test
  void capacityCanBeOverridden() throws Exception {
    try (Backend b = TestPods.backend(dir, Map.of("cpus", "8", "memory", "16Gi", "pods", 20))) {
      var c = b.capacity();
      assertThat(c.cpuMillis()).isEqualTo(8000);
      assertThat(c.memoryBytes()).isEqualTo(16L << 30);
      assertThat(c.pods()).isEqualTo(20);
    }
  }

  @Test
  void emptyCommandIsAnInvalidPod() throws Exception {
    ContainerPlan noCommand =
        new ContainerPlan(
            "app", "nginx:1", null, List.of(), List.of(), null, null, null, null, null, null);
    try (Backend b = TestPods.backend(dir)) {
      assertThatThrownBy(
              () -> b.submit(pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(noCommand))))
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> {
                assertThat(e.reason()).isEqualTo("MissingCommand");
                assertThat(e.getMessage()).contains("app", "entrypoint", "nginx:1");
              });
    }
  }

  @Test
  void mountsWithoutMountNamespaceAreRefusedWithTheReason() throws Exception {
    var mount = new ContainerPlan.Mount("data", "/data", null, false);
    var plan =
        pod(
            PodPlan.RestartPolicy.NEVER,
            List.of(),
            List.of(sh("app", "true", TestPods.PATH, List.of(mount))),
            List.of(new VolumePlan("data", VolumePlan.Type.EMPTY_DIR, null, null, false)),
            Optional.empty());
    try (Backend b = TestPods.backend(dir, Map.of("unshare", "/nonexistent/unshare"))) {
      assertThatThrownBy(() -> b.submit(plan))
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> {
                assertThat(e.reason()).isEqualTo("MountNamespaceUnavailable");
                assertThat(e.getMessage()).containsAnyOf("unshare", "root");
              });
      assertThat(b.find(plan.pod())).isEmpty();
    }
  }

  @Test
  void badMountsAreInvalidPods() throws Exception {
    try (Backend b = TestPods.backend(dir)) {
      var unknownVolume =
          pod(
              PodPlan.RestartPolicy.NEVER,
              List.of(),
              List.of(
                  sh(
                      "app",
                      "true",
                      TestPods.PATH,
                      List.of(new ContainerPlan.Mount("nope", "/x", null, false)))));
      assertThatThrownBy(() -> b.submit(unknownVolume))
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> assertThat(e.reason()).isEqualTo("VolumeNotFound"));
      var vol = List.of(new VolumePlan("v", VolumePlan.Type.EMPTY_DIR, null, null, false));
      var relative =
          pod(
              PodPlan.RestartPolicy.NEVER,
              List.of(),
              List.of(
                  sh(
                      "app",
                      "true",
                      TestPods.PATH,
                      List.of(new ContainerPlan.Mount("v", "data", null, false)))),
              vol,
              Optional.empty());
      assertThatThrownBy(() -> b.submit(relative))
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> assertThat(e.reason()).isEqualTo("InvalidMountPath"));
      var escaping =
          pod(
              PodPlan.RestartPolicy.NEVER,
              List.of(),
              List.of(
                  sh(
                      "app",
                      "true",
                      TestPods.PATH,
                      List.of(new ContainerPlan.Mount("v", "/d", "../..", false)))),
              vol,
              Optional.empty());
      assertThatThrownBy(() -> b.submit(escaping))
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> assertThat(e.reason()).isEqualTo("InvalidSubPath"));
    }
  }

  @Test
  void handlesThatNameNoPodAreNotFound() throws Exception {
    // (unknown pods in observe and find are the contract's)
    try (Backend b = TestPods.backend(dir)) {
      Handle h = new Handle("local", "no-such-uid");
      assertThatThrownBy(() -> b.cancel(h, Duration.ZERO))
          .isInstanceOf(BackendException.NotFound.class);
      Handle evil = new Handle("local", "../etc");
      assertThat(b.observe(List.of(evil)).get(evil).phase()).isEqualTo(Observed.Phase.UNKNOWN);
      b.ping();
    }
  }

  @Test
  void planRoundTripsThroughJson() throws Exception {
    var plan =
        pod(
            PodPlan.RestartPolicy.ON_FAILURE,
            List.of(sh("init", "true")),
            List.of(
                sh(
                    "app",
                    "echo 'é' \"$X\"",
                    Map.of("X", "a\nb"),
                    List.of(new ContainerPlan.Mount("v", "/v", "sub", true)))),
            List.of(
                new VolumePlan(
                    "v",
                    VolumePlan.Type.SECRET,
                    List.of(
                        new VolumePlan.FilePlan(
                            "k", "s3cr3t".getBytes(StandardCharsets.UTF_8), 0600)),
                    null,
                    true)),
            Optional.of(Duration.ofSeconds(30)));
    byte[] json = Json.write(plan);
    PodPlan back = Json.MAPPER.readValue(json, PodPlan.class);
    assertThat(back.pod()).isEqualTo(plan.pod());
    assertThat(back.containers()).isEqualTo(plan.containers());
    assertThat(back.initContainers()).isEqualTo(plan.initContainers());
    assertThat(back.activeDeadline()).contains(Duration.ofSeconds(30));
    assertThat(back.restartPolicy()).isEqualTo(PodPlan.RestartPolicy.ON_FAILURE);
    assertThat(back.volumes().get(0).files().get(0).content())
        .isEqualTo("s3cr3t".getBytes(StandardCharsets.UTF_8));
    var noDeadline = pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(sh("a", "true")));
    assertThat(Json.MAPPER.readValue(Json.write(noDeadline), PodPlan.class).activeDeadline())
        .isEmpty();
  }

  @Test
  void atomicWriteSetsTheExactMode() throws Exception {
    Path f = dir.resolve("f");
    AtomicFiles.write(f, "x".getBytes(), 0600);
    assertThat(Files.getPosixFilePermissions(f)).isEqualTo(AtomicFiles.permissions(0600));
    AtomicFiles.write(f, "y".getBytes(), 0644);
    assertThat(Files.readString(f)).isEqualTo("y");
    assertThat(Files.getPosixFilePermissions(f)).isEqualTo(AtomicFiles.permissions(0644));
    try (var s = Files.list(dir)) {
      assertThat(s).containsExactly(f);
    }
  }
}
