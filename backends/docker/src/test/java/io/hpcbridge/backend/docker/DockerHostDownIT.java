package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stops the second Docker engine for real while pods run on both: the backend reports that host,
 * its pods go Unknown then Failed, and the first host keeps taking pods. The engine is started
 * again afterwards (with the project's scripts/dockerd-up.sh when present, else with its own
 * command line).
 */
class DockerHostDownIT {
  @TempDir Path data;
  String node;
  DockerSettings settings;
  DockerBackend backend;

  @BeforeEach
  void setUp() {
    node = DockerEngines.uniqueNode();
    settings =
        DockerSettings.parse(DockerEngines.settings("spread", Map.of("unreachableTimeout", "5s")));
    backend = new DockerBackend(node, data, settings);
  }

  @AfterEach
  void tearDown() {
    if (backend == null) {
      return; // engines missing: skipped
    }
    backend.close();
    DockerEngines.sweep(settings, node);
  }

  static PodPlan sleeper(String name) {
    PodPlan p =
        Plans.pod(
            name,
            List.of(),
            List.of(Plans.sh("c", "trap 'exit 0' TERM; while :; do sleep 0.2; done")));
    return new PodPlan(
        p.pod(),
        p.nodeName(),
        p.initContainers(),
        p.containers(),
        p.volumes(),
        p.restartPolicy(),
        Duration.ofSeconds(1),
        p.activeDeadline(),
        p.labels(),
        p.annotations());
  }

  @Test
  void aStoppedEngineIsReportedAndTheOtherKeepsWorking() throws Exception {
    Handle a = backend.submit(sleeper("down-a"));
    Handle b = backend.submit(sleeper("down-b"));
    assertThat(List.of(DockerEngines.hostOf(a), DockerEngines.hostOf(b)))
        .containsExactlyInAnyOrder("h1", "h2");
    Handle onH2 = DockerEngines.hostOf(a).equals("h2") ? a : b;
    Handle onH1 = onH2 == a ? b : a;
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () ->
                backend.observe(List.of(a, b)).values().stream()
                    .allMatch(o -> o.phase() == Phase.RUNNING));
    Capacity both = backend.capacity();

    Engine2 engine = Engine2.find();
    engine.stop();
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(300))
          .untilAsserted(
              () -> {
                Map<Handle, Observed> obs = backend.observe(List.of(onH1, onH2));
                assertThat(obs.get(onH2).phase()).isEqualTo(Phase.UNKNOWN);
                assertThat(obs.get(onH2).reason()).isEqualTo("HostUnreachable");
                assertThat(obs.get(onH1).phase()).isEqualTo(Phase.RUNNING);
              });
      backend.ping(); // one host still answers: the node stays usable
      HostHealth h2 = backend.hostHealth().get(1);
      assertThat(h2.name()).isEqualTo("h2");
      assertThat(h2.reachable()).isFalse();
      assertThat(h2.reason()).isEqualTo("HostUnreachable");
      assertThat(h2.message()).isNotBlank();
      assertThat(backend.hostHealth().get(0).reachable()).isTrue();
      Capacity one = backend.capacity();
      assertThat(one.cpuMillis()).isLessThan(both.cpuMillis());
      assertThat(one.nodeInfo().get("docker.unreachable")).startsWith("h2: ");

      // new pods go to the host that answers and run there
      List<Handle> more = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        more.add(backend.submit(sleeper("down-more-" + i)));
      }
      assertThat(more).extracting(DockerEngines::hostOf).containsOnly("h1");
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(300))
          .until(
              () ->
                  backend.observe(more).values().stream()
                      .allMatch(o -> o.phase() == Phase.RUNNING));

      // after unreachableTimeout the pod there is given up
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(500))
          .untilAsserted(
              () -> {
                Observed o = backend.observe(List.of(onH2)).get(onH2);
                assertThat(o.phase()).isEqualTo(Phase.FAILED);
                assertThat(o.reason()).isEqualTo("HostLost");
              });
    } finally {
      engine.start();
    }
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () -> {
              backend.ping();
              assertThat(backend.hostHealth()).allMatch(HostHealth::reachable);
            });
    // the pod on h2 is observable again once its engine is back
    assertThat(backend.observe(List.of(onH2)).get(onH2).reason()).isNotEqualTo("HostUnreachable");
  }

  /** The second engine's dockerd, found through its pid file. */
  record Engine2(long pid, List<String> cmdline, String socket) {
    static Engine2 find() throws Exception {
      String socket = DockerEngines.require().get("DOCKER2_HOST_IT").replaceFirst("^unix://", "");
      Path pidFile =
          Path.of(
              System.getenv()
                  .getOrDefault("DOCKER2_PIDFILE_IT", "/run/hpc-bridge/docker2/dockerd.pid"));
      if (!Files.isReadable(pidFile)) {
        fail(
            "cannot stop the second Docker engine: no pid file "
                + pidFile
                + " (set DOCKER2_PIDFILE_IT)");
      }
      long pid = Long.parseLong(Files.readString(pidFile).trim());
      byte[] raw = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
      List<String> cmd =
          new ArrayList<>(List.of(new String(raw, StandardCharsets.UTF_8).split("\0")));
      return new Engine2(pid, cmd, socket);
    }

    void stop() throws Exception {
      ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
      p.destroy(); // SIGTERM: dockerd stops its containers and exits
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> !p.isAlive());
    }

    void start() throws Exception {
      Path script = dockerdUp();
      ProcessBuilder pb;
      if (script != null) {
        // a directory of its own: the run directory's "started" markers belong to whoever started
        // the engines first, and its clean-up must stay the one that stops them
        Path dir = Files.createTempDirectory("hpcb-dockerd-restart");
        pb = new ProcessBuilder("bash", script.toString(), dir.toString());
      } else {
        pb = new ProcessBuilder(cmdline);
      }
      Path log = Files.createTempFile("dockerd2-restart", ".log");
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      Process proc = pb.start();
      if (script != null && proc.waitFor() != 0) {
        fail(
            "restarting the second Docker engine with "
                + script
                + " failed: "
                + Files.readString(log));
      }
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(300))
          .until(() -> new File(socket).exists() && answers());
    }

    boolean answers() {
      try (DockerHost h =
          new DockerHost(
              DockerSettings.parse(
                      java.util.Map.of(
                          "hosts",
                          java.util.List.of(
                              java.util.Map.of(
                                  "name",
                                  "probe",
                                  "uri",
                                  "unix://" + socket,
                                  "connectTimeout",
                                  "2s",
                                  "responseTimeout",
                                  "5s",
                                  "maxConnections",
                                  2))))
                  .hosts()
                  .get(0))) {
        h.client.pingCmd().exec();
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    }

    static Path dockerdUp() {
      String env = System.getenv("DOCKERD_UP_IT");
      if (env != null && Files.isRegularFile(Path.of(env))) {
        return Path.of(env);
      }
      for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
        Path s = dir.resolve("scripts/dockerd-up.sh");
        if (Files.isRegularFile(s) && Files.isRegularFile(dir.resolve("mvnw"))) {
          return s;
        }
      }
      return null;
    }
  }
}
