package io.hpcbridge.bridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.backend.slurm.SlurmCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real bridge process with {@code backend: slurm} against the real Kubernetes control plane and
 * a real four-container Slurm cluster ({@link SlurmCluster}: ctl, compute nodes c1 and c2, a login
 * node). The bridge reaches the cluster only over SSH to the login node (generated ed25519 key,
 * host key verified against a known_hosts file); the tests look at Slurm with {@code docker exec}
 * on the login node, whose {@code /home} the compute nodes share.
 *
 * <p>One cluster and one bridge for the class; the tests run in order. The deadline pod (a minute
 * or more of Slurm time) is started by the first test, where it fills one compute node, and checked
 * by the last, so that minute overlaps the other tests.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SlurmBridgeIT {
  static final String NODE = "it-slurm";
  static final Duration LONG = Duration.ofSeconds(150);
  static KubeControlPlane kube;
  static KubernetesClient client;
  static SlurmCluster cluster;
  static BridgeProcess bridge;
  static String ns;
  static long startedAt;
  @TempDir static Path tmp;

  @BeforeAll
  static void up() throws Exception {
    startedAt = System.nanoTime();
    kube = KubeControlPlane.get();
    client = kube.client();
    cluster = SlurmCluster.start();
    System.out.printf("Slurm cluster up in %.1f s%n", (System.nanoTime() - startedAt) / 1e9);
    // JSON is YAML: the fixture's settings (SSH host, port, key, known_hosts, work root…) as-is.
    String yaml =
        // pods may name partition "nope" (Slurm has none such), no other
        "policy:\n  slurm:\n    partitions: [nope]\n"
            + "backends:\n  slurm: "
            + new ObjectMapper().writeValueAsString(cluster.settings());
    bridge =
        new BridgeProcess(
                NODE, "slurm", tmp.resolve("bridge"), kube.kubeconfig(), kube.caCert(), yaml)
            .start();
    ns = "it-slurm-" + java.util.UUID.randomUUID().toString().substring(0, 5);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
        .create();
    awaitNodeReady();
  }

  /**
   * The pod of {@link #aPodOverItsDeadlineFailsWithDeadlineExceeded}, created once. It takes both
   * CPUs of one compute node. Slurm enforces the deadline ({@code --time}, whole minutes, checked
   * every 30 s), so it ends 60–90 s later.
   */
  static synchronized void startDeadlinePod() {
    if (get("deadline") == null) {
      client
          .pods()
          .inNamespace(ns)
          .resource(
              wholeNode(pod("deadline", "echo started; sleep 600"))
                  .editSpec()
                  .withActiveDeadlineSeconds(60L)
                  .withTerminationGracePeriodSeconds(5L)
                  .endSpec()
                  .build())
          .create();
    }
  }

  /** Limits of both CPUs of a compute node (the limit becomes --cpus-per-task). */
  static PodBuilder wholeNode(PodBuilder b) {
    return b.editSpec()
        .editFirstContainer()
        .withNewResources()
        .withLimits(Map.of("cpu", new Quantity("2"), "memory", new Quantity("100Mi")))
        .endResources()
        .endContainer()
        .endSpec();
  }

  @AfterAll
  static void down() throws Exception {
    if (bridge != null) {
      bridge.stop();
      System.out.println("---- bridge log (tail) ----\n" + bridge.tail());
    }
    if (ns != null) {
      // No kubelet is left to finish a graceful deletion: remove the pods outright.
      client.pods().inNamespace(ns).withGracePeriod(0).delete();
      client.namespaces().withName(ns).delete();
    }
    if (cluster != null) {
      cluster.close();
    }
    System.out.printf("SlurmBridgeIT wall time %.1f s%n", (System.nanoTime() - startedAt) / 1e9);
  }

  static void awaitNodeReady() {
    await("node " + NODE + " Ready")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                Nodes.ready(client, NODE)
                    && !Nodes.hasTaint(client, NODE, "node.kubernetes.io/not-ready"));
  }

  static PodBuilder pod(String name, String script) {
    return ItPods.onNode(NODE, ns, name, "debian:bookworm", script);
  }

  static Pod get(String name) {
    return client.pods().inNamespace(ns).withName(name).get();
  }

  static String phase(String name) {
    Pod p = get(name);
    return p == null || p.getStatus() == null ? null : p.getStatus().getPhase();
  }

  static ContainerState state(String name) {
    Pod p = get(name);
    if (p == null
        || p.getStatus() == null
        || p.getStatus().getContainerStatuses() == null
        || p.getStatus().getContainerStatuses().isEmpty()) {
      return null;
    }
    return p.getStatus().getContainerStatuses().get(0).getState();
  }

  static String logs(String pod, String... flags) {
    List<String> args = new ArrayList<>(List.of("logs", "-n", ns, pod));
    args.addAll(List.of(flags));
    var r = kube.kubectl(60, args.toArray(String[]::new));
    assertThat(r.exitCode()).as(r.toString()).isZero();
    return r.stdout();
  }

  /** A command as user hpc on the login node (docker exec, not through the bridge). */
  static String slurm(String cmd) throws Exception {
    var r = cluster.loginExec(cmd);
    assertThat(r.getExitCode()).as(cmd + ": " + r.getStderr()).isZero();
    return r.getStdout();
  }

  /** One job as squeue shows it. */
  record SlurmJob(String id, String state, String node, String name, String comment) {}

  /** Every job Slurm still knows ({@code squeue -t all}; the cluster keeps ended jobs 300 s). */
  static List<SlurmJob> allJobs() throws Exception {
    List<SlurmJob> out = new ArrayList<>();
    for (String l : slurm("squeue -h -a -t all -o '%i|%T|%N|%j|%k'").split("\n")) {
      String[] f = l.split("\\|", 5);
      if (f.length == 5) {
        out.add(new SlurmJob(f[0], f[1], f[2], f[3], f[4]));
      }
    }
    return out;
  }

  /** The jobs whose name (hpcb-UID) or --comment (hpc-bridge:NAMESPACE/NAME/UID) is this pod's. */
  static List<SlurmJob> jobsOf(Pod pod) throws Exception {
    String uid = pod.getMetadata().getUid();
    String comment = "hpc-bridge:" + ns + "/" + pod.getMetadata().getName() + "/" + uid;
    return allJobs().stream()
        .filter(j -> j.name().equals("hpcb-" + uid) || j.comment().equals(comment))
        .toList();
  }

  @Test
  @Order(1)
  void aPodPendingOnResourcesShowsSlurmsReasonAndRunsOnceThereIsRoom() throws Exception {
    // Two pods that take both CPUs of a compute node each (the deadline pod is one), then one
    // that has to wait.
    startDeadlinePod();
    client
        .pods()
        .inNamespace(ns)
        .resource(
            wholeNode(pod("hog", "sleep 300"))
                .editSpec()
                .withTerminationGracePeriodSeconds(1L)
                .endSpec()
                .build())
        .create();
    await("deadline and hog Running")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> "Running".equals(phase("deadline")) && "Running".equals(phase("hog")));
    client.pods().inNamespace(ns).resource(pod("waiting", "echo finally ran").build()).create();
    await("waiting: container waiting with reason Resources")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () -> {
              ContainerState s = state("waiting");
              return s != null
                  && s.getWaiting() != null
                  && "Resources".equals(s.getWaiting().getReason());
            });
    assertThat(phase("waiting")).isEqualTo("Pending");
    assertThat(state("waiting").getWaiting().getMessage()).contains("PENDING: Resources");
    assertThat(jobsOf(get("waiting")))
        .singleElement()
        .satisfies(j -> assertThat(j.state()).isEqualTo("PENDING"));

    client.pods().inNamespace(ns).withName("hog").delete();
    await("waiting Succeeded")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> "Succeeded".equals(phase("waiting")));
    assertThat(logs("waiting")).isEqualTo("finally ran\n");
    await("hog gone").atMost(LONG).until(() -> get("hog") == null);
  }

  @Test
  @Order(2)
  void aJobWithThreeCompletionsRunsAsSlurmJobsOnTheComputeNodesAndKubectlLogsWork()
      throws Exception {
    String script = "echo on $(hostname); for i in 1 2 3 4; do echo line $i; sleep 1; done";
    Job job =
        new JobBuilder()
            .withNewMetadata()
            .withName("count")
            .withNamespace(ns)
            .endMetadata()
            .withNewSpec()
            .withCompletions(3)
            .withParallelism(2)
            .withBackoffLimit(0)
            .withTemplate(
                new PodTemplateSpecBuilder().withSpec(pod(null, script).build().getSpec()).build())
            .endSpec()
            .build();

    // Watch squeue on the login node while the Job runs: job name → the nodes it ran on, and the
    // most jobs of this Job running at once.
    String prefix = "hpc-bridge:" + ns + "/count-";
    Map<String, Set<String>> ranOn = new ConcurrentHashMap<>();
    AtomicInteger mostAtOnce = new AtomicInteger();
    ScheduledExecutorService watcher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "squeue-watcher");
              t.setDaemon(true);
              return t;
            });
    watcher.scheduleWithFixedDelay(
        () -> {
          try {
            int running = 0;
            for (String l :
                cluster
                    .loginExec("squeue -h -t running -o '%j|%T|%N|%k'")
                    .getStdout()
                    .split("\n")) {
              String[] f = l.split("\\|", 4);
              if (f.length == 4 && f[3].startsWith(prefix) && f[1].equals("RUNNING")) {
                ranOn.computeIfAbsent(f[0], k -> new TreeSet<>()).add(f[2]);
                running++;
              }
            }
            mostAtOnce.accumulateAndGet(running, Math::max);
          } catch (Exception e) {
            // next round
          }
        },
        0,
        300,
        TimeUnit.MILLISECONDS);
    client.batch().v1().jobs().inNamespace(ns).resource(job).create();
    try {
      String first = ItPods.runningPodOfJob(client, ns, "count", LONG);
      // -f follows the running container (its log file on the shared /home, read over SFTP) and
      // ends when the container ends.
      String followed = logs(first, "-f");
      assertThat(followed).matches("(?s)on c[12]\nline 1\nline 2\nline 3\nline 4\n");

      await("Job complete")
          .atMost(LONG)
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                Job j = client.batch().v1().jobs().inNamespace(ns).withName("count").get();
                return j.getStatus() != null
                    && Integer.valueOf(3).equals(j.getStatus().getSucceeded());
              });
    } finally {
      watcher.shutdownNow();
      watcher.awaitTermination(5, TimeUnit.SECONDS);
    }
    List<Pod> pods = client.pods().inNamespace(ns).withLabel("job-name", "count").list().getItems();
    assertThat(pods)
        .hasSize(3)
        .allSatisfy(p -> assertThat(p.getStatus().getPhase()).isEqualTo("Succeeded"));
    for (Pod p : pods) {
      assertThat(logs(p.getMetadata().getName())).matches("(?s)on c[12]\n.*line 4\n");
      assertThat(logs(p.getMetadata().getName(), "--tail=1")).isEqualTo("line 4\n");
      assertThat(ranOn)
          .as("squeue showed this pod's job running")
          .containsKey("hpcb-" + p.getMetadata().getUid());
    }
    assertThat(ranOn).hasSize(3);
    assertThat(ranOn.values())
        .allSatisfy(nodes -> assertThat(nodes).isNotEmpty().allMatch(n -> n.matches("c[12]")));
    assertThat(mostAtOnce.get()).as("jobs running at once (parallelism 2)").isEqualTo(2);
  }

  /**
   * Kubernetes 1.20 has no Indexed Jobs ({@code completionMode: Indexed} came in 1.21 as alpha and
   * is on by default from 1.22), so this test creates the pods the way the 1.22+ Job controller
   * does: annotation {@code batch.kubernetes.io/job-completion-index} and the env var {@code
   * JOB_COMPLETION_INDEX} from a fieldRef on that annotation. The bridge resolves the fieldRef and
   * the value reaches the process on the compute node.
   */
  @Test
  @Order(3)
  void indexedJobPodsSeeTheirCompletionIndex() throws Exception {
    String key = "batch.kubernetes.io/job-completion-index";
    for (int i = 0; i < 3; i++) {
      Pod p =
          pod("indexed-" + i, "echo index=$JOB_COMPLETION_INDEX on $(hostname)")
              .editMetadata()
              .addToAnnotations(key, Integer.toString(i))
              .endMetadata()
              .editSpec()
              .editFirstContainer()
              .addNewEnv()
              .withName("JOB_COMPLETION_INDEX")
              .withNewValueFrom()
              .withNewFieldRef()
              .withFieldPath("metadata.annotations['" + key + "']")
              .endFieldRef()
              .endValueFrom()
              .endEnv()
              .endContainer()
              .endSpec()
              .build();
      client.pods().inNamespace(ns).resource(p).create();
    }
    for (int i = 0; i < 3; i++) {
      String name = "indexed-" + i;
      await(name + " Succeeded")
          .atMost(LONG)
          .pollInterval(Duration.ofMillis(500))
          .until(() -> "Succeeded".equals(phase(name)));
      assertThat(logs(name)).matches("index=" + i + " on c[12]\n");
    }
  }

  @Test
  @Order(4)
  void aPodAskingForAMissingPartitionFailsWithSbatchsMessageInAWarningEvent() throws Exception {
    client
        .pods()
        .inNamespace(ns)
        .resource(
            pod("nopart", "echo never")
                .editMetadata()
                .addToAnnotations("slurm.hpc-bridge.io/partition", "nope")
                .endMetadata()
                .build())
        .create();
    await("nopart Failed")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> "Failed".equals(phase("nopart")));
    Pod p = get("nopart");
    assertThat(p.getStatus().getReason()).isEqualTo("SlurmRejected");
    assertThat(p.getStatus().getMessage()).contains("invalid partition specified: nope");
    await("Warning event")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(client.v1().events().inNamespace(ns).list().getItems())
                    .anySatisfy(
                        e -> {
                          assertThat(e.getInvolvedObject().getName()).isEqualTo("nopart");
                          assertThat(e.getType()).isEqualTo("Warning");
                          assertThat(e.getReason()).isEqualTo("SlurmRejected");
                          assertThat(e.getMessage()).contains("invalid partition specified: nope");
                        }));
    assertThat(jobsOf(p)).isEmpty();
  }

  @Test
  @Order(4)
  void aPartitionThePolicyDoesNotListIsRefusedBeforeSlurmIsAsked() throws Exception {
    client
        .pods()
        .inNamespace(ns)
        .resource(
            pod("debugpart", "echo never")
                .editMetadata()
                .addToAnnotations("slurm.hpc-bridge.io/partition", "debug")
                .endMetadata()
                .build())
        .create();
    await("debugpart Failed")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> "Failed".equals(phase("debugpart")));
    Pod p = get("debugpart");
    assertThat(p.getStatus().getReason()).isEqualTo("PolicyViolation");
    assertThat(p.getStatus().getMessage())
        .contains("partition: debug is not allowed", "policy.slurm.partitions allows nope");
    assertThat(jobsOf(p)).isEmpty();
  }

  @Test
  @Order(5)
  void deletingARunningPodCancelsItsJobAfterSigterm() throws Exception {
    // The container writes its marker into the shared /home, which the test reads on the login
    // node.
    Pod created =
        client
            .pods()
            .inNamespace(ns)
            .resource(
                pod(
                        "graceful",
                        "trap 'echo TERM > $HOME/term-$POD_UID; exit 0' TERM; echo ready; while :;"
                            + " do sleep 1; done")
                    .editSpec()
                    .withTerminationGracePeriodSeconds(30L)
                    .editFirstContainer()
                    .addNewEnv()
                    .withName("POD_UID")
                    .withNewValueFrom()
                    .withNewFieldRef()
                    .withFieldPath("metadata.uid")
                    .endFieldRef()
                    .endValueFrom()
                    .endEnv()
                    .endContainer()
                    .endSpec()
                    .build())
            .create();
    String uid = created.getMetadata().getUid();
    await("graceful Running and ready")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> "Running".equals(phase("graceful")) && logs("graceful").contains("ready"));
    assertThat(jobsOf(created)).hasSize(1);
    SlurmJob job = jobsOf(created).get(0);
    assertThat(job.state()).isEqualTo("RUNNING");
    assertThat(job.node()).matches("c[12]");

    long t0 = System.nanoTime();
    client.pods().inNamespace(ns).withName("graceful").delete();
    await("graceful gone")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> get("graceful") == null);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);

    assertThat(slurm("scontrol -o show job " + job.id()))
        .contains("JobName=hpcb-" + uid + " ")
        .contains("JobState=CANCELLED ");
    assertThat(slurm("cat ~/term-" + uid)).isEqualTo("TERM\n");
    // It exited on TERM: the bridge did not wait out the 30 s grace period.
    assertThat(seconds).isLessThan(25);
  }

  @Test
  @Order(6)
  void aBridgeKilledBetweenSubmitAndHandleLeavesExactlyOneSlurmJob() throws Exception {
    bridge.stop();
    // after-submit: the process halts (no shutdown hooks) once sbatch returned a job id and before
    // the handle is in the state file — the window a resumed bridge must not submit twice.
    bridge.start(Map.of("HPC_BRIDGE_FAILPOINTS", "after-submit"));
    awaitNodeReady();
    Pod created =
        client
            .pods()
            .inNamespace(ns)
            .resource(pod("resumed", "echo resumed on $(hostname); sleep 2").build())
            .create();
    await("bridge halted at the failpoint")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(300))
        .until(() -> !bridge.alive());
    assertThat(bridge.log()).contains("failpoint after-submit: halting");
    assertThat(jobsOf(created)).hasSize(1);

    bridge.start();
    await("resumed Succeeded")
        .atMost(LONG)
        .pollInterval(Duration.ofMillis(500))
        .until(() -> "Succeeded".equals(phase("resumed")));
    assertThat(logs("resumed")).matches("resumed on c[12]\n");
    // Counted both ways: by job name (hpcb-UID) and by --comment (namespace/name/uid).
    String uid = created.getMetadata().getUid();
    List<SlurmJob> all = allJobs();
    assertThat(all)
        .filteredOn(j -> j.name().equals("hpcb-" + uid))
        .singleElement()
        .satisfies(j -> assertThat(j.state()).isEqualTo("COMPLETED"));
    assertThat(all)
        .filteredOn(j -> j.comment().equals("hpc-bridge:" + ns + "/resumed/" + uid))
        .hasSize(1);
  }

  @Test
  @Order(7)
  void aPodOverItsDeadlineFailsWithDeadlineExceeded() throws Exception {
    startDeadlinePod(); // normally created by the first test, a minute ago
    await("deadline Failed")
        .atMost(LONG)
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> "Failed".equals(phase("deadline")));
    Pod p = get("deadline");
    assertThat(p.getStatus().getReason()).isEqualTo("DeadlineExceeded");
    assertThat(state("deadline").getTerminated()).isNotNull();
    assertThat(logs("deadline")).isEqualTo("started\n");
    assertThat(jobsOf(p))
        .singleElement()
        .satisfies(j -> assertThat(j.state()).isEqualTo("TIMEOUT"));
  }
}
