package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.slurm.SlurmOutput.Job;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the job of a pod, for resuming after a restart and for submitting only once. Only this
 * account's own jobs whose {@code --comment} is exactly the pod's ({@code
 * hpc-bridge:NAMESPACE/NAME/UID}) are adopted: {@code squeue --me} by job name (and {@code sacct
 * --user} with accounting), never a job of another account or another pod that took the same name.
 * The job id the bridge or the wrapper left in the pod's directory ({@code submitted}, {@code
 * jobid}) is a fallback that a pod of the same account could have written: it is trusted only after
 * Slurm confirms that job's owner and comment, or when Slurm no longer knows the job at all. A live
 * job wins over an ended one, then the newest.
 */
final class JobFinder {
  private static final Logger LOG = LoggerFactory.getLogger(JobFinder.class);

  private final LoginNode login;

  JobFinder(LoginNode login) {
    this.login = login;
  }

  Optional<Handle> find(PodRef pod) throws BackendException {
    if (!PodValidator.UID.matcher(pod.uid()).matches()) {
      return Optional.empty();
    }
    Account account = login.account();
    String name = SbatchRenderer.jobName(pod.uid());
    String comment = SbatchDirectives.comment(pod);
    boolean accounting = login.config().accounting();
    StringBuilder cmd = new StringBuilder("export SLURM_TIME_FORMAT=%s\n");
    cmd.append("squeue --me -h -a -t all -o ")
        .append(Shell.quote(SlurmOutput.SQUEUE_FORMAT))
        .append(" -n ")
        .append(Shell.quote(name))
        .append(" || echo @@squeue-failed\n");
    if (accounting) {
      cmd.append("echo @@sacct\nsacct -n -X -P -S now-30days --user=")
          .append(Shell.quote(account.name()))
          .append(" -o ")
          .append(SlurmOutput.SACCT_FORMAT)
          .append(" --name=")
          .append(Shell.quote(name))
          .append(" 2>/dev/null\n");
    }
    cmd.append("echo @@files\n")
        .append(JobObserver.podFilesCommand(login.renderer(), List.of(pod.uid())));
    Transport.Result r = login.exec(cmd.toString());
    String[] files = r.stdout().split("@@files\n?", 2);
    String[] slurm = files[0].split("@@sacct\n?", 2);
    if (slurm[0].contains("@@squeue-failed")) {
      throw new BackendException.Transient("squeue failed: " + r.stderr().strip());
    }
    List<Job> jobs = new ArrayList<>(SlurmOutput.squeue(slurm[0]));
    if (slurm.length > 1) {
      jobs.addAll(SlurmOutput.sacct(slurm[1]));
    }
    Optional<Job> best =
        jobs.stream()
            .filter(j -> j.name().equals(name) && ours(j, account, comment))
            .max(
                Comparator.comparing(
                        (Job j) ->
                            !StateMapper.FAILED_REASONS.containsKey(j.state())
                                && !j.state().equals("COMPLETED"))
                    .thenComparing(j -> Long.parseLong(j.id().replaceAll("_.*", ""))));
    if (best.isPresent()) {
      return Optional.of(new SlurmHandle(best.get().id(), pod.uid()).handle());
    }
    String read = files.length > 1 ? files[1] : "";
    if (PodFiles.unread(read).contains(pod.uid())) {
      // Its files may name its job: do not decide (and submit again) without them.
      throw new BackendException.Transient(
          "the status files of pod " + pod + " could not be read in time");
    }
    PodFiles written = PodFiles.parse(read).getOrDefault(pod.uid(), PodFiles.NONE);
    Set<String> ids = new LinkedHashSet<>();
    for (String id : new String[] {written.submittedJobId(), written.jobId()}) {
      if (id != null && id.matches("\\d{1,18}")) {
        ids.add(id);
      }
    }
    return ids.isEmpty() ? Optional.empty() : confirmed(pod, ids, account, comment);
  }

  /**
   * The first of {@code ids} that is this pod's job: Slurm says so (owner and comment), or Slurm no
   * longer knows the job at all.
   */
  private Optional<Handle> confirmed(PodRef pod, Set<String> ids, Account account, String comment)
      throws BackendException {
    boolean accounting = login.config().accounting();
    StringBuilder cmd = new StringBuilder("export SLURM_TIME_FORMAT=%s\n");
    for (String id : ids) {
      // All users' jobs: a job of another account must be seen to be refused.
      cmd.append("echo @@job ").append(id).append('\n');
      cmd.append("squeue -h -a -t all -o ")
          .append(Shell.quote(SlurmOutput.SQUEUE_FORMAT))
          .append(" -j ")
          .append(id)
          .append(',')
          .append(id)
          .append(" 2>&1\n");
    }
    if (accounting) {
      cmd.append("echo @@sacct\nsacct -n -X -P --allusers -o ")
          .append(SlurmOutput.SACCT_FORMAT)
          .append(" -j ")
          .append(String.join(",", ids))
          .append(" || echo @@sacct-failed\n");
    }
    Transport.Result r = login.exec(cmd.toString());
    String[] slurm = r.stdout().split("@@sacct\n?", 2);
    if (slurm.length > 1 && slurm[1].contains("@@sacct-failed")) {
      throw new BackendException.Transient("sacct failed: " + r.stderr().strip());
    }
    List<Job> accounted = slurm.length > 1 ? SlurmOutput.sacct(slurm[1]) : List.of();
    for (String section : slurm[0].split("@@job ")) {
      int nl = section.indexOf('\n');
      String id = nl < 0 ? section.strip() : section.substring(0, nl).strip();
      if (!ids.contains(id)) {
        continue;
      }
      String out = nl < 0 ? "" : section.substring(nl + 1);
      List<Job> known = new ArrayList<>(SlurmOutput.squeue(out));
      accounted.stream().filter(j -> j.id().equals(id)).forEach(known::add);
      known.removeIf(j -> !j.id().equals(id));
      if (known.isEmpty()) {
        if (!out.isBlank() && !out.contains("Invalid job id")) {
          throw new BackendException.Transient("squeue -j " + id + " failed: " + out.strip());
        }
        // Slurm no longer knows the job: what the directory says is all there is.
        return Optional.of(new SlurmHandle(id, pod.uid()).handle());
      }
      if (known.stream().anyMatch(j -> ours(j, account, comment))) {
        return Optional.of(new SlurmHandle(id, pod.uid()).handle());
      }
      LOG.warn(
          "Pod {}: its directory names Slurm job {}, which is not this pod's job (owner or comment"
              + " differ); not adopted",
          pod,
          id);
    }
    return Optional.empty();
  }

  /** The account's own job whose comment is exactly the pod's. */
  private static boolean ours(Job j, Account account, String comment) {
    return account.name().equals(j.user()) && comment.equals(j.comment());
  }
}
