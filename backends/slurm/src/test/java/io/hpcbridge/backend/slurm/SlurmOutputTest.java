package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.slurm.SlurmOutput.Job;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SlurmOutputTest {
  static String fixture(String name) throws Exception {
    try (var in = SlurmOutputTest.class.getResourceAsStream("/slurm-output/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static Map<String, Job> byId(List<Job> jobs) {
    return jobs.stream().collect(Collectors.toMap(Job::id, Function.identity()));
  }

  static final PodFiles NO_FILES = files(Map.of("manifest", "init setup\nmain main"));

  @Test
  void squeueRowsFromTheRealCluster() throws Exception {
    Map<String, Job> jobs = byId(SlurmOutput.squeue(fixture("squeue-states.txt")));
    assertThat(jobs).hasSize(10);
    assertThat(jobs.get("1"))
        .extracting(Job::name, Job::state, Job::nodes, Job::reason)
        .containsExactly("ok", "COMPLETED", "c1", null);
    assertThat(jobs.get("1").start()).isEqualTo(Instant.ofEpochSecond(1795559295));
    assertThat(jobs.get("2"))
        .extracting(Job::state, Job::reason)
        .containsExactly("FAILED", "NonZeroExitCode");
    assertThat(jobs.get("6"))
        .extracting(Job::state, Job::reason, Job::start)
        .containsExactly("PENDING", "JobHeldUser", null);
    assertThat(jobs.get("7"))
        .extracting(Job::state, Job::reason)
        .containsExactly("TIMEOUT", "TimeLimit");
    assertThat(jobs.get("11")).extracting(Job::state, Job::nodes).containsExactly("CANCELLED", "");

    Map<String, Job> pending = byId(SlurmOutput.squeue(fixture("squeue-pending.txt")));
    assertThat(pending.get("18"))
        .extracting(Job::state, Job::reason, Job::start)
        .containsExactly("PENDING", "Resources", null);
    assertThat(pending.get("19").reason()).isEqualTo("Priority");
    assertThat(pending.get("16"))
        .extracting(Job::state, Job::nodes, Job::end)
        .containsExactly("RUNNING", "c1", null);
  }

  @Test
  void ownerAndCommentAreParsedAndACommentIsTheRestOfTheLine() {
    Job j =
        SlurmOutput.squeue(
                "5|hpcb-u|RUNNING|c1|1795559294|1795559298|NONE|None|hpc|hpc-bridge:ns/p/u\n"
                    + "6|hpcb-u|PENDING||1795559294|N/A|N/A|Priority|eve|x|y z\n"
                    + "7|hpcb-u|PENDING||1795559294|N/A|N/A|Priority|eve|(null)\n")
            .get(0);
    assertThat(j).extracting(Job::user, Job::comment).containsExactly("hpc", "hpc-bridge:ns/p/u");
    Map<String, Job> all =
        byId(
            SlurmOutput.squeue(
                "6|hpcb-u|PENDING||1795559294|N/A|N/A|Priority|eve|x|y z\n"
                    + "7|hpcb-u|PENDING||1795559294|N/A|N/A|Priority|eve|(null)\n"));
    assertThat(all.get("6").comment()).isEqualTo("x|y z");
    assertThat(all.get("7").comment()).isNull();
    Job acct =
        SlurmOutput.sacct(
                "42|hpcb-x|COMPLETED|c1|1795559294|1795559298|1795559311|0:0|None|hpc|c|d\n")
            .get(0);
    assertThat(acct).extracting(Job::user, Job::comment).containsExactly("hpc", "c|d");
    Job sc =
        SlurmOutput.scontrol(
                "JobId=9 JobName=hpcb-x UserId=hpc(1000) GroupId=hpc(1000) JobState=RUNNING"
                    + " Comment=hpc-bridge:ns/p/u ExitCode=0:0\n"
                    + "JobId=1;rm JobName=x JobState=RUNNING\n")
            .get(0);
    assertThat(sc).extracting(Job::user, Job::comment).containsExactly("hpc", "hpc-bridge:ns/p/u");
    assertThat(SlurmOutput.scontrol("JobId=1;rm JobName=x JobState=RUNNING\n")).isEmpty();
    // A job id too long for a number is not a job id.
    assertThat(SlurmOutput.squeue("1234567890123456789012|x|RUNNING|||||None\n")).isEmpty();
  }

  @Test
  void scontrolRecordsFromTheRealCluster() throws Exception {
    Map<String, Job> jobs = byId(SlurmOutput.scontrol(fixture("scontrol-show-job.txt")));
    assertThat(jobs.get("2"))
        .extracting(Job::state, Job::exitCode, Job::signal, Job::nodes)
        .containsExactly("FAILED", 3, 0, "c2");
    assertThat(jobs.get("3"))
        .extracting(Job::state, Job::exitCode)
        .containsExactly("CANCELLED", 143);
    assertThat(jobs.get("7"))
        .extracting(Job::state, Job::reason)
        .containsExactly("TIMEOUT", "TimeLimit");
    assertThat(jobs.get("6"))
        .extracting(Job::state, Job::reason, Job::nodes)
        .containsExactly("PENDING", "JobHeldUser", "");
  }

  @Test
  void sacctRows() {
    String out =
        "42|hpcb-x|CANCELLED by 1000|c1|1795559294|1795559298|1795559311|0:15|None\n"
            + "43|hpcb-y|OUT_OF_MEMORY|c2|1795559294|1795559298|1795559311|0:125|OutOfMemory\n"
            + "44|hpcb-z|PENDING|None assigned|1795559294|Unknown|Unknown|0:0|Priority\n";
    Map<String, Job> jobs = byId(SlurmOutput.sacct(out));
    assertThat(jobs.get("42")).extracting(Job::state, Job::signal).containsExactly("CANCELLED", 15);
    assertThat(jobs.get("43").state()).isEqualTo("OUT_OF_MEMORY");
    assertThat(jobs.get("44"))
        .extracting(Job::nodes, Job::start, Job::reason)
        .containsExactly("", null, "Priority");
  }

  @Test
  void sinfoTotalsCountEachNodeOnceAndParseGres() throws Exception {
    assertThat(SlurmOutput.sinfoTotals(fixture("sinfo-nodes.txt"))).containsExactly(4, 2000, 0, 2);
    String gpuNodes =
        "g1|64|512000|gpu:a100:4(S:0-1)\n"
            + "g2|64|512000|gpu:a100:2,gpu:v100:1,mps:400\n"
            + "g1|64|512000|gpu:a100:4(S:0-1)\n"
            + "g3|32|256000|gpu:8\n";
    assertThat(SlurmOutput.sinfoTotals(gpuNodes)).containsExactly(160, 1280000, 15, 3);
  }

  @Test
  void pendingCarriesSlurmsReasonToEveryContainer() throws Exception {
    Job job = byId(SlurmOutput.squeue(fixture("squeue-pending.txt"))).get("18");
    Observed o = StateMapper.map("18", job, NO_FILES);
    assertThat(o.phase()).isEqualTo(Phase.PENDING);
    assertThat(o.containers())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.state()).isEqualTo(Observed.State.WAITING);
              assertThat(c.reason()).isEqualTo("Resources");
              assertThat(c.message()).isEqualTo("Slurm job 18 is PENDING: Resources");
            });
    assertThat(o.initContainers())
        .singleElement()
        .extracting(Observed.ContainerStatus::reason)
        .isEqualTo("Resources");
  }

  @Test
  void terminalStatesMapToPhasesAndReasons() throws Exception {
    Map<String, Job> jobs = byId(SlurmOutput.squeue(fixture("squeue-states.txt")));
    assertThat(StateMapper.map("1", jobs.get("1"), NO_FILES).phase()).isEqualTo(Phase.SUCCEEDED);
    assertThat(StateMapper.map("2", jobs.get("2"), NO_FILES))
        .extracting(Observed::phase, Observed::reason)
        .containsExactly(Phase.FAILED, "Error");
    assertThat(StateMapper.map("7", jobs.get("7"), NO_FILES))
        .extracting(Observed::phase, Observed::reason)
        .containsExactly(Phase.FAILED, "DeadlineExceeded");
    assertThat(StateMapper.map("3", jobs.get("3"), NO_FILES).reason()).isEqualTo("Cancelled");
    assertThat(
            StateMapper.map(
                    "16",
                    byId(SlurmOutput.squeue(fixture("squeue-pending.txt"))).get("16"),
                    NO_FILES)
                .phase())
        .isEqualTo(Phase.RUNNING);
    // States this small cluster cannot produce, in squeue's own format.
    for (var e :
        Map.of(
                "OUT_OF_MEMORY",
                "OOMKilled",
                "NODE_FAIL",
                "NodeFail",
                "PREEMPTED",
                "Preempted",
                "BOOT_FAIL",
                "BootFail",
                "DEADLINE",
                "Deadline")
            .entrySet()) {
      Job j =
          SlurmOutput.squeue("9|hpcb-x|" + e.getKey() + "|c1|1795559294|1795559298|1795559311|None")
              .get(0);
      assertThat(StateMapper.map("9", j, NO_FILES))
          .extracting(Observed::phase, Observed::reason)
          .containsExactly(Phase.FAILED, e.getValue());
    }
    for (String s : List.of("CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "SUSPENDED")) {
      Job j =
          SlurmOutput.squeue("9|hpcb-x|" + s + "|c1|1795559294|1795559298|1795559311|None").get(0);
      assertThat(StateMapper.map("9", j, NO_FILES))
          .extracting(Observed::phase, Observed::reason)
          .containsExactly(Phase.PENDING, StateMapper.camel(s));
    }
    assertThat(
            StateMapper.map(
                    "9", SlurmOutput.squeue("9|x|COMPLETING|c1|1|1|1|None").get(0), NO_FILES)
                .phase())
        .isEqualTo(Phase.RUNNING);
  }

  @Test
  void wrapperFilesGiveContainerStatesExitCodesAndRestarts() throws Exception {
    Map<String, PodFiles> files = PodFiles.parse(fixture("pod-files.txt"));
    assertThat(files).containsOnlyKeys("u-1", "u-2");
    PodFiles running = files.get("u-1");
    assertThat(running.node()).isEqualTo("c2");
    Observed o =
        StateMapper.map(
            "21",
            SlurmOutput.squeue("21|hpcb-u-1|RUNNING|c1|1795559294|1795559298|NONE|None").get(0),
            running);
    assertThat(o.phase()).isEqualTo(Phase.RUNNING);
    assertThat(o.hostIP()).isEqualTo(running.nodeIp());
    assertThat(o.initContainers())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.state()).isEqualTo(Observed.State.TERMINATED);
              assertThat(c.exitCode()).isZero();
              assertThat(c.reason()).isEqualTo("Completed");
            });
    assertThat(o.containers())
        .extracting(Observed.ContainerStatus::name, Observed.ContainerStatus::state)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("main", Observed.State.RUNNING),
            org.assertj.core.groups.Tuple.tuple("side", Observed.State.TERMINATED));

    // Slurm forgot the job; the wrapper's done file decides.
    PodFiles done = files.get("u-2");
    Observed gone = StateMapper.map("22", null, done);
    assertThat(gone.phase()).isEqualTo(Phase.FAILED);
    Observed.ContainerStatus flaky = gone.containers().get(0);
    assertThat(flaky.exitCode()).isEqualTo(3);
    assertThat(flaky.restartCount()).isEqualTo(1);
    assertThat(flaky.lastTermination().exitCode()).isEqualTo(3);
    assertThat(StateMapper.map("23", null, PodFiles.NONE).phase()).isEqualTo(Phase.UNKNOWN);
    assertThat(StateMapper.map("24", null, NO_FILES))
        .extracting(Observed::phase, Observed::reason)
        .containsExactly(Phase.FAILED, "JobLost");
  }

  @Test
  void whileTheJobRunsTheKubeletsRulesGiveThePhaseButNeverAnEnd() {
    Job running = SlurmOutput.squeue("30|hpcb-u|RUNNING|c1|1795559294|1795559298|NONE|None").get(0);
    // An init container still runs: the pod is Pending, like under a kubelet.
    PodFiles initRunning =
        files(
            Map.of(
                "manifest", "init setup\nmain main\npolicy Never",
                "c/setup/start", "1795559298"));
    assertThat(initRunning.policy()).isEqualTo(io.hpcbridge.backend.PodPlan.RestartPolicy.NEVER);
    Observed o = StateMapper.map("30", running, initRunning);
    assertThat(o.phase()).isEqualTo(Phase.PENDING);
    assertThat(o.containers().get(0).reason()).isEqualTo("PodInitializing");
    // Every container exited but Slurm still holds the job (the wrapper waits for a TERM to be
    // judged by Slurm): Running until the job itself ends.
    PodFiles allExited =
        files(
            Map.of(
                "manifest", "main main\npolicy Never",
                "c/main/start", "1795559298",
                "c/main/exit", "0 1795559299"));
    assertThat(StateMapper.map("30", running, allExited).phase()).isEqualTo(Phase.RUNNING);
    // A job written before the manifest named the policy: a running job is a running pod.
    PodFiles old = files(Map.of("manifest", "init setup\nmain main"));
    assertThat(old.policy()).isNull();
    assertThat(StateMapper.map("30", running, old).phase()).isEqualTo(Phase.RUNNING);
  }

  @Test
  void aJobSlurmForgotIsJudgedByItsContainersExitCodes() {
    PodFiles ok =
        files(
            Map.of(
                "manifest", "init setup\nmain main\npolicy OnFailure",
                "c/setup/exit", "0 1795559298",
                "c/main/exit", "0 1795559299",
                "done", "0 1795559299"));
    assertThat(StateMapper.map("31", null, ok).phase()).isEqualTo(Phase.SUCCEEDED);
    PodFiles initFailed =
        files(
            Map.of(
                "manifest", "init setup\nmain main\npolicy Never",
                "c/setup/exit", "2 1795559298",
                "done", "2 1795559299"));
    Observed o = StateMapper.map("31", null, initFailed);
    assertThat(o.phase()).isEqualTo(Phase.FAILED);
    assertThat(o.reason()).isEqualTo("Error");
    assertThat(o.containers().get(0).state()).isEqualTo(Observed.State.WAITING);
  }

  static PodFiles files(Map<String, String> contents) {
    return PodFiles.of(contents, Map.of());
  }
}
