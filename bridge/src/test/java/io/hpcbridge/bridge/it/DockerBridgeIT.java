package io.hpcbridge.bridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real bridge with {@code backend: docker} and both Docker engines of the test setup as hosts,
 * driven through the real API server: a Job completes, {@code kubectl logs -f} streams, two
 * containers of a pod talk over localhost, a kill -9 of the bridge creates no container twice, and
 * a stopped engine shows as the node condition {@code DockerHostsReachable}.
 *
 * <p>Engines: {@code DOCKER_HOST_IT} + {@code DOCKER_CERT_PATH_IT} (first, TLS) and {@code
 * DOCKER2_HOST_IT} (second, unix socket), from the environment or the {@code docker.env} of {@code
 * scripts/dockerd-up.sh}. Missing engines or control plane fail the tests when {@code CI=true} and
 * skip them otherwise. The last test stops the second engine (pid file {@code DOCKER2_PIDFILE_IT},
 * default {@code /run/hpc-bridge/docker2/dockerd.pid}) and starts it again with {@code
 * scripts/dockerd-up.sh} (or {@code DOCKERD_UP_IT}) in a run directory of its own.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DockerBridgeIT {
  static final String NODE = "it-docker-" + UUID.randomUUID().toString().substring(0, 5);
  static final String IMAGE = "local/busybox:1";
  static final String CONDITION = "DockerHostsReachable";
  static final String WIDE_OPEN = "it-dwide-" + UUID.randomUUID().toString().substring(0, 5);

  static KubeControlPlane kube;
  static KubernetesClient client;
  static Map<String, String> engines;
  static BridgeProcess bridge;
  @TempDir static Path tmp;

  /** Once per class, from {@code @BeforeEach} so that a local run without servers is skipped. */
  @BeforeEach
  void up() throws Exception {
    if (bridge != null) {
      return;
    }
    kube = KubeControlPlane.get();
    client = kube.client();
    engines = requireEngines();
    String yaml =
        String.join(
            "\n",
            // a namespace whose hostPath door the operator opened wide: the engine's socket stays
            // shut
            "policy:",
            "  runAsUsers: [65534]",
            "  runAsGroups: [65534]",
            "  namespaces:",
            "    " + WIDE_OPEN + ":",
            "      hostPathPrefixes: [/]",
            "backends:",
            "  docker:",
            "    placement: spread",
            "    unreachableTimeout: 5m",
            "    hosts:",
            "      - name: h1",
            "        uri: " + engines.get("DOCKER_HOST_IT"),
            "        tlsCertDir: " + engines.get("DOCKER_CERT_PATH_IT"),
            "        connectTimeout: 2s",
            "        responseTimeout: 20s",
            "      - name: h2",
            "        uri: " + engines.get("DOCKER2_HOST_IT"),
            "        connectTimeout: 2s",
            "        responseTimeout: 20s");
    bridge =
        new BridgeProcess(
                NODE, "docker", tmp.resolve("bridge"), kube.kubeconfig(), kube.caCert(), yaml)
            .start();
    await("node " + NODE + " Ready with both docker hosts")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                Nodes.ready(client, NODE)
                    && !Nodes.hasTaint(client, NODE, "node.kubernetes.io/not-ready")
                    && "True".equals(statusOf(condition(CONDITION))));
  }

  @AfterAll
  static void down() throws Exception {
    if (bridge != null) {
      bridge.stop();
      System.out.println("---- bridge log (tail) ----\n" + bridge.tail());
      client.nodes().withName(NODE).delete();
    }
    if (engines != null) {
      for (String host : List.of(host1(), host2())) {
        try {
          docker(host, "ps", "-aq", "--filter", "label=io.hpcbridge.node=" + NODE)
              .lines()
              .forEach(id -> dockerQuiet(host, "rm", "-f", "-v", id));
          docker(host, "volume", "ls", "-q", "--filter", "label=io.hpcbridge.node=" + NODE)
              .lines()
              .forEach(v -> dockerQuiet(host, "volume", "rm", v));
        } catch (RuntimeException e) {
          System.out.println("clean-up on " + host + ": " + e.getMessage());
        }
      }
    }
  }

  // ---------------------------------------------------------------- tests

  @Test
  @Order(1)
  void aJobCompletesAndKubectlLogsFollowStreamsItsLinesAsTheyCome() throws Exception {
    String ns = namespace("it-djob");
    Job job =
        new JobBuilder()
            .withNewMetadata()
            .withName("count")
            .withNamespace(ns)
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(0)
            .withTemplate(
                new PodTemplateSpecBuilder()
                    .withSpec(
                        pod(ns, null, "for i in 1 2 3 4 5 6 7; do echo line $i; sleep 1; done")
                            .build()
                            .getSpec())
                    .build())
            .endSpec()
            .build();
    client.batch().v1().jobs().inNamespace(ns).resource(job).create();
    String podName = ItPods.runningPodOfJob(client, ns, "count", Duration.ofSeconds(60));

    // kubectl logs -f through the API server and our kubelet API: lines arrive while the
    // container prints them, and kubectl ends by itself when the container ends.
    record Line(String text, long nanos) {}
    List<Line> lines = new CopyOnWriteArrayList<>();
    Process follow =
        kube.kubectlCommand("logs", "-f", "-n", ns, podName).redirectErrorStream(true).start();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(follow.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                  lines.add(new Line(l, System.nanoTime()));
                }
              } catch (IOException e) {
                lines.add(new Line("(read failed: " + e + ")", System.nanoTime()));
              }
            },
            "kubectl-logs-f");
    reader.start();
    if (!follow.waitFor(40, TimeUnit.SECONDS)) {
      follow.destroyForcibly();
      fail("kubectl logs -f did not end with the container; got " + lines);
    }
    reader.join(5000);
    long ended = System.nanoTime();
    assertThat(follow.exitValue()).as("kubectl logs -f: %s", lines).isZero();
    assertThat(lines)
        .extracting(Line::text)
        .containsExactly("line 1", "line 2", "line 3", "line 4", "line 5", "line 6", "line 7");
    long spreadMs = TimeUnit.NANOSECONDS.toMillis(lines.get(6).nanos() - lines.get(0).nanos());
    assertThat(spreadMs)
        .as("lines stream as printed (1 s apart), not all at the end")
        .isGreaterThanOrEqualTo(2500);
    assertThat(TimeUnit.NANOSECONDS.toMillis(ended - lines.get(6).nanos()))
        .as("kubectl ends soon after the last line, when the container ends")
        .isLessThan(10_000);

    await("job complete")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () -> {
              Job j = client.batch().v1().jobs().inNamespace(ns).withName("count").get();
              return j.getStatus() != null
                  && Integer.valueOf(1).equals(j.getStatus().getSucceeded());
            });
    Pod done = get(ns, podName);
    assertThat(done.getStatus().getPhase()).isEqualTo("Succeeded");
    assertThat(
            done.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode())
        .isZero();
    assertThat(containerIds(done.getMetadata().getUid())).hasSize(2); // sandbox + main
  }

  @Test
  @Order(2)
  void twoContainersOfAPodReachEachOtherOnLocalhost() throws Exception {
    String ns = namespace("it-dlocal");
    Pod p =
        pod(ns, "pair", "echo pong-from-server | nc -l -p 8080 && echo served")
            .editSpec()
            .editFirstContainer()
            .withName("server")
            .endContainer()
            .addNewContainer()
            .withName("client")
            .withImage(IMAGE)
            .withCommand(
                "sh",
                "-c",
                "for i in $(seq 100); do"
                    + " out=$(timeout 3 nc 127.0.0.1 8080 </dev/null 2>/dev/null);"
                    + " [ -n \"$out\" ] && { echo \"got $out\"; exit 0; }; sleep 0.2; done;"
                    + " echo no answer; exit 1")
            .endContainer()
            .endSpec()
            .build();
    client.pods().inNamespace(ns).resource(p).create();
    awaitPhase(ns, "pair", Duration.ofSeconds(60), "Succeeded", "Failed");
    var client1 = kube.kubectl(30, "logs", "-n", ns, "pair", "-c", "client");
    var server = kube.kubectl(30, "logs", "-n", ns, "pair", "-c", "server");
    assertThat(phase(ns, "pair"))
        .as("client: %s\nserver: %s", client1, server)
        .isEqualTo("Succeeded");
    assertThat(client1.stdout().strip()).isEqualTo("got pong-from-server");
    assertThat(server.stdout().strip()).isEqualTo("served");
  }

  @Test
  @Order(2)
  void securityContextIsHonouredAndTheEngineSocketIsNeverMounted() throws Exception {
    String ns = namespace("it-dsec");
    Pod nobody =
        pod(ns, "nobody", "id -u; id -g")
            .editSpec()
            .editFirstContainer()
            .withNewSecurityContext()
            .withRunAsUser(65534L)
            .withRunAsGroup(65534L)
            .withRunAsNonRoot(true)
            .endSecurityContext()
            .endContainer()
            .endSpec()
            .build();
    client.pods().inNamespace(ns).resource(nobody).create();
    awaitPhase(ns, "nobody", Duration.ofSeconds(60), "Succeeded", "Failed");
    assertThat(kube.kubectl(30, "logs", "-n", ns, "nobody").stdout()).isEqualTo("65534\n65534\n");

    client
        .namespaces()
        .resource(
            new NamespaceBuilder().withNewMetadata().withName(WIDE_OPEN).endMetadata().build())
        .createOr(n -> n.update());
    Pod socket =
        pod(WIDE_OPEN, "socket", "ls -l /s")
            .editSpec()
            .addNewVolume()
            .withName("s")
            .withNewHostPath()
            .withPath("/var/run")
            .endHostPath()
            .endVolume()
            .editFirstContainer()
            .addNewVolumeMount()
            .withName("s")
            .withMountPath("/s")
            .endVolumeMount()
            .endContainer()
            .endSpec()
            .build();
    client.pods().inNamespace(WIDE_OPEN).resource(socket).create();
    awaitPhase(WIDE_OPEN, "socket", Duration.ofSeconds(60), "Failed", "Succeeded");
    var s = client.pods().inNamespace(WIDE_OPEN).withName("socket").get().getStatus();
    assertThat(s.getPhase()).isEqualTo("Failed");
    assertThat(s.getReason()).isEqualTo("PolicyViolation");
    assertThat(s.getMessage()).contains("/var/run");
  }

  @Test
  @Order(3)
  void kill9OfTheBridgeCreatesNoContainerTwiceAndTheRunningPodCompletes() throws Exception {
    String ns = namespace("it-dkill");
    client
        .pods()
        .inNamespace(ns)
        .resource(pod(ns, "survivor", "echo started; sleep 20; echo finished").build())
        .create();
    awaitPhase(ns, "survivor", Duration.ofSeconds(60), "Running");
    String uid = get(ns, "survivor").getMetadata().getUid();
    Map<String, String> before = containerStates(uid);
    assertThat(before).as("sandbox + main on one host").hasSize(2);

    bridge.kill9();
    // The bridge is gone; the pod's containers are not.
    assertThat(runningContainers(uid)).as("containers after kill -9").hasSize(2);
    bridge.start();

    Set<String> phasesSeen = new HashSet<>();
    await("survivor Succeeded after the restart")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () -> {
              String ph = phase(ns, "survivor");
              phasesSeen.add(ph);
              return "Succeeded".equals(ph);
            });
    assertThat(phasesSeen).as("never reset or failed").isSubsetOf("Running", "Succeeded");
    Pod done = get(ns, "survivor");
    var main = done.getStatus().getContainerStatuses().get(0);
    assertThat(main.getRestartCount()).isZero();
    assertThat(main.getState().getTerminated().getExitCode()).isZero();
    assertThat(kube.kubectl(30, "logs", "-n", ns, "survivor").stdout())
        .isEqualTo("started\nfinished\n");
    // The same two containers, each started once: none was created or started again.
    Map<String, String> after = containerStates(uid);
    assertThat(after.keySet()).isEqualTo(before.keySet());
    for (var e : before.entrySet()) {
      assertThat(after.get(e.getKey()).split(" ")[0])
          .as("start time of %s", e.getKey())
          .isEqualTo(e.getValue().split(" ")[0]);
    }
  }

  @Test
  @Order(4)
  void aStoppedEngineShowsAsANodeConditionAndItsRecoveryToo() throws Exception {
    await("bridge Ready again")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> Nodes.ready(client, NODE) && "True".equals(statusOf(condition(CONDITION))));
    Quantity cpuBoth = client.nodes().withName(NODE).get().getStatus().getCapacity().get("cpu");

    Engine2 engine = Engine2.find(engines);
    engine.stop();
    NodeCondition downCond;
    try {
      downCond =
          await("node condition " + CONDITION + "=False")
              .atMost(Duration.ofSeconds(45))
              .pollInterval(Duration.ofMillis(300))
              .until(() -> condition(CONDITION), c -> c != null && "False".equals(c.getStatus()));
      assertThat(downCond.getReason()).isEqualTo("HostUnreachable");
      assertThat(downCond.getMessage())
          .startsWith(
              "1 of 2 docker hosts reachable; docker host h2 (" + host2() + ") unreachable");
      assertThat(Nodes.readyStatus(client, NODE)).as("the other host answers").isEqualTo("True");
      assertThat(Quantity.getAmountInBytes(capacityCpu()))
          .as("capacity counts only the host that answers")
          .isLessThan(Quantity.getAmountInBytes(cpuBoth));
    } finally {
      engine.start();
    }
    NodeCondition upCond =
        await("node condition " + CONDITION + "=True again")
            .atMost(Duration.ofSeconds(45))
            .pollInterval(Duration.ofMillis(300))
            .until(() -> condition(CONDITION), c -> c != null && "True".equals(c.getStatus()));
    assertThat(upCond.getReason()).isEqualTo("AllHostsReachable");
    assertThat(upCond.getMessage()).isEqualTo("all 2 docker hosts reachable");
    assertThat(Instant.parse(upCond.getLastTransitionTime()))
        .isAfterOrEqualTo(Instant.parse(downCond.getLastTransitionTime()));
    assertThat(Nodes.ready(client, NODE)).isTrue();
    await("capacity of both hosts again")
        .atMost(Duration.ofSeconds(30))
        .until(() -> capacityCpu().equals(cpuBoth));
  }

  // ---------------------------------------------------------------- helpers

  static String namespace(String prefix) {
    String name = prefix + "-" + UUID.randomUUID().toString().substring(0, 5);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .createOr(n -> n.update());
    return name;
  }

  static PodBuilder pod(String ns, String name, String script) {
    return ItPods.onNode(NODE, ns, name, IMAGE, script)
        .editSpec()
        .withTerminationGracePeriodSeconds(2L)
        .editFirstContainer()
        .withImagePullPolicy("IfNotPresent")
        .endContainer()
        .endSpec();
  }

  static Pod get(String ns, String name) {
    return client.pods().inNamespace(ns).withName(name).get();
  }

  static String phase(String ns, String name) {
    Pod p = get(ns, name);
    return p == null || p.getStatus() == null ? null : p.getStatus().getPhase();
  }

  /** Waits for one of {@code phases}; on time-out fails with what is known about the pod. */
  static void awaitPhase(String ns, String name, Duration max, String... phases) {
    try {
      await(ns + "/" + name + " " + List.of(phases))
          .atMost(max)
          .pollInterval(Duration.ofMillis(200))
          .until(() -> List.of(phases).contains(phase(ns, name)));
    } catch (ConditionTimeoutException e) {
      fail(e.getMessage() + "\n" + diagnose(ns, name), e);
    }
  }

  /** The pod's status, its containers on both engines and what the bridge logged about it. */
  static String diagnose(String ns, String name) {
    StringBuilder b = new StringBuilder();
    Pod p = get(ns, name);
    b.append("--- pod status\n")
        .append(p == null ? "(no pod)" : Serialization.asYaml(p.getStatus()));
    String uid = p == null ? null : p.getMetadata().getUid();
    if (uid != null) {
      for (String host : List.of(host1(), host2())) {
        try {
          b.append("--- containers on ").append(host).append('\n');
          b.append(
              docker(
                  host,
                  "ps",
                  "-a",
                  "--filter",
                  "label=io.kubernetes.pod.uid=" + uid,
                  "--format",
                  "{{.Names}} {{.Status}}"));
        } catch (RuntimeException e) {
          b.append(e.getMessage()).append('\n');
        }
      }
    }
    b.append("--- bridge log about it\n");
    bridge
        .log()
        .lines()
        .filter(l -> l.contains(name) || (uid != null && l.contains(uid)))
        .filter(l -> !l.contains(" DEBUG wire ") && !l.contains(" DEBUG headers "))
        .forEach(l -> b.append(l).append('\n'));
    return b.toString();
  }

  static NodeCondition condition(String type) {
    Node n = client.nodes().withName(NODE).get();
    if (n == null || n.getStatus() == null || n.getStatus().getConditions() == null) {
      return null;
    }
    return n.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals(type))
        .findFirst()
        .orElse(null);
  }

  static String statusOf(NodeCondition c) {
    return c == null ? null : c.getStatus();
  }

  static Quantity capacityCpu() {
    return client.nodes().withName(NODE).get().getStatus().getCapacity().get("cpu");
  }

  // ---------------------------------------------------------------- docker engines

  static String host1() {
    return engines.get("DOCKER_HOST_IT");
  }

  static String host2() {
    return engines.get("DOCKER2_HOST_IT");
  }

  /** Both engines, from the environment or scripts/dockerd-up.sh's docker.env. */
  static Map<String, String> requireEngines() {
    Map<String, String> env = new HashMap<>();
    Path file =
        Path.of(
            System.getenv().getOrDefault("HPC_BRIDGE_IT_DIR", "/tmp/hpc-bridge-it"),
            "docker",
            "docker.env");
    if (Files.isReadable(file)) {
      try {
        for (String line : Files.readAllLines(file)) {
          int i = line.indexOf('=');
          if (i > 0 && !line.startsWith("#")) {
            env.put(line.substring(0, i).trim(), line.substring(i + 1).trim());
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    List<String> missing = new ArrayList<>();
    for (String k : List.of("DOCKER_HOST_IT", "DOCKER_CERT_PATH_IT", "DOCKER2_HOST_IT")) {
      String v = System.getenv(k);
      if (v != null && !v.isBlank()) {
        env.put(k, v);
      }
      if (env.get(k) == null || env.get(k).isBlank()) {
        missing.add(k);
      }
    }
    String problem = missing.isEmpty() ? null : missing + " unset";
    if (problem == null) {
      for (String k : List.of("DOCKER_HOST_IT", "DOCKER2_HOST_IT")) {
        try {
          String v = docker(env, env.get(k), "version", "--format", "{{.Server.Version}}");
          if (v.isBlank()) {
            problem = k + "=" + env.get(k) + " does not answer";
          }
        } catch (RuntimeException e) {
          problem = k + "=" + env.get(k) + ": " + e.getMessage();
        }
      }
    }
    if (problem != null) {
      String msg =
          "Docker engines for the integration tests are missing ("
              + problem
              + "); run scripts/dockerd-up.sh and scripts/images.sh, or scripts/test.sh";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(msg);
      }
      Assumptions.abort(msg);
    }
    return env;
  }

  /** Runs the docker CLI against one engine (TLS settings for the first); its output. */
  static String docker(String host, String... args) {
    return docker(engines, host, args);
  }

  static String docker(Map<String, String> env, String host, String... args) {
    List<String> cmd =
        new ArrayList<>(
            List.of(System.getenv().getOrDefault("DOCKER_CLI_IT", "docker"), "-H", host));
    if (host.startsWith("tcp://")) {
      String certs = env.get("DOCKER_CERT_PATH_IT");
      cmd.addAll(
          List.of(
              "--tlsverify",
              "--tlscacert=" + certs + "/ca.pem",
              "--tlscert=" + certs + "/cert.pem",
              "--tlskey=" + certs + "/key.pem"));
    }
    cmd.addAll(List.of(args));
    try {
      Shell.Result r = Shell.run(60, cmd);
      if (r.exit() != 0) {
        throw new IllegalStateException(
            String.join(" ", cmd) + ": exit " + r.exit() + ": " + r.output().strip());
      }
      return r.output();
    } catch (IOException e) {
      throw new IllegalStateException(String.join(" ", cmd) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void dockerQuiet(String host, String... args) {
    try {
      docker(host, args);
    } catch (RuntimeException e) {
      // best effort
    }
  }

  /** Container ids with the pod's UID label, on both engines. */
  static List<String> containerIds(String uid) {
    List<String> ids = new ArrayList<>();
    for (String host : List.of(host1(), host2())) {
      docker(host, "ps", "-aq", "--no-trunc", "--filter", "label=io.kubernetes.pod.uid=" + uid)
          .lines()
          .filter(l -> !l.isBlank())
          .forEach(ids::add);
    }
    return ids;
  }

  /** Per container of the pod (both engines): "startedAt restartCount". */
  static Map<String, String> containerStates(String uid) {
    Map<String, String> states = new HashMap<>();
    for (String host : List.of(host1(), host2())) {
      for (String id :
          docker(host, "ps", "-aq", "--no-trunc", "--filter", "label=io.kubernetes.pod.uid=" + uid)
              .lines()
              .filter(l -> !l.isBlank())
              .toList()) {
        states.put(
            host + "/" + id,
            docker(host, "inspect", "-f", "{{.State.StartedAt}} {{.RestartCount}}", id).strip());
      }
    }
    return states;
  }

  static List<String> runningContainers(String uid) {
    List<String> ids = new ArrayList<>();
    for (String host : List.of(host1(), host2())) {
      docker(
              host,
              "ps",
              "-q",
              "--filter",
              "label=io.kubernetes.pod.uid=" + uid,
              "--filter",
              "status=running")
          .lines()
          .filter(l -> !l.isBlank())
          .forEach(ids::add);
    }
    return ids;
  }

  /** The second engine's dockerd, found through its pid file; restarted like DockerHostDownIT. */
  record Engine2(long pid, String host) {
    static Engine2 find(Map<String, String> env) throws IOException {
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
      return new Engine2(
          Long.parseLong(Files.readString(pidFile).trim()), env.get("DOCKER2_HOST_IT"));
    }

    void stop() {
      ProcessHandle p =
          ProcessHandle.of(pid)
              .orElseThrow(() -> new IllegalStateException("dockerd " + pid + " is not running"));
      p.destroy(); // SIGTERM: dockerd stops its containers and exits
      await("second dockerd stopped")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> !p.isAlive());
    }

    /**
     * Starts it again with scripts/dockerd-up.sh in a run directory of its own: the markers in the
     * shared run directory belong to whoever started the engines first, and its clean-up stays the
     * one that stops them.
     */
    void start() throws Exception {
      Path script = dockerdUp();
      Path dir = Files.createTempDirectory("hpcb-dockerd-restart");
      Path log = dir.resolve("restart.log");
      Process proc =
          new ProcessBuilder("bash", script.toString(), dir.toString())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      if (!proc.waitFor(120, TimeUnit.SECONDS) || proc.exitValue() != 0) {
        proc.destroyForcibly();
        fail(
            "restarting the second Docker engine with "
                + script
                + " failed: "
                + Files.readString(log));
      }
      await("second dockerd answers")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(300))
          .ignoreExceptions()
          .until(
              () -> !docker(engines, host, "version", "--format", "{{.Server.Version}}").isBlank());
    }

    static Path dockerdUp() {
      String env = System.getenv("DOCKERD_UP_IT");
      if (env != null && Files.isRegularFile(Path.of(env))) {
        return Path.of(env);
      }
      for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
        Path s = d.resolve("scripts/dockerd-up.sh");
        if (Files.isRegularFile(s) && Files.isRegularFile(d.resolve("mvnw"))) {
          return s;
        }
      }
      throw new IllegalStateException("scripts/dockerd-up.sh not found (set DOCKERD_UP_IT)");
    }
  }
}
