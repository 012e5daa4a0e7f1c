package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static io.hpcbridge.backend.slurm.Plans.res;
import static io.hpcbridge.backend.slurm.Plans.with;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.BackendFactory;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.slurm.transport.SshTransport;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Slurm backend against a real multi-node Slurm cluster, reached only over SSH: what is
 * particular to Slurm (init containers and env on compute nodes, Slurm's pending reason, deadline,
 * cancel verdict, sbatch's refusal, capacity, host keys). What every backend promises is tested by
 * {@link SlurmBackendContractIT}.
 */
class SlurmBackendIT {
  static SlurmCluster cluster;
  static SlurmBackend backend;
  static long startedAt;

  @BeforeAll
  static void up() throws Exception {
    startedAt = System.nanoTime();
    cluster = SlurmCluster.start();
    System.out.printf("Slurm cluster up in %.1f s%n", (System.nanoTime() - startedAt) / 1e9);
    BackendFactory f =
        ServiceLoader.load(BackendFactory.class).stream()
            .map(ServiceLoader.Provider::get)
            .filter(x -> x.name().equals("slurm"))
            .findFirst()
            .orElseThrow();
    backend =
        (SlurmBackend) f.create(new BackendContext("hpc", Path.of("/tmp"), cluster.settings()));
  }

  @AfterAll
  static void down() {
    if (backend != null) {
      backend.close();
    }
    if (cluster != null) {
      cluster.close();
    }
    System.out.printf("SlurmBackendIT wall time %.1f s%n", (System.nanoTime() - startedAt) / 1e9);
  }

  static String uid() {
    return UUID.randomUUID().toString();
  }

  static ContainerPlan sh(String name, String script) {
    return container(name, "busybox:1.36", List.of("sh", "-c", script), List.of());
  }

  static Observed awaitPhase(Handle h, Phase... phases) {
    Observed[] last = new Observed[1];
    await()
        .atMost(Duration.ofSeconds(150))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              last[0] = backend.observe(List.of(h)).get(h);
              return List.of(phases).contains(last[0].phase());
            });
    return last[0];
  }

  static String logs(Handle h, String c, LogOptions o) throws Exception {
    try (var in = backend.logs(h, c, o)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void runsInitThenContainersOnComputeNodesWithExitCodesLogsAndEnv() throws Exception {
    PodPlan plan =
        pod("exit-codes")
            .uid(uid())
            .init(sh("setup", "echo setting up"))
            .main(
                with(
                    sh("ok", "echo \"hello $GREETING\"; hostname"),
                    Map.of("GREETING", "it's $me `x`"),
                    null,
                    null,
                    null))
            .main(sh("bad", "echo failing >&2; exit 3"))
            .build();
    Handle h = backend.submit(plan);
    Observed o = awaitPhase(h, Phase.SUCCEEDED, Phase.FAILED);
    assertThat(o.phase()).isEqualTo(Phase.FAILED);
    assertThat(o.hostIP()).isNotBlank();
    assertThat(o.initContainers())
        .singleElement()
        .satisfies(c -> assertThat(c.exitCode()).isZero());
    assertThat(o.containers())
        .extracting(
            Observed.ContainerStatus::name,
            Observed.ContainerStatus::exitCode,
            Observed.ContainerStatus::reason)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("ok", 0, "Completed"),
            org.assertj.core.groups.Tuple.tuple("bad", 3, "Error"));
    String okLog = logs(h, "ok", LogOptions.ALL);
    assertThat(okLog).startsWith("hello it's $me `x`\n").matches("(?s).*\\nc[12]\\n");
    assertThat(logs(h, "bad", LogOptions.ALL)).isEqualTo("failing\n");
    // The runtime path: the apptainer shim ran on a compute node, confined, with the env file.
    String calls = cluster.loginExec("cat ~/apptainer-calls.log").getStdout();
    assertThat(calls)
        .containsPattern(
            "c[12] \\[exec\\] \\[--containall\\] \\[--no-home\\] \\[--env-file\\]"
                + " \\[/home/hpc/pods/"
                + plan.pod().uid()
                + "/env/ok.env\\] \\[docker://busybox:1.36\\] \\[sh\\]");
  }

  @Test
  void capacityIsThePartitionsTotalAndPingAsksTheController() throws Exception {
    Capacity cap = backend.capacity();
    assertThat(cap.cpuMillis()).isEqualTo(4000);
    assertThat(cap.memoryBytes()).isEqualTo(2000L << 20);
    assertThat(cap.nodeInfo()).containsEntry("partition", "debug").containsEntry("slurmNodes", "2");
    backend.ping();
  }

  /** TERM then KILL is the contract's (SlurmBackendContractIT); here: Slurm's own verdict. */
  @Test
  void aCancelledJobFailsThePodWithReasonCancelled() throws Exception {
    Handle h =
        backend.submit(
            pod("cancel").uid(uid()).grace(5).main(sh("main", "echo ready; sleep 300")).build());
    awaitPhase(h, Phase.RUNNING);
    backend.cancel(h, Duration.ofSeconds(5));
    Observed o = awaitPhase(h, Phase.FAILED, Phase.SUCCEEDED);
    assertThat(o.reason()).isEqualTo("Cancelled");
    assertThat(o.message()).contains("was cancelled");
    String jobId = h.id().split("/")[0];
    assertThat(
            cluster
                .loginExec("squeue -h -a -t all -o %T -j " + jobId + "," + jobId)
                .getStdout()
                .trim())
        .isEqualTo("CANCELLED");
  }

  @Test
  void aPodWaitingForResourcesShowsSlurmsReason() throws Exception {
    ContainerPlan hog = with(sh("main", "sleep 120"), null, null, res(2000, 2000, 0, 0, 0), null);
    Handle b1 = backend.submit(pod("hog1").uid(uid()).main(hog).build());
    Handle b2 = backend.submit(pod("hog2").uid(uid()).main(hog).build());
    Handle waiting = backend.submit(pod("waiting").uid(uid()).main(sh("main", "true")).build());
    try {
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofSeconds(1))
          .until(
              () -> {
                Map<Handle, Observed> m = backend.observe(List.of(b1, b2, waiting));
                return m.get(b1).phase() == Phase.RUNNING
                    && m.get(b2).phase() == Phase.RUNNING
                    && "Resources".equals(m.get(waiting).containers().get(0).reason());
              });
      Observed w = backend.observe(List.of(waiting)).get(waiting);
      assertThat(w.phase()).isEqualTo(Phase.PENDING);
      assertThat(w.containers().get(0).message()).contains("PENDING: Resources");
    } finally {
      backend.cancel(b1, Duration.ZERO);
      backend.cancel(b2, Duration.ZERO);
    }
    assertThat(awaitPhase(waiting, Phase.SUCCEEDED, Phase.FAILED).phase())
        .isEqualTo(Phase.SUCCEEDED);
  }

  @Test
  void aJobOverItsDeadlineFailsWithDeadlineExceeded() throws Exception {
    Handle h =
        backend.submit(
            pod("deadline").uid(uid()).deadline(60).grace(5).main(sh("main", "sleep 600")).build());
    Observed o = awaitPhase(h, Phase.FAILED, Phase.SUCCEEDED);
    assertThat(o.reason()).isEqualTo("DeadlineExceeded");
    assertThat(o.containers().get(0).state()).isEqualTo(Observed.State.TERMINATED);
  }

  @Test
  void aMissingPartitionFailsThePodWithSbatchsMessageAndLeavesNoFiles() throws Exception {
    String uid = uid();
    assertThatThrownBy(
            () ->
                backend.submit(
                    pod("nopart")
                        .uid(uid)
                        .main(with(sh("main", "true"), Map.of("TOKEN", "s3cr3t"), null, null, null))
                        .annotate("partition", "nope")
                        .build()))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> {
              assertThat(e.reason()).isEqualTo("SlurmRejected");
              assertThat(e.getMessage()).contains("invalid partition specified: nope");
            });
    // Its directory (env file with the token) went with the refusal.
    assertThat(cluster.loginExec("test -e ~/pods/" + uid).getExitCode()).isNotZero();
  }

  @Test
  void submitNewShipsFiftyPodsInAFewCommandsAndEachOutcomeLandsOnItsPod() throws Exception {
    SlurmConfig cfg = SlurmConfig.parse(cluster.settings());
    CountingTransport t = new CountingTransport(new SshTransport(cfg.ssh(), cfg.commandTimeout()));
    try (SlurmBackend b = new SlurmBackend(cfg, t)) {
      b.renderer(); // learns the account once
      List<PodPlan> plans = new ArrayList<>();
      for (int i = 0; i < 50; i++) {
        Plans.Builder p = pod("many-" + i).uid(uid()).main(sh("main", "sleep 300"));
        if (i == 7) {
          p.annotate("bogus", "x"); // the renderer refuses it
        } else if (i == 23) {
          p.annotate("partition", "nope"); // sbatch refuses it
        }
        plans.add(p.build());
      }
      long before = t.calls.get();
      List<io.hpcbridge.backend.Submission> out = b.submitNew(plans);
      // 49 pods to ship (sbatch refuses one), spread over four channels: four commands.
      assertThat(t.calls.get() - before).as("remote calls for 50 pods").isEqualTo(4);

      assertThat(out)
          .extracting(io.hpcbridge.backend.Submission::pod)
          .containsExactlyElementsOf(plans.stream().map(PodPlan::pod).toList());
      assertThat(out.get(7).error())
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> assertThat(e.reason()).isEqualTo("UnknownAnnotation"));
      assertThat(out.get(23).error())
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> {
                assertThat(e.reason()).isEqualTo("SlurmRejected");
                assertThat(e.getMessage()).contains("invalid partition specified: nope");
              });
      assertThat(cluster.loginExec("test -e ~/pods/" + plans.get(23).pod().uid()).getExitCode())
          .isNotZero();
      // Each job is its own pod's: its comment names the pod, its id is in the pod's directory.
      Map<String, String> comments = new LinkedHashMap<>();
      for (String l :
          cluster.loginExec("squeue --me -h -o '%i %k'").getStdout().strip().split("\n")) {
        String[] f = l.strip().split(" ", 2);
        comments.put(f[0], f.length > 1 ? f[1] : "");
      }
      List<Handle> handles = new ArrayList<>();
      for (int i = 0; i < plans.size(); i++) {
        if (i == 7 || i == 23) {
          continue;
        }
        io.hpcbridge.backend.Submission s = out.get(i);
        assertThat(s.ok()).as("pod %d: %s", i, s.error()).isTrue();
        String jobId = s.handle().id().split("/")[0];
        assertThat(s.handle().id()).endsWith("/" + plans.get(i).pod().uid());
        assertThat(comments.get(jobId)).endsWith("/many-" + i + "/" + plans.get(i).pod().uid());
        assertThat(
                cluster
                    .loginExec("cat ~/pods/" + plans.get(i).pod().uid() + "/submitted")
                    .getStdout())
            .isEqualTo(jobId + "\n");
        handles.add(s.handle());
      }
      assertThat(handles).doesNotHaveDuplicates().hasSize(48);
      assertThat(b.find(plans.get(3).pod())).contains(out.get(3).handle());

      // A job that is already gone is no failure; a malformed handle is.
      Handle gone = new SlurmHandle("999999", uid()).handle();
      Handle bad = new Handle("slurm", "x/y");
      List<Handle> all = new ArrayList<>(handles);
      all.add(gone);
      all.add(bad);
      long cancelFrom = t.calls.get();
      Map<Handle, BackendException> failed = b.cancelAll(all, Duration.ofSeconds(2));
      assertThat(failed).containsOnlyKeys(bad);
      assertThat(t.calls.get() - cancelFrom).as("scancel of 49 jobs").isEqualTo(1);
      // The delayed SIGKILL: one more command for the group.
      await().atMost(Duration.ofSeconds(30)).until(() -> t.calls.get() - cancelFrom >= 2);
      // ... and only one: no further command for the next second.
      await()
          .during(Duration.ofSeconds(1))
          .atMost(Duration.ofSeconds(2))
          .until(() -> t.calls.get() - cancelFrom == 2);
      Map<Handle, Observed> seen = b.observe(handles);
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofSeconds(1))
          .until(
              () ->
                  b.observe(handles).values().stream()
                      .allMatch(o -> o.phase() == Phase.FAILED && "Cancelled".equals(o.reason())));
      assertThat(seen).hasSize(48);
    }
  }

  /**
   * Not a test of speed (no figure is asserted): prints how long 200 pods take through submitNew
   * and cancelAll next to a raw sbatch loop and one scancel in a single SSH command. Both sides'
   * jobs wait for a begin time an hour away (the bridge's through a flavor), so that neither runs
   * jobs on the test host's few CPUs while the other submits: the figures are Slurm's submission
   * rate, not job start-up.
   */
  @Test
  void submitNewAndCancelAllNextToRawSbatchAndScancel() throws Exception {
    Map<String, Object> settings = new LinkedHashMap<>(cluster.settings());
    settings.put("flavors", Map.of("held", Map.of("flags", List.of("--begin=now+3600"))));
    settings.put("defaultFlavor", "held");
    SlurmConfig cfg = SlurmConfig.parse(settings);
    Duration timeout = Duration.ofSeconds(300);
    SshTransport t = new SshTransport(cfg.ssh(), timeout);
    try (SlurmBackend b = new SlurmBackend(cfg, t)) {
      int n = 200;
      String loop =
          "for i in $(seq " + n + "); do sbatch --parsable --begin=now+3600 --wrap=true; done";
      // Both warmed up: the raw loop's first sbatch, the bridge's renderer and first batch.
      t.exec("sbatch --parsable --wrap=true | xargs scancel", null);
      List<PodPlan> warm = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        warm.add(pod("warm-" + i).uid(uid()).main(sh("main", "true")).build());
      }
      b.cancelAll(
          b.submitNew(warm).stream().map(io.hpcbridge.backend.Submission::handle).toList(),
          Duration.ZERO);
      // Each side on a quiet cluster (the other's jobs cancelled first), in both orders.
      for (int round = 1; round <= 2; round++) {
        double[] raw = {0, 0};
        double[] bridge = {0, 0};
        double sameScript = 0;
        List<String> cancelled = new ArrayList<>();
        for (int side = 0; side < 2; side++) {
          if ((side == 0) == (round == 1)) {
            long t0 = System.nanoTime();
            String rawIds = t.exec(loop, null).stdout();
            raw[0] = (System.nanoTime() - t0) / 1e9;
            List<String> ids = List.of(rawIds.strip().split("\\s+"));
            assertThat(ids).hasSize(n).allMatch(i -> i.matches("\\d+"));
            t0 = System.nanoTime();
            t.exec("scancel " + String.join(" ", ids), null);
            raw[1] = (System.nanoTime() - t0) / 1e9;
            cancelled.addAll(ids);
          } else {
            List<PodPlan> plans = new ArrayList<>();
            for (int i = 0; i < n; i++) {
              plans.add(pod("rate-" + i).uid(uid()).main(sh("main", "true")).build());
            }
            long t0 = System.nanoTime();
            List<io.hpcbridge.backend.Submission> out = b.submitNew(plans);
            bridge[0] = (System.nanoTime() - t0) / 1e9;
            assertThat(out).allMatch(io.hpcbridge.backend.Submission::ok);
            List<Handle> handles =
                out.stream().map(io.hpcbridge.backend.Submission::handle).toList();
            t0 = System.nanoTime();
            assertThat(b.cancelAll(handles, Duration.ZERO)).isEmpty();
            bridge[1] = (System.nanoTime() - t0) / 1e9;
            for (Handle h : handles) {
              cancelled.add(SlurmHandle.of(h).jobId());
            }
            // What sbatch alone takes for a pod's own script (bigger than --wrap=true's).
            String script = "~/pods/" + plans.get(0).pod().uid() + "/job.sh";
            t0 = System.nanoTime();
            String same =
                t.exec(
                        "for i in $(seq " + n + "); do sbatch --parsable < " + script + "; done",
                        null)
                    .stdout();
            sameScript = (System.nanoTime() - t0) / 1e9;
            t.exec("scancel " + same.strip().replace('\n', ' '), null);
            cancelled.addAll(List.of(same.strip().split("\\s+")));
          }
          // The next side starts on a quiet cluster: none of these jobs left in the queue.
          await()
              .atMost(Duration.ofSeconds(120))
              .pollInterval(Duration.ofMillis(500))
              .until(
                  () -> {
                    List<String> queued =
                        List.of(t.exec("squeue --me -h -o %i", null).stdout().split("\\s+"));
                    return cancelled.stream().noneMatch(queued::contains);
                  });
        }
        System.out.printf(
            "RATE round %d, submit %d pods: raw sbatch loop %.2f s (%.1f/s), submitNew %.2f s"
                + " (%.1f/s), ratio %.2f%n",
            round, n, raw[0], n / raw[0], bridge[0], n / bridge[0], raw[0] / bridge[0]);
        System.out.printf(
            "RATE round %d, raw sbatch loop of a pod's own script: %.2f s (%.1f/s)%n",
            round, sameScript, n / sameScript);
        System.out.printf(
            "RATE round %d, cancel %d jobs: raw scancel %.2f s, cancelAll %.2f s, ratio %.2f%n",
            round, n, raw[1], bridge[1], raw[1] / bridge[1]);
      }
    }
  }

  @Test
  void logReadsCannotTakeTheChannelsObserveSubmitAndCancelNeed() throws Exception {
    SlurmConfig cfg = SlurmConfig.parse(cluster.settings());
    SshTransport t = new SshTransport(cfg.ssh(), cfg.commandTimeout());
    ExecutorService readers = Executors.newFixedThreadPool(10);
    try (SlurmBackend b = new SlurmBackend(cfg, t)) {
      // Ten slow log reads at once would hold every session sshd allows (MaxSessions 10): six get
      // a channel, four wait for one.
      List<Future<Transport.Result>> reads = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        reads.add(readers.submit(() -> t.exec("sleep 15; echo read", null, Transport.Lane.LOGS)));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> sessions() >= 6);
      // The bridge's own work goes through on the channels kept for it, long before they end.
      Handle h = b.submit(pod("meanwhile").uid(uid()).main(sh("main", "sleep 300")).build());
      assertThat(b.observe(List.of(h))).containsKey(h);
      b.cancel(h, Duration.ZERO);
      assertThat(reads).noneMatch(Future::isDone);
      assertThat(sessions()).isEqualTo(6);
      for (Future<Transport.Result> f : reads) {
        assertThat(f.get(120, TimeUnit.SECONDS).stdout()).isEqualTo("read\n");
      }
    } finally {
      readers.shutdownNow();
    }
  }

  /** The sleeping commands of account hpc on the login node: one per open session. */
  static int sessions() throws Exception {
    return (int) cluster.loginExec("pgrep -u hpc -x sleep || true").getStdout().lines().count();
  }

  @Test
  void followEndsWhenThePodIsGoneOrTheReaderClosesAndLeavesNoThread() throws Exception {
    Handle h =
        backend.submit(pod("chatty").uid(uid()).main(sh("main", "echo start; sleep 300")).build());
    awaitPhase(h, Phase.RUNNING);
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> logs(h, "main", LogOptions.ALL).contains("start"));
    int threads = Thread.activeCount();
    LogOptions follow = new LogOptions(true, null, false, null, null, null, false);
    // The reader goes away: closing the stream ends the follow.
    InputStream in = backend.logs(h, "main", follow);
    byte[] buf = new byte[64];
    assertThat(new String(buf, 0, in.read(buf), StandardCharsets.UTF_8)).isEqualTo("start\n");
    var blocked = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(in, buf));
    in.close();
    assertThat(blocked.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(-1);
    // The pod goes away: its job is cancelled and its directory removed; the follow ends.
    InputStream again = backend.logs(h, "main", follow);
    assertThat(again.read(buf)).isPositive();
    backend.cancel(h, Duration.ZERO);
    awaitPhase(h, Phase.FAILED, Phase.SUCCEEDED);
    backend.release(h);
    cluster.loginExec("rm -rf ~/pods/" + h.id().split("/")[1]);
    assertThat(again.read(buf)).isEqualTo(-1);
    await()
        .pollInSameThread()
        .atMost(Duration.ofSeconds(10))
        .until(() -> Thread.activeCount() <= threads + 1); // + the pool thread of supplyAsync
  }

  @Test
  void aCommandMayPrintMegabytesWithinItsTimeout() throws Exception {
    // Read through JSch's pipe, 4 MiB took two minutes (a second per 32 KiB) and timed out.
    SlurmConfig cfg = SlurmConfig.parse(cluster.settings());
    try (SshTransport t = new SshTransport(cfg.ssh(), Duration.ofSeconds(30))) {
      assertThat(t.exec("head -c 4194304 /dev/zero | tr '\\0' x", null).stdout())
          .hasSize(4 << 20)
          .matches("x+");
    }
  }

  @Test
  void aChangedHostKeyIsRefusedWithAClearError() throws Exception {
    Path wrong = Files.createTempFile("known_hosts", "");
    Files.writeString(
        wrong,
        "["
            + cluster.host()
            + "]:"
            + cluster.port()
            + " ssh-ed25519"
            + " AAAAC3NzaC1lZDI1NTE5AAAAIHh2SmS5Gu7tVDUzJm26F/PZyWJ9h1zIKlAn7ZBRgsMG\n");
    Map<String, Object> s = new LinkedHashMap<>(cluster.settings());
    @SuppressWarnings("unchecked")
    Map<String, Object> ssh = new LinkedHashMap<>((Map<String, Object>) s.get("ssh"));
    ssh.put("knownHosts", wrong.toString());
    s.put("ssh", ssh);
    SlurmConfig cfg = SlurmConfig.parse(s);
    try (SshTransport t = new SshTransport(cfg.ssh(), Duration.ofSeconds(10))) {
      assertThatThrownBy(() -> t.exec("true", null))
          .isInstanceOf(BackendException.Transient.class)
          .hasMessageContaining("does NOT match");
    }
  }

  static int read(InputStream in, byte[] buf) {
    try {
      return in.read(buf);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
