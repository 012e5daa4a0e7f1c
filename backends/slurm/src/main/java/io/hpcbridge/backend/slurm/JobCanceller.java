package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends pods: {@code scancel} (SIGTERM to every process of the job), then SIGKILL once the grace
 * period is over; and forgets released pods' directories after the retention time.
 */
final class JobCanceller implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(JobCanceller.class);

  private final LoginNode login;
  private final ScheduledExecutorService timer;

  JobCanceller(LoginNode login) {
    this.login = login;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "slurm-backend-timer");
              t.setDaemon(true);
              return t;
            });
  }

  void cancel(Handle handle, Duration grace) throws BackendException {
    SlurmHandle i = SlurmHandle.of(handle);
    // scancel sends SIGTERM to every process of the job and marks it CANCELLED; Slurm itself
    // sends SIGKILL after its KillWait. The pod's own grace period is enforced below.
    Transport.Result r = login.exec("scancel " + i.jobId());
    if (!r.ok() && !r.stderr().contains("Invalid job id")) {
      if (r.stderr().contains("already completing or completed")
          || r.stderr().contains("Job/step already")) {
        return;
      }
      throw new BackendException.Transient(
          "scancel " + i.jobId() + " failed: " + r.stderr().strip());
    }
    timer.schedule(
        () -> {
          try {
            login.exec("scancel --full --signal=KILL " + i.jobId() + " 2>/dev/null; true");
          } catch (BackendException e) {
            LOG.warn("SIGKILL of Slurm job {} failed: {}", i.jobId(), e.getMessage());
          }
        },
        Math.max(0, grace.toMillis()),
        TimeUnit.MILLISECONDS);
  }

  /**
   * Forgets a pod: its env, command lines and volumes (secrets among them) go at once; the rest
   * (logs, status) is marked released and removed after the retention time, with other directories
   * released longer ago.
   */
  void release(Handle handle) throws BackendException {
    SlurmHandle i = SlurmHandle.of(handle);
    SbatchRenderer r = login.renderer();
    String dir = Shell.quote(r.podDir(i.uid()));
    long minutes = login.config().retention().toMinutes();
    String cmd =
        minutes <= 0
            ? "rm -rf -- " + dir
            : "rm -rf -- "
                + dir
                + "/env "
                + dir
                + "/run "
                + dir
                + "/vol; [ -d "
                + dir
                + " ] && [ ! -L "
                + dir
                + " ] && touch -h "
                + dir
                + "/released 2>/dev/null; find "
                + Shell.quote(r.workRoot())
                + " -mindepth 2 -maxdepth 2 -type f -name released -mmin +"
                + minutes
                + " -printf '%h\\0' 2>/dev/null | xargs -0 -r rm -rf --; true";
    login.exec(cmd);
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
