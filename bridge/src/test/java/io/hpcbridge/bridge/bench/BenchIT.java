package io.hpcbridge.bridge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.backend.slurm.SlurmCluster;
import io.hpcbridge.bridge.bench.BenchTable.Row;
import io.hpcbridge.bridge.bench.BenchTable.Stats;
import io.hpcbridge.bridge.bench.BenchTable.Target;
import io.hpcbridge.bridge.it.BridgeProcess;
import io.hpcbridge.bridge.it.KubeControlPlane;
import io.hpcbridge.state.StateStore;
import io.hpcbridge.state.TrackedPod;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The benchmark: the raw tool and the real bridge process against the same real servers, in one
 * run, printed as one table ({@link BenchTable}; also written to {@code target/bench/table.md}).
 * What each row measures, and how to run it, is in {@code docs/benchmarks.md}.
 *
 * <p>System properties: {@code bench.pods} (N, default 100), {@code bench.statusPods} (pods of the
 * Slurm status row, default N), {@code bench.repeats} (repetitions of the single-start rows,
 * default 5), {@code bench.backends} (default {@code slurm,docker,local}), {@code bench.enforce}
 * (default true: fail when a ratio is below half its target, see {@link Target}).
 *
 * <p>Each backend gets its own bridge process (log level INFO), started once its servers are up and
 * warmed up with one pod before anything is timed. Pods are bound directly ({@code spec.nodeName}),
 * so no scheduler is involved. Slurm submit: the pods are bound while the bridge is stopped and
 * timed from its first intent to its last job id; the other rows: created while the bridge runs,
 * timed from the moment the last create call returned.
 */
class BenchIT {
  static final int PODS = Integer.getInteger("bench.pods", 100);
  static final int STATUS_PODS = Integer.getInteger("bench.statusPods", PODS);
  static final int REPEATS = Integer.getInteger("bench.repeats", 5);
  static final Set<String> BACKENDS =
      new LinkedHashSet<>(
          Arrays.asList(System.getProperty("bench.backends", "slurm,docker,local").split(",")));
  static final boolean ENFORCE = Boolean.parseBoolean(System.getProperty("bench.enforce", "true"));
  static final Path OUT = Path.of("target", "bench");

  static final String SLURM_IMAGE = "debian:bookworm";
  static final String DOCKER_IMAGE = "local/busybox:1";

  /** Recorded, not pulled: the local backend runs the command on the host. */
  static final String LOCAL_IMAGE = "debian:bookworm";

  /** Marks the raw containers, for clean-up. */
  static final String RAW_LABEL = "io.hpcbridge.bench=raw";

  @TempDir Path tmp;
  KubeControlPlane kube;
  KubernetesClient client;
  final BenchTable table = new BenchTable();
  final List<String> notes = new ArrayList<>();

  @Test
  void rawToolsAndTheBridgeOnTheSameServers() throws Exception {
    kube = KubeControlPlane.get();
    client = kube.client();
    long started = System.nanoTime();
    try {
      if (BACKENDS.contains("slurm")) {
        phase(this::slurm, PODS, Target.SLURM_SUBMIT, Target.SLURM_DELETE, Target.SLURM_STATUS);
      }
      if (BACKENDS.contains("docker")) {
        phase(this::docker, PODS, Target.DOCKER_START_ONE, Target.DOCKER_START_PARALLEL);
      }
      if (BACKENDS.contains("local")) {
        phase(this::local, REPEATS, Target.LOCAL_START);
      }
    } finally {
      String text =
          String.format(
                  "hpc-bridge benchmark: N=%d, backends %s, %d CPUs, %s, %.0f s%n%n",
                  PODS,
                  String.join(",", BACKENDS),
                  Runtime.getRuntime().availableProcessors(),
                  Instant.now().toString().substring(0, 19) + "Z",
                  (System.nanoTime() - started) / 1e9)
              + table.render()
              + (notes.isEmpty() ? "" : "\n" + String.join("\n", notes) + "\n");
      System.out.println("\n" + text);
      Files.createDirectories(OUT);
      Files.writeString(OUT.resolve("table.md"), text);
    }
    if (ENFORCE) {
      assertThat(table.regressions())
          .as("rows below half their target or not measured (bench.enforce=false only prints)")
          .isEmpty();
    }
  }

  interface Phase {
    void run() throws Exception;
  }

  /** Runs one backend's phase; a row it could not measure becomes a failed row. */
  void phase(Phase p, int n, Target... targets) {
    String error = null;
    long started = System.nanoTime();
    try {
      p.run();
    } catch (Throwable e) {
      error = e.getClass().getSimpleName() + ": " + e.getMessage();
      e.printStackTrace(System.out);
    }
    notes.add(
        String.format(
            "%s phase (servers, bridge, clean-up included): %.0f s",
            targets[0].operation.split(" ")[0], (System.nanoTime() - started) / 1e9));
    Set<Target> done = new HashSet<>();
    table.rows().forEach(r -> done.add(r.target()));
    for (Target t : targets) {
      if (!done.contains(t)) {
        table.add(Row.failed(t, n, error == null ? "not measured" : oneLine(error)));
      }
    }
  }

  // ------------------------------------------------------------------------------ Slurm

  /**
   * Raw: one SSH session; one exec running a loop of N {@code sbatch --parsable --wrap='sleep
   * 600'}; then {@code scancel} of those ids (100 per call, all calls in one exec), timed until
   * {@code squeue} shows none of them. Bridge: N pods running {@code sleep 600} (grace 5 s, Slurm's
   * KillWait), bound while the bridge is stopped, timed from its first intent until every pod's job
   * id is in the state file; then all deleted, timed until {@code squeue} shows none of their jobs.
   * Then N pods running {@code true}: per pod, Slurm's EndTime (whole seconds) to the watch seeing
   * the pod Succeeded.
   */
  void slurm() throws Exception {
    String node = "bench-slurm-" + suffix();
    long t = System.nanoTime();
    try (SlurmCluster cluster = SlurmCluster.start();
        RawSsh ssh = RawSsh.connect(cluster.settings())) {
      notes.add(String.format("Slurm cluster up in %.0f s.", (System.nanoTime() - t) / 1e9));

      // --- raw submit: one exec, a loop of N sbatch
      ssh.run("sbatch --parsable -J bench-warm -o /dev/null --wrap=true"); // warm-up
      String loop =
          "for i in $(seq "
              + PODS
              + "); do sbatch --parsable -J bench-raw -o /dev/null --wrap='sleep 600' || exit 1;"
              + " done";
      long a = System.nanoTime();
      String out = ssh.run(loop);
      double rawSubmitSec = (System.nanoTime() - a) / 1e9;
      List<String> rawIds =
          out.lines().filter(l -> !l.isBlank()).map(l -> l.split(";")[0].trim()).toList();
      assertThat(rawIds).as("job ids from the raw loop").hasSize(PODS);

      // --- raw delete: scancel in batches of 100 ids, until squeue shows none
      awaitRunning(ssh, rawIds, deadline(120));
      long d = System.currentTimeMillis();
      StringBuilder cancel = new StringBuilder();
      for (int i = 0; i < rawIds.size(); i += 100) {
        cancel
            .append("scancel ")
            .append(String.join(" ", rawIds.subList(i, Math.min(rawIds.size(), i + 100))))
            .append('\n');
      }
      ssh.run(cancel.toString());
      Map<String, Long> rawGone = awaitLeftQueue(ssh, rawIds, deadline(60 + 2L * PODS));
      double rawDeleteSec = (max(rawGone.values()) - d) / 1000.0;

      // --- the bridge
      String yaml =
          "backends:\n  slurm: " + new ObjectMapper().writeValueAsString(cluster.settings());
      BridgeProcess bridge = bridge(node, "slurm", yaml);
      String ns = namespace("bench-slurm");
      try (StateStore state = StateStore.openReadOnly(bridge.dir().resolve("state.db"));
          PhaseClock clock = new PhaseClock(client, ns)) {
        // warm-up: one pod through submit, recorded, deleted
        create(ns, 1, i -> pod(node, ns, "warm", SLURM_IMAGE, "warm", "true", 0));
        awaitRecorded(state, ns, List.of("warm"), deadline(120));

        // submit: the N pods are bound while the bridge is stopped, so it meets them all at once
        // (like a Job's thousand pods); timed from its first intent to its last job id, which
        // leaves the JVM start and the informer's first list out.
        bridge.stop();
        Created sub =
            create(ns, PODS, i -> pod(node, ns, "s" + i, SLURM_IMAGE, "submit", "sleep 600", 5));
        bridge.start(Map.of("HPC_BRIDGE_LOG_LEVEL", "INFO"));
        Map<String, TrackedPod> recorded =
            awaitRecorded(state, ns, sub.names(), deadline(120 + 3L * PODS));
        List<Double> subLat = new ArrayList<>();
        long lastSubmitted = 0;
        long firstIntent = Long.MAX_VALUE;
        for (var e : recorded.entrySet()) {
          long s = e.getValue().submitted().toEpochMilli();
          long c = e.getValue().created().toEpochMilli();
          lastSubmitted = Math.max(lastSubmitted, s);
          firstIntent = Math.min(firstIntent, c);
          subLat.add(Math.max(0, s - c) / 1000.0);
        }
        double bridgeSubmitSec = Math.max(1, lastSubmitted - firstIntent) / 1000.0;
        table.add(
            Row.throughput(
                Target.SLURM_SUBMIT,
                PODS,
                PODS / rawSubmitSec,
                PODS / bridgeSubmitSec,
                Stats.of(subLat)));
        notes.add(
            String.format(
                "slurm submit: raw loop %.1f s; bridge %.1f s from its first intent to its last job"
                    + " id (the %d pods bound while it was stopped; p50/p95: intent to job id)",
                rawSubmitSec, bridgeSubmitSec, PODS));

        // delete
        List<String> jobIds =
            recorded.values().stream()
                .map(p -> p.handle().orElseThrow().id().split("/")[0])
                .toList();
        awaitRunning(ssh, jobIds, deadline(120));
        long d0 = System.currentTimeMillis();
        client.pods().inNamespace(ns).withLabel("bench", "submit").delete();
        long d1 = System.currentTimeMillis();
        Map<String, Long> gone = awaitLeftQueue(ssh, jobIds, deadline(60 + 2L * PODS));
        double bridgeDeleteSec = (max(gone.values()) - d1) / 1000.0;
        table.add(
            Row.throughput(
                Target.SLURM_DELETE,
                PODS,
                PODS / rawDeleteSec,
                PODS / bridgeDeleteSec,
                Stats.of(gone.values().stream().map(g -> (g - d1) / 1000.0).toList())));
        notes.add(
            String.format(
                "slurm delete: raw scancel + squeue empty %.1f s; bridge %.1f s after the"
                    + " delete call (which took %.1f s)",
                rawDeleteSec, bridgeDeleteSec, (d1 - d0) / 1000.0));
        awaitPodsGone(ns, "submit", deadline(60 + PODS));

        // status: job end → pod Succeeded
        Created st =
            create(ns, STATUS_PODS, i -> pod(node, ns, "t" + i, SLURM_IMAGE, "status", "true", 5));
        Map<String, Long> succeeded = clock.first("Succeeded");
        // Ended jobs stay in squeue for MinJobAge (300 s): read their EndTime as they end.
        Map<String, Long> endSec = new HashMap<>();
        long stDeadline = deadline(120 + 3L * STATUS_PODS);
        while (st.names().stream().filter(succeeded::containsKey).count() < STATUS_PODS) {
          if (System.currentTimeMillis() > stDeadline) {
            throw new IllegalStateException(
                succeeded.size() + " of " + STATUS_PODS + " pods Succeeded at the deadline");
          }
          endTimes(ssh).forEach(endSec::putIfAbsent);
          Thread.sleep(2000);
        }
        endTimes(ssh).forEach(endSec::putIfAbsent);
        notes.add(
            String.format(
                "slurm end→Succeeded: %d pods running `true` done %.0f s after the last create",
                STATUS_PODS, (System.currentTimeMillis() - st.allCreated()) / 1000.0));
        Map<String, TrackedPod> stRecorded = awaitRecorded(state, ns, st.names(), deadline(10));
        List<Double> statusLat = new ArrayList<>();
        for (String name : st.names()) {
          String job = stRecorded.get(name).handle().orElseThrow().id().split("/")[0];
          Long end = endSec.get(job);
          if (end != null) {
            statusLat.add((succeeded.get(name) - end * 1000) / 1000.0);
          }
        }
        assertThat(statusLat).as("jobs with an EndTime in squeue").hasSize(STATUS_PODS);
        table.add(Row.report(Target.SLURM_STATUS, STATUS_PODS, Stats.of(statusLat)));
      } finally {
        stop(bridge, node, ns);
      }
    }
  }

  /**
   * Waits until as many of {@code ids} run as the cluster has CPUs (or all of them), so that the
   * raw side and the bridge cancel the same mix of running and pending jobs.
   */
  static void awaitRunning(RawSsh ssh, List<String> ids, long deadline) throws Exception {
    String[] cpus = ssh.run("sinfo -h -o %C").trim().split("/"); // allocated/idle/other/total
    int want = Math.min(ids.size(), Integer.parseInt(cpus[cpus.length - 1].trim()));
    Set<String> mine = new HashSet<>(ids);
    while (true) {
      long running =
          ssh.run("squeue -h -t R -o %i").lines().map(String::trim).filter(mine::contains).count();
      if (running >= want) {
        return;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException(running + " of the jobs run, want " + want);
      }
      Thread.sleep(200);
    }
  }

  /** Job id → EndTime (epoch seconds) of the ended jobs squeue still shows (for 300 s). */
  static Map<String, Long> endTimes(RawSsh ssh) throws Exception {
    String out =
        ssh.run(
            "squeue -h -t CD,CG,F,CA,TO,OOM,NF -o '%i %e' | while read -r i e; do"
                + " s=$(date -d \"$e\" +%s 2>/dev/null) && echo \"$i $s\"; done");
    Map<String, Long> m = new HashMap<>();
    out.lines()
        .map(l -> l.trim().split(" "))
        .filter(f -> f.length == 2)
        .forEach(f -> m.put(f[0], Long.parseLong(f[1])));
    return m;
  }

  /**
   * Polls {@code squeue} (pending, running and completing jobs) over the raw session until none of
   * {@code ids} is listed; when each was first missing (epoch ms).
   */
  static Map<String, Long> awaitLeftQueue(RawSsh ssh, List<String> ids, long deadline)
      throws Exception {
    Map<String, Long> gone = new HashMap<>();
    while (true) {
      String out = ssh.run("squeue -h -o %i");
      long now = System.currentTimeMillis();
      Set<String> queued = new HashSet<>(out.lines().map(String::trim).toList());
      for (String id : ids) {
        if (!queued.contains(id)) {
          gone.putIfAbsent(id, now);
        }
      }
      if (gone.size() == ids.size()) {
        return gone;
      }
      if (now > deadline) {
        throw new IllegalStateException(
            (ids.size() - gone.size()) + " of " + ids.size() + " jobs still in squeue");
      }
      Thread.sleep(100);
    }
  }

  /** Polls the bridge's state file until every named pod of {@code ns} has its handle. */
  static Map<String, TrackedPod> awaitRecorded(
      StateStore state, String ns, List<String> names, long deadline) throws Exception {
    Set<String> wanted = new HashSet<>(names);
    Map<String, TrackedPod> found = new HashMap<>();
    while (true) {
      for (TrackedPod p : state.list()) {
        if (p.ref().namespace().equals(ns)
            && wanted.contains(p.ref().name())
            && p.handle().isPresent()
            && p.submitted() != null) {
          found.put(p.ref().name(), p);
        }
      }
      if (found.size() == wanted.size()) {
        return found;
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException(
            found.size() + " of " + wanted.size() + " pods have a job recorded");
      }
      Thread.sleep(100);
    }
  }

  // ------------------------------------------------------------------------------ Docker

  /**
   * Single start: a pod running {@code sleep 300} from its create call to the watch seeing it
   * Running, against {@code docker run -d} of the same image and command on the engine the bridge
   * chose; {@link #REPEATS} times each, medians compared. Parallel: N {@code docker run -d} started
   * at once, alternating between the two engines, until the last exits; N pods from the last create
   * until the last is seen Running.
   */
  void docker() throws Exception {
    DockerCli docker = DockerCli.fromEnvironment();
    String node = "bench-docker-" + suffix();
    String yaml =
        String.join(
            "\n",
            "backends:",
            "  docker:",
            "    placement: spread",
            "    hosts:",
            "      - name: h1",
            "        uri: " + docker.host1,
            "        tlsCertDir: " + docker.certs,
            "      - name: h2",
            "        uri: " + docker.host2);
    BridgeProcess bridge = bridge(node, "docker", yaml);
    String ns = namespace("bench-docker");
    try (PhaseClock clock = new PhaseClock(client, ns)) {
      Map<String, Long> running = clock.first("Running");
      // warm-up: one pod on each engine
      Created warm =
          create(ns, 2, i -> pod(node, ns, "warm" + i, DOCKER_IMAGE, "warm", "sleep 300", 0));
      awaitAll(running, warm.names(), "warm-up pods Running", deadline(120));
      docker.run(docker.host1, "run", "--rm", DOCKER_IMAGE, "true");
      docker.run(docker.host2, "run", "--rm", DOCKER_IMAGE, "true");

      // --- one at a time
      List<Double> bridgeOne = new ArrayList<>();
      List<Double> rawOne = new ArrayList<>();
      for (int r = 0; r < REPEATS; r++) {
        String name = "one" + r;
        Created c = create(ns, 1, i -> pod(node, ns, name, DOCKER_IMAGE, "one", "sleep 300", 0));
        awaitAll(running, List.of(name), name + " Running", deadline(120));
        bridgeOne.add((running.get(name) - c.at().get(name)) / 1000.0);
        String uid = client.pods().inNamespace(ns).withName(name).get().getMetadata().getUid();
        String host =
            docker
                    .run(docker.host1, "ps", "-q", "--filter", "label=io.kubernetes.pod.uid=" + uid)
                    .isBlank()
                ? docker.host2
                : docker.host1;
        long a = System.nanoTime();
        docker.run(host, "run", "-d", "--label", RAW_LABEL, DOCKER_IMAGE, "sleep", "300");
        rawOne.add((System.nanoTime() - a) / 1e9);
      }
      table.add(
          Row.latency(
              Target.DOCKER_START_ONE,
              REPEATS,
              BenchTable.percentile(rawOne, 50),
              BenchTable.percentile(bridgeOne, 50),
              Stats.of(bridgeOne)));
      docker.removeLabelled(RAW_LABEL);

      // --- N in parallel across both engines
      long a = System.nanoTime();
      List<Process> procs = new ArrayList<>();
      for (int i = 0; i < PODS; i++) {
        procs.add(
            docker.start(
                i % 2 == 0 ? docker.host1 : docker.host2,
                "run",
                "-d",
                "--label",
                RAW_LABEL,
                DOCKER_IMAGE,
                "sleep",
                "300"));
      }
      for (Process p : procs) {
        DockerCli.output(p, "run -d");
      }
      double rawParSec = (System.nanoTime() - a) / 1e9;
      docker.removeLabelled(RAW_LABEL);

      Created par =
          create(ns, PODS, i -> pod(node, ns, "p" + i, DOCKER_IMAGE, "par", "sleep 300", 0));
      awaitAll(running, par.names(), "pods Running", deadline(120 + 2L * PODS));
      List<Double> parLat = new ArrayList<>();
      long last = 0;
      for (String name : par.names()) {
        last = Math.max(last, running.get(name));
        parLat.add((running.get(name) - par.at().get(name)) / 1000.0);
      }
      double bridgeParSec = Math.max(1, last - par.allCreated()) / 1000.0;
      table.add(
          Row.throughput(
              Target.DOCKER_START_PARALLEL,
              PODS,
              PODS / rawParSec,
              PODS / bridgeParSec,
              Stats.of(parLat)));
      notes.add(
          String.format(
              "docker start par: raw %.1f s; bridge %.1f s after the last of %d creates (which"
                  + " took %.1f s)",
              rawParSec, bridgeParSec, PODS, (par.allCreated() - par.firstCreate()) / 1000.0));
    } finally {
      stop(bridge, node, ns);
      docker.removeLabelled(RAW_LABEL);
      docker.removeLabelled("io.hpcbridge.node=" + node);
    }
  }

  // ------------------------------------------------------------------------------ local

  /**
   * A pod running {@code sleep 30} from its create call to the watch seeing it Running, against
   * {@code sh -c 'echo started; exec sleep 30'} spawned by this JVM until its first line is read;
   * {@link #REPEATS} times each, medians compared.
   */
  void local() throws Exception {
    String node = "bench-local-" + suffix();
    BridgeProcess bridge = bridge(node, "local", "");
    String ns = namespace("bench-local");
    try (PhaseClock clock = new PhaseClock(client, ns)) {
      Map<String, Long> running = clock.first("Running");
      create(ns, 1, i -> pod(node, ns, "warm", LOCAL_IMAGE, "warm", "sleep 30", 0));
      awaitAll(running, List.of("warm"), "warm-up pod Running", deadline(60));
      List<Double> bridgeOne = new ArrayList<>();
      List<Double> rawOne = new ArrayList<>();
      for (int r = 0; r < REPEATS; r++) {
        String name = "one" + r;
        Created c = create(ns, 1, i -> pod(node, ns, name, LOCAL_IMAGE, "one", "sleep 30", 0));
        awaitAll(running, List.of(name), name + " Running", deadline(60));
        bridgeOne.add((running.get(name) - c.at().get(name)) / 1000.0);

        long a = System.nanoTime();
        Process p =
            new ProcessBuilder("sh", "-c", "echo started; exec sleep 30")
                .redirectErrorStream(true)
                .start();
        String line =
            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))
                .readLine();
        rawOne.add((System.nanoTime() - a) / 1e9);
        p.destroyForcibly();
        assertThat(line).isEqualTo("started");
      }
      table.add(
          Row.latency(
              Target.LOCAL_START,
              REPEATS,
              BenchTable.percentile(rawOne, 50),
              BenchTable.percentile(bridgeOne, 50),
              Stats.of(bridgeOne)));
    } finally {
      stop(bridge, node, ns);
    }
  }

  // ------------------------------------------------------------------------------ helpers

  /** Pods created: when each create call returned (epoch ms), the first started, the last ended. */
  record Created(List<String> names, Map<String, Long> at, long firstCreate, long allCreated) {}

  /** Creates n pods with 8 threads. */
  Created create(String ns, int n, IntFunction<Pod> pods) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(8, n));
    Map<String, Long> at = new ConcurrentHashMap<>();
    List<String> names = new ArrayList<>();
    List<Future<?>> fs = new ArrayList<>();
    long first = System.currentTimeMillis();
    try {
      for (int i = 0; i < n; i++) {
        Pod p = pods.apply(i);
        String name = p.getMetadata().getName();
        names.add(name);
        fs.add(
            pool.submit(
                () -> {
                  client.pods().inNamespace(ns).resource(p).create();
                  at.put(name, System.currentTimeMillis());
                  return null;
                }));
      }
      for (Future<?> f : fs) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
    return new Created(names, at, first, System.currentTimeMillis());
  }

  /** A pod bound to {@code node} directly, one container {@code main} running sh -c script. */
  static Pod pod(
      String node, String ns, String name, String image, String label, String script, long grace) {
    return new PodBuilder()
        .withNewMetadata()
        .withNamespace(ns)
        .withName(name)
        .addToLabels("bench", label)
        .endMetadata()
        .withNewSpec()
        .withNodeName(node)
        .addNewToleration()
        .withKey("virtual-kubelet.io/provider")
        .withOperator("Exists")
        .endToleration()
        .withRestartPolicy("Never")
        .withTerminationGracePeriodSeconds(grace)
        .addNewContainer()
        .withName("main")
        .withImage(image)
        .withImagePullPolicy("IfNotPresent")
        .withCommand("sh", "-c", script)
        .endContainer()
        .endSpec()
        .build();
  }

  /** Starts a bridge process at log level INFO and waits for its node to be Ready. */
  BridgeProcess bridge(String node, String backend, String yaml) throws Exception {
    BridgeProcess b =
        new BridgeProcess(
            node, backend, tmp.resolve(backend), kube.kubeconfig(), kube.caCert(), yaml);
    b.start(Map.of("HPC_BRIDGE_LOG_LEVEL", "INFO"));
    try {
      await(() -> ready(node) ? 1L : 0L, 1, "node " + node + " Ready", deadline(120));
    } catch (RuntimeException e) {
      b.stop();
      throw new IllegalStateException(e.getMessage() + "\n" + b.tail(), e);
    }
    return b;
  }

  boolean ready(String node) {
    var n = client.nodes().withName(node).get();
    return n != null
        && n.getStatus() != null
        && n.getStatus().getConditions() != null
        && n.getStatus().getConditions().stream()
            .anyMatch(c -> c.getType().equals("Ready") && c.getStatus().equals("True"))
        && (n.getSpec().getTaints() == null
            || n.getSpec().getTaints().stream()
                .noneMatch(t -> t.getKey().equals("node.kubernetes.io/not-ready")));
  }

  /** Deletes what is left of the namespace's pods (grace 0), stops the bridge, removes the node. */
  void stop(BridgeProcess bridge, String node, String ns) throws Exception {
    try {
      client.pods().inNamespace(ns).withGracePeriod(0).delete();
      // give the bridge a moment to cancel what it still runs before it stops
      await(
          () -> (long) client.pods().inNamespace(ns).list().getItems().size(),
          0,
          "pods of " + ns + " gone",
          deadline(30));
    } catch (RuntimeException e) {
      System.out.println("clean-up: " + e.getMessage());
    } finally {
      bridge.stop();
      if (!bridge.log().isEmpty()) {
        System.out.println("---- " + node + " log (tail) ----\n" + bridge.tail());
        try {
          Files.createDirectories(OUT);
          Files.writeString(OUT.resolve(node + ".log"), bridge.log()); // for profiling
        } catch (java.io.IOException e) {
          System.out.println("cannot keep the bridge log: " + e);
        }
      }
      client.namespaces().withName(ns).delete();
      client.nodes().withName(node).delete();
    }
  }

  String namespace(String prefix) {
    String name = prefix + "-" + suffix();
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .create();
    return name;
  }

  void awaitPodsGone(String ns, String label, long deadline) throws Exception {
    await(
        () ->
            (long) client.pods().inNamespace(ns).withLabel("bench", label).list().getItems().size(),
        0,
        "pods " + label + " gone from the API",
        deadline);
  }

  static void awaitAll(Map<String, Long> seen, List<String> names, String what, long deadline)
      throws Exception {
    await(() -> names.stream().filter(seen::containsKey).count(), names.size(), what, deadline);
  }

  /** Polls every 50 ms until {@code value} equals {@code want}; fails at the deadline. */
  static void await(Supplier<Long> value, long want, String what, long deadline)
      throws InterruptedException {
    long v;
    while ((v = value.get()) != want) {
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException(what + ": " + v + " (want " + want + ") at the deadline");
      }
      Thread.sleep(50);
    }
  }

  static long deadline(long seconds) {
    return System.currentTimeMillis() + Duration.ofSeconds(seconds).toMillis();
  }

  static long max(java.util.Collection<Long> values) {
    return values.stream().mapToLong(Long::longValue).max().orElseThrow();
  }

  static String suffix() {
    return UUID.randomUUID().toString().substring(0, 5);
  }

  static String oneLine(String s) {
    String first = s.lines().findFirst().orElse("");
    return first.length() <= 160 ? first : first.substring(0, 157) + "...";
  }
}
