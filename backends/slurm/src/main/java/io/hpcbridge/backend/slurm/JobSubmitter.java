package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Submits a pod: renders it, returns the job {@link JobFinder} already knows for it (submit is
 * idempotent), else ships the files to a fresh 0700 directory and feeds the script to {@code sbatch
 * --parsable}. An error that says something about the pod fails it ({@code SlurmRejected});
 * anything else is retried. Either way the directory is removed at once.
 */
final class JobSubmitter {
  private static final Logger LOG = LoggerFactory.getLogger(JobSubmitter.class);

  /** sbatch errors that say nothing about the pod: retry later. */
  private static final List<String> TRANSIENT =
      List.of(
          "unable to contact",
          "timed out",
          "temporarily",
          "socket",
          "connection",
          "zero bytes",
          "maxsubmit",
          "try again",
          "slurmctld",
          "resource temporarily unavailable");

  private final LoginNode login;
  private final JobFinder finder;

  JobSubmitter(LoginNode login, JobFinder finder) {
    this.login = login;
    this.finder = finder;
  }

  Handle submit(PodPlan plan) throws BackendException {
    RenderedJob job = login.renderer().prepare(plan);
    Optional<Handle> existing = finder.find(plan.pod());
    if (existing.isPresent()) {
      LOG.info(
          "Pod {} already has Slurm job {}; not submitting again", plan.pod(), existing.get().id());
      return existing.get();
    }
    Transport t = login.transport();
    List<Transport.FileWrite> files = new ArrayList<>();
    for (RenderedJob.RemoteFile f : job.files()) {
      files.add(new Transport.FileWrite(job.podDir() + "/" + f.path(), f.content(), f.mode()));
    }
    files.add(
        new Transport.FileWrite(
            job.podDir() + "/job.sh", job.script().getBytes(StandardCharsets.UTF_8), 0600));
    String dir = Shell.quote(job.podDir());
    // No job has this pod's name: whatever is in its directory (an earlier attempt, or something a
    // pod planted there) goes, so nothing is written through a symlink that was left in it.
    Transport.Result made = login.exec("rm -rf -- " + dir + " && mkdir -p -m 0700 -- " + dir);
    if (!made.ok()) {
      throw new BackendException.Transient(
          "cannot create " + job.podDir() + ": " + made.stderr().strip());
    }
    t.write(files);
    // The job id goes to the pod's directory in the same command, so it is there even if the
    // bridge stops right after sbatch.
    Transport.Result r =
        t.exec(
            "out=$(sbatch --parsable) || { rc=$?; printf '%s\\n' \"$out\"; exit $rc; }\n"
                + "id=${out%%;*}\n"
                + "case $id in ''|*[!0-9]*) ;; *) printf '%s\\n' \"$id\" > "
                + dir
                + "/.submitted && mv -f -- "
                + dir
                + "/.submitted "
                + dir
                + "/submitted ;; esac\n"
                + "printf '%s\\n' \"$out\"",
            job.script().getBytes(StandardCharsets.UTF_8));
    if (!r.ok()) {
      // Nothing was submitted: the pod's files (env, secrets) are not left behind.
      login.exec("rm -rf -- " + dir);
      String msg = (r.stderr() + "\n" + r.stdout()).strip();
      String lower = msg.toLowerCase(Locale.ROOT);
      if (r.exitCode() == 127
          || TRANSIENT.stream().anyMatch(lower::contains)
          || !lower.contains("error")) {
        throw new BackendException.Transient("sbatch failed (exit " + r.exitCode() + "): " + msg);
      }
      throw new BackendException.InvalidPod(
          "SlurmRejected", "sbatch rejected the job: " + sbatchMessage(msg));
    }
    String jobId = r.stdout().strip().split(";")[0].strip();
    if (!jobId.matches("\\d{1,18}")) {
      throw new BackendException.Transient("sbatch printed no job id: " + r.stdout().strip());
    }
    LOG.info("Pod {} submitted as Slurm job {}", plan.pod(), jobId);
    return new SlurmHandle(jobId, plan.pod().uid()).handle();
  }

  /** sbatch's own words, without the "sbatch: error: " prefixes. */
  static String sbatchMessage(String stderr) {
    List<String> parts = new ArrayList<>();
    for (String l : stderr.split("\n")) {
      String t = l.replaceFirst("^sbatch: error: ", "").strip();
      if (!t.isEmpty()) {
        parts.add(t);
      }
    }
    return String.join("; ", parts);
  }
}
