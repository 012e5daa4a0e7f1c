package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.slurm.SlurmOutput.Job;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Finds the job of a pod UID, for resuming after a restart and for submitting only once: by job
 * name in {@code squeue} (and {@code sacct} with accounting), else from the job id the submit or
 * the wrapper left in the pod's directory. A live job wins over an ended one, then the newest.
 */
final class JobFinder {
  private final LoginNode login;

  JobFinder(LoginNode login) {
    this.login = login;
  }

  Optional<Handle> find(PodRef pod) throws BackendException {
    if (!PodValidator.UID.matcher(pod.uid()).matches()) {
      return Optional.empty();
    }
    String dir = login.podDir(pod.uid());
    String name = SbatchRenderer.jobName(pod.uid());
    boolean accounting = login.config().accounting();
    StringBuilder cmd = new StringBuilder("export SLURM_TIME_FORMAT=%s\n");
    cmd.append("squeue -h -a -t all -o ")
        .append(Shell.quote(SlurmOutput.SQUEUE_FORMAT))
        .append(" -n ")
        .append(Shell.quote(name))
        .append(" || echo @@squeue-failed\n");
    if (accounting) {
      cmd.append("echo @@sacct\nsacct -n -X -P -S now-30days -o ")
          .append(SlurmOutput.SACCT_FORMAT)
          .append(" --name=")
          .append(Shell.quote(name))
          .append(" 2>/dev/null\n");
    }
    cmd.append("echo @@files\ncat ")
        .append(Shell.quote(dir + "/submitted"))
        .append(' ')
        .append(Shell.quote(dir + "/jobid"))
        .append(" 2>/dev/null; true\n");
    Transport.Result r = login.exec(cmd.toString());
    if (r.stdout().contains("@@squeue-failed")) {
      throw new BackendException.Transient("squeue failed: " + r.stderr().strip());
    }
    String[] parts = r.stdout().split("@@files\n?", 2);
    List<Job> jobs = new ArrayList<>(SlurmOutput.squeue(parts[0]));
    if (accounting) {
      jobs.addAll(SlurmOutput.sacct(parts[0]));
    }
    Optional<Job> best =
        jobs.stream()
            .filter(j -> j.name().equals(name))
            .max(
                Comparator.comparing(
                        (Job j) ->
                            !StateMapper.FAILED_REASONS.containsKey(j.state())
                                && !j.state().equals("COMPLETED"))
                    .thenComparing(j -> Long.parseLong(j.id().replaceAll("_.*", ""))));
    if (best.isPresent()) {
      return Optional.of(new SlurmHandle(best.get().id(), pod.uid()).handle());
    }
    if (parts.length > 1) {
      for (String l : parts[1].split("\n")) {
        if (l.strip().matches("\\d{1,18}")) {
          return Optional.of(new SlurmHandle(l.strip(), pod.uid()).handle());
        }
      }
    }
    return Optional.empty();
  }
}
