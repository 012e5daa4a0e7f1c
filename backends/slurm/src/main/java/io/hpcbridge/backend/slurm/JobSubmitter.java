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
 * idempotent), else ships the files and feeds the script to {@code sbatch --parsable}. An error
 * that says something about the pod fails it ({@code SlurmRejected}); anything else is retried.
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
            job.podDir() + "/job.sh", job.script().getBytes(StandardCharsets.UTF_8), 0644));
    login.exec(
        "mkdir -p " + Shell.quote(job.podDir()) + " && chmod 0700 " + Shell.quote(job.podDir()));
    t.write(files);
    Transport.Result r = t.exec("sbatch --parsable", job.script().getBytes(StandardCharsets.UTF_8));
    if (!r.ok()) {
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
    if (!jobId.matches("\\d+")) {
      throw new BackendException.Transient("sbatch printed no job id: " + r.stdout().strip());
    }
    t.write(
        List.of(
            new Transport.FileWrite(
                job.podDir() + "/submitted",
                (jobId + "\n").getBytes(StandardCharsets.UTF_8),
                0644)));
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
