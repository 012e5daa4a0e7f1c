package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The docker backend against the two real engines of the test setup. */
class DockerBackendIT extends EngineTest {

  @Test
  void podRunsInitContainersVolumesEnvAndReportsItsExitCode() throws Exception {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("GREETING", "hello from env");
    var vols =
        List.of(
            new VolumePlan("work", VolumePlan.Type.EMPTY_DIR, List.of(), null, false),
            new VolumePlan(
                "cfg",
                VolumePlan.Type.CONFIG_MAP,
                List.of(
                    new VolumePlan.FilePlan(
                        "app.conf", "mode=fast\n".getBytes(StandardCharsets.UTF_8), 0644)),
                null,
                false),
            new VolumePlan(
                "sec",
                VolumePlan.Type.SECRET,
                List.of(
                    new VolumePlan.FilePlan(
                        "token", "t0ps3cret".getBytes(StandardCharsets.UTF_8), 0600)),
                null,
                true));
    ContainerPlan init1 =
        new ContainerPlan(
            "init-a",
            "local/busybox:1",
            "IfNotPresent",
            List.of("sh", "-c"),
            List.of("echo first > /work/order"),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(new ContainerPlan.Mount("work", "/work", null, false)),
            List.of());
    ContainerPlan init2 =
        new ContainerPlan(
            "init-b",
            "local/busybox:1",
            "IfNotPresent",
            List.of("sh", "-c"),
            List.of("echo second >> /work/order"),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(new ContainerPlan.Mount("work", "/work", null, false)),
            List.of());
    ContainerPlan main =
        new ContainerPlan(
            "main",
            "local/busybox:1",
            "Never",
            List.of("sh", "-c"),
            List.of(
                "cat /work/order; echo \"$GREETING\"; pwd; cat /etc/app/app.conf; cat"
                    + " /etc/single.conf; cat"
                    + " /var/run/sec/token; echo; stat -L -c %a /var/run/sec/token; for i in 1 2 3"
                    + " 4 5; do echo line$i; done; exit 3"),
            "/tmp",
            env,
            null,
            new Resources(100, 500, 0, 64L << 20, 0, Map.of()),
            List.of(
                new ContainerPlan.Mount("work", "/work", null, true),
                new ContainerPlan.Mount("cfg", "/etc/app", null, true),
                new ContainerPlan.Mount("cfg", "/etc/single.conf", "app.conf", true),
                new ContainerPlan.Mount("sec", "/var/run/sec", null, true)),
            List.of());
    PodPlan plan =
        Plans.pod(
            "lifecycle", List.of(init1, init2), List.of(main), vols, PodPlan.RestartPolicy.NEVER);

    Handle h = backend.submit(plan);
    Observed o = awaitPhase(backend, h, Set.of(Phase.FAILED), Duration.ofSeconds(60));

    assertThat(o.initContainers())
        .extracting(Observed.ContainerStatus::reason)
        .containsExactly("Completed", "Completed");
    var m = o.container("main").orElseThrow();
    assertThat(m.state()).isEqualTo(Observed.State.TERMINATED);
    assertThat(m.exitCode()).isEqualTo(3);
    assertThat(m.reason()).isEqualTo("Error");
    assertThat(m.startedAt()).isNotNull();
    assertThat(m.finishedAt()).isAfterOrEqualTo(m.startedAt());
    assertThat(o.podIP()).isNotBlank();

    String log = read(backend.logs(h, "main", LogOptions.ALL));
    assertThat(log)
        .contains(
            "first\nsecond\n",
            "hello from env",
            "/tmp\n",
            "mode=fast\nmode=fast\n",
            "t0ps3cret",
            "\n600\n",
            "line5");
    // resources reached the HostConfig
    DockerHost host =
        new DockerHost(
            settings.hosts().stream()
                .filter(x -> x.name().equals(DockerEngines.hostOf(h)))
                .findFirst()
                .orElseThrow());
    try (host) {
      Container c =
          DockerEngines.containers(host, node).stream()
              .filter(x -> "main".equals(x.getLabels().get(Names.LABEL_CONTAINER_NAME)))
              .findFirst()
              .orElseThrow();
      var hc = host.client.inspectContainerCmd(c.getId()).exec().getHostConfig();
      assertThat(hc.getMemory()).isEqualTo(64L << 20);
      assertThat(hc.getCpuQuota()).isEqualTo(50_000L);
      assertThat(hc.getCpuShares()).isEqualTo(102);
      assertThat(c.getNames()[0]).isEqualTo("/" + Names.container(plan.pod(), "main"));
    }

    backend.release(h);
    try (DockerHost again =
        new DockerHost(settings.hosts().get(DockerEngines.hostOf(h).equals("h1") ? 0 : 1))) {
      assertThat(DockerEngines.containers(again, node)).isEmpty();
    }
  }

  @Test
  void containersOfOnePodTalkOverLocalhost() throws Exception {
    ContainerPlan server =
        Plans.sh(
            "server",
            "mkdir -p /www && echo hello-over-localhost > /www/index.html && exec httpd -f -p 8080"
                + " -h /www");
    ContainerPlan client =
        Plans.sh(
            "client",
            "for i in $(seq 1 100); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.2;"
                + " done; exit 1");
    Handle h = backend.submit(Plans.pod("pair", List.of(), List.of(server, client)));
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              var c = observe(backend, h).container("client").orElseThrow();
              assertThat(c.state()).isEqualTo(Observed.State.TERMINATED);
            });
    Observed o = observe(backend, h);
    assertThat(o.container("client").orElseThrow().exitCode()).isZero();
    assertThat(o.container("server").orElseThrow().state()).isEqualTo(Observed.State.RUNNING);
    assertThat(o.phase()).isEqualTo(Phase.RUNNING);
    assertThat(read(backend.logs(h, "client", LogOptions.ALL))).contains("hello-over-localhost");
    backend.cancel(h, Duration.ofSeconds(2));
    awaitPhase(backend, h, Set.of(Phase.FAILED, Phase.SUCCEEDED), Duration.ofSeconds(30));
  }

  @Test
  void tenPodsSpreadOverBothHostsOrBinpackOnOne() throws Exception {
    // submitted concurrently, as the bridge's workers do: placements must still see each other
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(4);
    List<java.util.concurrent.Future<Handle>> futures = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      PodPlan p = Plans.pod("spread-" + i, List.of(), List.of(Plans.sh("c", "sleep 600")));
      futures.add(pool.submit(() -> backend.submit(p)));
    }
    List<Handle> spread = new ArrayList<>();
    for (var f : futures) {
      spread.add(f.get());
    }
    pool.shutdown();
    Map<String, Long> perHost = new LinkedHashMap<>();
    spread.forEach(h -> perHost.merge(DockerEngines.hostOf(h), 1L, Long::sum));
    assertThat(perHost).containsEntry("h1", 5L).containsEntry("h2", 5L);
    await()
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                backend.observe(spread).values().stream()
                    .allMatch(o -> o.phase() == Phase.RUNNING));
    // one observe over ten pods on two hosts
    assertThat(backend.observe(spread)).hasSize(10);
    for (Handle h : spread) {
      backend.cancel(h, Duration.ZERO);
    }
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> backend.observe(spread).values().stream().allMatch(o -> o.phase().terminal()));
    for (Handle h : spread) {
      backend.release(h);
    }

    String node2 = DockerEngines.uniqueNode();
    DockerSettings bin = DockerSettings.parse(DockerEngines.settings("binpack", Map.of()));
    try (DockerBackend packer = new DockerBackend(node2, data.resolve("bin"), bin)) {
      List<Handle> packed = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        packed.add(
            packer.submit(Plans.pod("pack-" + i, List.of(), List.of(Plans.sh("c", "sleep 600")))));
      }
      assertThat(packed).extracting(DockerEngines::hostOf).containsOnly("h1");
      for (Handle h : packed) {
        packer.cancel(h, Duration.ZERO);
        packer.release(h);
      }
    } finally {
      DockerEngines.sweep(bin, node2);
    }
  }

  @Test
  void aNewBackendInstanceFindsThePodAndNeverStartsItTwice() throws Exception {
    PodPlan plan =
        Plans.pod("resume", List.of(), List.of(Plans.sh("c", "echo started; sleep 600")));
    Handle h = backend.submit(plan);
    awaitPhase(backend, h, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
    backend.close();

    // same data dir (a restarted bridge) and an empty one (data dir lost): both find it by label
    for (Path dir : List.of(data, data.resolve("fresh"))) {
      DockerBackend again = new DockerBackend(node, dir, settings);
      others.add(again);
      assertThat(again.find(plan.pod())).contains(h);
      assertThat(again.submit(plan)).isEqualTo(h);
      Observed o = awaitPhase(again, h, Set.of(Phase.RUNNING), Duration.ofSeconds(30));
      assertThat(o.container("c").orElseThrow().restartCount()).isZero();
    }
    try (DockerHost host =
        new DockerHost(settings.hosts().get(DockerEngines.hostOf(h).equals("h1") ? 0 : 1))) {
      List<Container> cs = DockerEngines.containers(host, node);
      assertThat(cs).hasSize(2); // sandbox + c
    }
    assertThat(read(others.get(1).logs(h, "c", LogOptions.ALL))).isEqualTo("started\n");
    others.get(1).cancel(h, Duration.ZERO);
  }

  @Test
  void aPodRemovedByHandIsNeverStartedAgainAfterARestart() throws Exception {
    PodPlan plan = Plans.pod("pruned", List.of(), List.of(Plans.sh("c", "exit 0")));
    Handle h = backend.submit(plan);
    awaitPhase(h, Phase.SUCCEEDED);
    backend.close();
    DockerEngines.sweep(settings, node); // like `docker container prune` on the host

    DockerBackend again = new DockerBackend(node, data, settings);
    others.add(again);
    await()
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              assertThat(observe(again, h).reason()).isEqualTo("SandboxNotFound");
              try (DockerHost host = host(h)) {
                assertThat(DockerEngines.containers(host, node)).isEmpty();
              }
            });
  }

  @Test
  void observingAPodNeverMovesItOn() throws Exception {
    PodPlan plan =
        Plans.pod(
            "still", List.of(Plans.sh("init", "sleep 1")), List.of(Plans.sh("c", "echo ran")));
    Handle h = backend.submit(plan);
    backend.close(); // its start-up stops with it: once the init container ends, nothing starts c

    // another instance that does not own the pod only reads, however often it observes
    DockerBackend reader = new DockerBackend(node, data.resolve("reader"), settings);
    others.add(reader);
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () -> observe(reader, h).initContainers().get(0).state() == Observed.State.TERMINATED);
    await()
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(5))
        .pollInterval(Duration.ofMillis(100))
        .untilAsserted(
            () -> {
              Observed o = observe(reader, h);
              assertThat(o.phase()).isEqualTo(Phase.PENDING);
              assertThat(o.container("c").orElseThrow().state()).isEqualTo(Observed.State.WAITING);
            });

    // the owner, restarted over its data directory, moves it on by itself
    DockerBackend owner = new DockerBackend(node, data, settings);
    others.add(owner);
    awaitPhase(owner, h, Set.of(Phase.SUCCEEDED), Duration.ofSeconds(30));
  }

  @Test
  void hostPortsAndHostPathsReachTheDockerHost() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path shared = java.nio.file.Files.createTempDirectory("hpcb-hostpath");
    java.nio.file.Files.writeString(shared.resolve("from-host.txt"), "host-file-content");
    var vols =
        List.of(
            new VolumePlan("hp", VolumePlan.Type.HOST_PATH, List.of(), shared.toString(), false));
    ContainerPlan web =
        new ContainerPlan(
            "web",
            "local/busybox:1",
            "IfNotPresent",
            List.of("sh", "-c"),
            List.of(
                "mkdir -p /www && cp /hp/from-host.txt /www/index.html && echo written >"
                    + " /hp/from-pod.txt && exec httpd -f -p 8080 -h /www"),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(new ContainerPlan.Mount("hp", "/hp", null, false)),
            List.of(new ContainerPlan.Port("http", 8080, port, "TCP")));
    Handle h =
        backend.submit(
            Plans.pod("ports", List.of(), List.of(web), vols, PodPlan.RestartPolicy.NEVER));
    awaitPhase(backend, h, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    await()
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              var resp =
                  http.send(
                      java.net.http.HttpRequest.newBuilder(
                              java.net.URI.create("http://127.0.0.1:" + port + "/"))
                          .build(),
                      java.net.http.HttpResponse.BodyHandlers.ofString());
              assertThat(resp.body()).contains("host-file-content");
            });
    assertThat(shared.resolve("from-pod.txt")).hasContent("written");
    backend.cancel(h, Duration.ofSeconds(1));
    awaitPhase(backend, h, Set.of(Phase.FAILED, Phase.SUCCEEDED), Duration.ofSeconds(30));
  }
}
