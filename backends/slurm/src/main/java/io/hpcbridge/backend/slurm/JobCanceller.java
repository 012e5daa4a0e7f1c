package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends pods: {@code scancel} (SIGTERM to every process of the job), then SIGKILL once the grace
 * period is over, both batched ({@link #cancelAll}: one command and one timer for any number of
 * pods); and forgets released pods' directories after the retention time.
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
    SlurmHandle.of(handle);
    BackendException e = cancelAll(List.of(handle), grace).get(handle);
    if (e != null) {
      throw e;
    }
  }

  /**
   * Cancels many jobs with one remote command ({@code scancel} of up to {@link #CHUNK} ids at a
   * time), then SIGKILLs those still there after the grace, again with one command for the group.
   * Returns the handles that could not be cancelled; a job Slurm reports as unknown or already
   * ended is not a failure.
   */
  Map<Handle, BackendException> cancelAll(Collection<Handle> handles, Duration grace) {
    Map<Handle, BackendException> failed = new LinkedHashMap<>();
    Map<String, List<Handle>> byJob = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        byJob.computeIfAbsent(SlurmHandle.of(h).jobId(), k -> new ArrayList<>()).add(h);
      } catch (BackendException.NotFound e) {
        failed.put(h, e);
      }
    }
    if (byJob.isEmpty()) {
      return failed;
    }
    List<List<String>> chunks = chunks(new ArrayList<>(byJob.keySet()));
    // scancel sends SIGTERM to every process of each job and marks it CANCELLED; Slurm itself
    // sends SIGKILL after its KillWait. The pods' own grace period is enforced below.
    StringBuilder cmd = new StringBuilder();
    for (int k = 0; k < chunks.size(); k++) {
      cmd.append("echo @@chunk ").append(k).append("; e=$(scancel ");
      cmd.append(String.join(" ", chunks.get(k)));
      // Slurm's words only (ids and errors), bounded by bash itself: no process but scancel.
      cmd.append(" 2>&1); rc=$?; printf '%s\\n@@rc %d\\n' \"${e:0:").append(MAX_CHUNK_OUTPUT);
      cmd.append("}\" \"$rc\"; ");
    }
    Map<String, BackendException> jobFailures;
    try {
      Transport.Result r = run(cmd.toString());
      jobFailures = failures(r.stdout(), chunks, r.stderr());
    } catch (BackendException.Transient e) {
      jobFailures = new LinkedHashMap<>();
      for (String id : byJob.keySet()) {
        jobFailures.put(id, e);
      }
    }
    List<String> toKill = new ArrayList<>();
    for (Map.Entry<String, List<Handle>> e : byJob.entrySet()) {
      BackendException why = jobFailures.get(e.getKey());
      if (why == null) {
        toKill.add(e.getKey());
      } else {
        e.getValue().forEach(h -> failed.put(h, why));
      }
    }
    if (!toKill.isEmpty()) {
      timer.schedule(() -> kill(toKill), Math.max(0, grace.toMillis()), TimeUnit.MILLISECONDS);
    }
    return failed;
  }

  /** What is kept of one scancel's output: a line or two per job at most. */
  static final int MAX_CHUNK_OUTPUT = 256 << 10;

  /**
   * A short script (one line of simple commands) goes on the command line, a long one on stdin:
   * bash reads a script from a pipe one byte per read(2), and a command line holds 128 KiB at most.
   */
  private Transport.Result run(String script) throws BackendException.Transient {
    byte[] b = script.getBytes(StandardCharsets.UTF_8);
    return b.length < 64 << 10
        ? login.transport().exec(script, new byte[0])
        : login.transport().exec(JobSubmitter.RUN_STDIN, b);
  }

  /** Ids per scancel: a command line of about 10 KB. */
  static final int CHUNK = 500;

  static List<List<String>> chunks(List<String> ids) {
    List<List<String>> out = new ArrayList<>();
    for (int i = 0; i < ids.size(); i += CHUNK) {
      out.add(List.copyOf(ids.subList(i, Math.min(ids.size(), i + CHUNK))));
    }
    return out;
  }

  private static final Pattern JOB_ERROR =
      Pattern.compile(".*job id (\\d{1,18}(?:_\\d{1,9})?)\\b.*");

  /**
   * The jobs scancel could not cancel, from what each chunk printed: a line naming a job fails that
   * job (unless it says the job is unknown or already ended); a failed chunk whose errors name no
   * job fails all of its jobs.
   */
  static Map<String, BackendException> failures(
      String stdout, List<List<String>> chunks, String stderr) {
    Map<String, BackendException> out = new LinkedHashMap<>();
    String[] parts = stdout.split("(?m)^@@chunk ", -1);
    for (int k = 0; k < chunks.size(); k++) {
      String part = "";
      for (String p : parts) {
        if (p.startsWith(k + "\n")) {
          part = p.substring(p.indexOf('\n') + 1);
        }
      }
      Matcher rc = Pattern.compile("(?m)^@@rc (\\d+)$").matcher(part);
      if (!rc.find()) {
        String why = "scancel did not report" + (stderr.isBlank() ? "" : ": " + stderr.strip());
        chunks.get(k).forEach(id -> out.put(id, new BackendException.Transient(why)));
        continue;
      }
      if (rc.group(1).equals("0")) {
        continue;
      }
      String text = part.substring(0, rc.start());
      List<String> general = new ArrayList<>();
      java.util.Set<String> ids = new java.util.HashSet<>(chunks.get(k));
      for (String line : text.split("\n")) {
        if (line.isBlank()) {
          continue;
        }
        Matcher m = JOB_ERROR.matcher(line);
        if (!m.matches() || !ids.contains(m.group(1))) {
          general.add(line.strip());
        } else if (!gone(line)) {
          out.put(
              m.group(1),
              new BackendException.Transient("scancel " + m.group(1) + " failed: " + line.strip()));
        }
      }
      if (!general.isEmpty() || text.isBlank()) {
        String why = "scancel failed (exit " + rc.group(1) + "): " + String.join("; ", general);
        chunks.get(k).forEach(id -> out.putIfAbsent(id, new BackendException.Transient(why)));
      }
    }
    return out;
  }

  /** Slurm no longer runs the job: nothing to cancel. */
  private static boolean gone(String line) {
    return line.contains("Invalid job id")
        || line.contains("already completing or completed")
        || line.contains("Job/step already");
  }

  private void kill(List<String> ids) {
    StringBuilder cmd = new StringBuilder();
    for (List<String> c : chunks(ids)) {
      cmd.append("scancel --full --signal=KILL ").append(String.join(" ", c));
      cmd.append(" 2>/dev/null; ");
    }
    cmd.append("true");
    try {
      run(cmd.toString());
    } catch (BackendException e) {
      LOG.warn("SIGKILL of {} Slurm job(s) failed: {}", ids.size(), e.getMessage());
    }
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
