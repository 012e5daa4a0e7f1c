package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.ContainerStatus;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPhaseRules;
import io.hpcbridge.backend.slurm.PodFiles.ContainerFiles;
import io.hpcbridge.backend.slurm.SlurmOutput.Job;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Slurm's view of a job plus the wrapper's files → {@link Observed}.
 *
 * <p>PENDING, CONFIGURING, REQUEUED, REQUEUE_FED, REQUEUE_HOLD, RESV_DEL_HOLD, SUSPENDED, STOPPED,
 * RESIZING → Pending, with Slurm's reason as each container's waiting reason. RUNNING, COMPLETING,
 * SIGNALING, STAGE_OUT → Running (Pending while init containers run). COMPLETED → Succeeded. FAILED
 * → Failed (Error). TIMEOUT → Failed, DeadlineExceeded. OUT_OF_MEMORY → Failed, OOMKilled.
 * CANCELLED, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, REVOKED, SPECIAL_EXIT → Failed with
 * Cancelled, NodeFail, Preempted, BootFail, Deadline, Revoked, SpecialExit: these job-level ends
 * are Slurm's. Where the containers decide (a running job, one Slurm forgot whose wrapper left its
 * {@code done} file) the kubelet's {@link PodPhaseRules} give the phase. A job Slurm no longer
 * knows whose wrapper left no {@code done} file failed with JobLost.
 */
public final class StateMapper {
  private StateMapper() {}

  static final Set<String> PENDING =
      Set.of(
          "PENDING",
          "CONFIGURING",
          "REQUEUED",
          "REQUEUE_FED",
          "REQUEUE_HOLD",
          "RESV_DEL_HOLD",
          "SUSPENDED",
          "STOPPED",
          "RESIZING",
          "POWER_UP_NODE");
  static final Set<String> RUNNING =
      Set.of("RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "UPDATE_DB");
  static final Map<String, String> FAILED_REASONS =
      Map.ofEntries(
          Map.entry("FAILED", "Error"),
          Map.entry("TIMEOUT", "DeadlineExceeded"),
          Map.entry("OUT_OF_MEMORY", "OOMKilled"),
          Map.entry("CANCELLED", "Cancelled"),
          Map.entry("NODE_FAIL", "NodeFail"),
          Map.entry("PREEMPTED", "Preempted"),
          Map.entry("BOOT_FAIL", "BootFail"),
          Map.entry("DEADLINE", "Deadline"),
          Map.entry("REVOKED", "Revoked"),
          Map.entry("SPECIAL_EXIT", "SpecialExit"));

  /**
   * @param jobId the job id of the handle
   * @param job Slurm's record, or null when no Slurm command knows the job any more
   * @param files the wrapper's files (may be empty)
   */
  public static Observed map(String jobId, Job job, PodFiles files) {
    String state = job == null ? null : job.state();
    String host = files.nodeIp() != null && !files.nodeIp().isEmpty() ? files.nodeIp() : null;
    var start = files.started() != null ? files.started() : job == null ? null : job.start();
    if (files.problem() != null) {
      // Not what the wrapper writes: a container wrote its own pod's files. Trust none of it.
      String msg =
          "the pod's status files are not what the job wrapper writes ("
              + files.problem()
              + "); Slurm job "
              + jobId
              + " is "
              + (state == null ? "unknown" : state);
      return new Observed(
          Phase.FAILED,
          "InvalidJobState",
          msg,
          null,
          null,
          null,
          containers(files, true, files.initNames(), "InvalidJobState", msg, 1),
          containers(files, false, files.mainNames(), "InvalidJobState", msg, 1));
    }
    if (state == null) {
      if (files.doneCode() != null) {
        // The wrapper finished: its containers' exit codes decide, like a pod that can run no more.
        List<ContainerStatus> init = containers(files, true, files.initNames(), null, null, null);
        List<ContainerStatus> main = containers(files, false, files.mainNames(), null, null, null);
        Phase p = PodPhaseRules.ended(init, main);
        return new Observed(
            p, p == Phase.FAILED ? "Error" : null, null, host, host, start, init, main);
      }
      if (!files.exists()) {
        return Observed.unknown(
            "NotFound", "Slurm job " + jobId + " is unknown and its pod directory is gone");
      }
      String msg =
          "Slurm job " + jobId + " is no longer known to Slurm and its wrapper left no exit status";
      return new Observed(
          Phase.FAILED,
          "JobLost",
          msg,
          host,
          host,
          start,
          containers(files, true, files.initNames(), "JobLost", msg, 1),
          containers(files, false, files.mainNames(), "JobLost", msg, 1));
    }
    if (PENDING.contains(state)) {
      String reason = job.reason() != null ? job.reason() : camel(state);
      String msg =
          "Slurm job " + jobId + " is " + state + (job.reason() != null ? ": " + job.reason() : "");
      List<ContainerStatus> init = new ArrayList<>();
      files.initNames().forEach(n -> init.add(ContainerStatus.waiting(n, reason, msg)));
      List<ContainerStatus> main = new ArrayList<>();
      files.mainNames().forEach(n -> main.add(ContainerStatus.waiting(n, reason, msg)));
      return new Observed(Phase.PENDING, reason, msg, null, null, job.submit(), init, main);
    }
    if (RUNNING.contains(state)) {
      List<ContainerStatus> init = containers(files, true, files.initNames(), null, null, null);
      List<ContainerStatus> main = containers(files, false, files.mainNames(), null, null, null);
      return new Observed(running(files, init, main), null, null, host, host, start, init, main);
    }
    if (state.equals("COMPLETED")) {
      // The wrapper exits with its containers' highest exit code: 0 means each one succeeded.
      return new Observed(
          Phase.SUCCEEDED,
          null,
          null,
          host,
          host,
          start,
          containers(files, true, files.initNames(), "Completed", null, 0),
          containers(files, false, files.mainNames(), "Completed", null, 0));
    }
    String reason = FAILED_REASONS.get(state);
    if (reason == null) {
      return Observed.unknown(camel(state), "Slurm job " + jobId + " is in state " + state);
    }
    String msg = message(jobId, state, job);
    Integer code =
        switch (state) {
          case "OUT_OF_MEMORY" -> 137;
          case "FAILED" ->
              job.exitCode() != null && job.exitCode() != 0
                  ? job.exitCode()
                  : files.doneCode() != null ? files.doneCode() : 1;
          default -> 143;
        };
    return new Observed(
        Phase.FAILED,
        reason,
        msg,
        host,
        host,
        start,
        containers(files, true, files.initNames(), reason, msg, code),
        containers(files, false, files.mainNames(), reason, msg, code));
  }

  /**
   * The phase of a pod whose job runs: the kubelet's rules over its containers (Pending while init
   * containers run), but never terminal while Slurm still holds the job: the job's own end (which
   * may yet be CANCELLED or TIMEOUT) decides that. Without the restart policy (a job written by an
   * older bridge) a running job is a running pod.
   */
  private static Phase running(
      PodFiles files, List<ContainerStatus> init, List<ContainerStatus> main) {
    if (files.policy() == null) {
      return Phase.RUNNING;
    }
    Phase p = PodPhaseRules.phase(files.policy(), init, main);
    return p.terminal() ? Phase.RUNNING : p;
  }

  private static String message(String jobId, String state, Job job) {
    return switch (state) {
      case "TIMEOUT" -> "Slurm job " + jobId + " reached its time limit";
      case "OUT_OF_MEMORY" -> "Slurm job " + jobId + " ran out of memory";
      case "CANCELLED" -> "Slurm job " + jobId + " was cancelled";
      case "NODE_FAIL" -> "Slurm job " + jobId + " ended because node " + job.nodes() + " failed";
      case "PREEMPTED" -> "Slurm job " + jobId + " was preempted";
      case "BOOT_FAIL" -> "Slurm job " + jobId + " could not start: its node failed to boot";
      case "DEADLINE" -> "Slurm job " + jobId + " reached its --deadline";
      case "FAILED" ->
          "Slurm job "
              + jobId
              + " failed"
              + (job.exitCode() != null ? " with exit code " + job.exitCode() : "")
              + (job.reason() != null ? " (" + job.reason() + ")" : "");
      default -> "Slurm job " + jobId + " ended in state " + state;
    };
  }

  /**
   * Container statuses from the files. When {@code endReason} is set the pod is over: a container
   * without an exit file ran when the job ended (terminated with {@code endCode} and {@code
   * endReason}) or never ran (waiting with {@code endReason}).
   */
  private static List<ContainerStatus> containers(
      PodFiles files,
      boolean init,
      List<String> names,
      String endReason,
      String endMessage,
      Integer endCode) {
    List<ContainerStatus> out = new ArrayList<>();
    boolean initRunning =
        files.initNames().stream()
            .anyMatch(
                n -> {
                  ContainerFiles c = files.containers().get(n);
                  return c == null || c.exitCode() == null;
                });
    for (String n : names) {
      ContainerFiles c = files.containers().get(n);
      if (c != null && c.exitCode() != null) {
        int code = c.exitCode();
        String reason =
            code == 0
                ? "Completed"
                : "OOMKilled".equals(endReason) && code == 137 ? "OOMKilled" : "Error";
        out.add(
            new ContainerStatus(
                n,
                Observed.State.TERMINATED,
                reason,
                null,
                code,
                c.start(),
                c.finished(),
                c.restarts(),
                c.last()));
      } else if (c != null && c.start() != null) {
        if (endReason != null) {
          out.add(
              new ContainerStatus(
                  n,
                  Observed.State.TERMINATED,
                  endReason,
                  endMessage,
                  endCode,
                  c.start(),
                  files.doneAt(),
                  c.restarts(),
                  c.last()));
        } else {
          out.add(
              new ContainerStatus(
                  n,
                  Observed.State.RUNNING,
                  null,
                  null,
                  null,
                  c.start(),
                  null,
                  c.restarts(),
                  c.last()));
        }
      } else if (endReason != null) {
        out.add(ContainerStatus.waiting(n, endReason, endMessage));
      } else {
        out.add(
            ContainerStatus.waiting(
                n, !init && initRunning ? "PodInitializing" : "ContainerCreating", null));
      }
    }
    return out;
  }

  /** {@code NODE_FAIL} → {@code NodeFail}. */
  static String camel(String state) {
    StringBuilder b = new StringBuilder();
    for (String p : state.toLowerCase().split("_")) {
      if (!p.isEmpty()) {
        b.append(Character.toUpperCase(p.charAt(0))).append(p.substring(1));
      }
    }
    return b.toString();
  }
}
