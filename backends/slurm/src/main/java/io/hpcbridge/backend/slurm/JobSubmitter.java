package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Submission;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Submits pods: renders each, and ships many per remote command ({@link BatchScript}: a fresh 0700
 * directory, the files, {@code sbatch --parsable}, the id kept in {@code submitted}). {@link
 * #submit} is idempotent: it returns the job {@link JobFinder} already knows for the pod, else
 * submits a batch of one; {@link #submitNew} skips that lookup for pods known to be new, and runs
 * its batches on several SSH channels at once. An error that says something about the pod fails it
 * ({@code SlurmRejected}); anything else is retried. Either way its directory is removed at once.
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

  /** Pods per remote command: enough to hide the round trip, few enough to end well in time. */
  static final int MAX_BATCH_PODS = 64;

  /** Pods per remote command at least, when a list is spread over several channels. */
  static final int MIN_BATCH_PODS = 16;

  /** Bytes of script per remote command (a pod bigger than this goes alone). */
  static final int MAX_BATCH_BYTES = 4 << 20;

  /**
   * Runs the script that comes on stdin (it may be megabytes; a command line could not hold it).
   * Read whole by cat first: bash reading a script from a pipe takes one read(2) per byte.
   */
  static final String RUN_STDIN = "eval \"$(cat)\"";

  private static final AtomicInteger THREADS = new AtomicInteger();

  private final LoginNode login;
  private final JobFinder finder;

  JobSubmitter(LoginNode login, JobFinder finder) {
    this.login = login;
    this.finder = finder;
  }

  Handle submit(PodPlan plan) throws BackendException {
    RenderedJob job = login.renderer().prepare(plan);
    BatchScript.check(job);
    Optional<Handle> existing = finder.find(plan.pod());
    if (existing.isPresent()) {
      LOG.info(
          "Pod {} already has Slurm job {}; not submitting again", plan.pod(), existing.get().id());
      return existing.get();
    }
    // No job has this pod's name: whatever is in its directory (an earlier attempt, or something
    // a pod planted there) goes, so nothing is written through a symlink that was left in it.
    Submission s = shipBatch(List.of(plan), List.of(job)).get(0);
    if (!s.ok()) {
      throw s.error();
    }
    return s.handle();
  }

  /**
   * One outcome per plan, in order; one pod's failure never fails another. Pods are rendered here
   * while the batches already full are shipped by other threads, so rendering and Slurm overlap.
   */
  List<Submission> submitNew(List<PodPlan> plans) {
    Submission[] out = new Submission[plans.size()];
    SbatchRenderer renderer;
    try {
      renderer = login.renderer();
    } catch (BackendException.Transient e) {
      return plans.stream().map(p -> Submission.failed(p.pod(), e)).toList();
    }
    int per = batchPods(plans.size(), login.transport().maxOutput(), parallelism());
    Set<String> uids = new HashSet<>();
    try (Shipper ship = new Shipper(out)) {
      for (int i = 0; i < plans.size(); i++) {
        PodPlan p = plans.get(i);
        try {
          RenderedJob job = renderer.prepare(p);
          BatchScript.check(job);
          if (!uids.add(p.pod().uid())) {
            // Two plans for one directory: the first goes; the second is retried by submit,
            // which finds the first's job.
            throw new BackendException.Transient("pod " + p.pod().uid() + " appears twice");
          }
          long size = size(job);
          if (ship.pods() >= per || ship.pods() > 0 && ship.bytes() + size > MAX_BATCH_BYTES) {
            ship.dispatch();
          }
          ship.add(i, p, job, size);
        } catch (BackendException e) {
          out[i] = Submission.failed(p.pod(), e);
        }
      }
      ship.finish();
    }
    return List.of(out);
  }

  private record Running(
      List<Integer> index, List<PodPlan> plans, Future<List<Submission>> result) {}

  /**
   * Batches being filled and shipped: full ones on a pool of threads, the last on the caller's;
   * each outcome goes to its plan's index.
   */
  private final class Shipper implements AutoCloseable {
    private final Submission[] out;
    private final List<Integer> index = new ArrayList<>();
    private final List<PodPlan> plans = new ArrayList<>();
    private final List<RenderedJob> jobs = new ArrayList<>();
    private final List<Running> running = new ArrayList<>();
    private long bytes;
    private ExecutorService pool;

    Shipper(Submission[] out) {
      this.out = out;
    }

    int pods() {
      return plans.size();
    }

    long bytes() {
      return bytes;
    }

    void add(int i, PodPlan p, RenderedJob job, long size) {
      index.add(i);
      plans.add(p);
      jobs.add(job);
      bytes += size;
    }

    /** Ships the current batch on the pool. */
    void dispatch() {
      List<PodPlan> ps = List.copyOf(plans);
      List<RenderedJob> js = List.copyOf(jobs);
      if (pool == null) {
        pool =
            // The caller's thread ships the last batch: at most parallelism() at once.
            Executors.newFixedThreadPool(
                Math.max(1, parallelism() - 1),
                r -> {
                  Thread t = new Thread(r, "slurm-submit-" + THREADS.incrementAndGet());
                  t.setDaemon(true);
                  return t;
                });
      }
      running.add(new Running(List.copyOf(index), ps, pool.submit(() -> shipBatch(ps, js))));
      clear();
    }

    /** Ships the last batch here, then waits for the others. */
    void finish() {
      List<Submission> last = shipBatch(plans, jobs);
      for (int k = 0; k < last.size(); k++) {
        out[index.get(k)] = last.get(k);
      }
      clear();
      for (Running r : running) {
        List<Submission> done;
        try {
          done = r.result().get();
        } catch (ExecutionException | InterruptedException x) {
          if (x instanceof InterruptedException) {
            Thread.currentThread().interrupt();
          }
          BackendException.Transient t = new BackendException.Transient("batch submit: " + x, x);
          done = r.plans().stream().map(p -> Submission.failed(p.pod(), t)).toList();
        }
        for (int k = 0; k < done.size(); k++) {
          out[r.index().get(k)] = done.get(k);
        }
      }
    }

    private void clear() {
      index.clear();
      plans.clear();
      jobs.clear();
      bytes = 0;
    }

    @Override
    public void close() {
      if (pool != null) {
        pool.shutdownNow();
      }
    }
  }

  /**
   * Half the SSH channels (observe, cancel and log reads keep the rest): enough to keep slurmctld
   * busy, and each waits for a channel rather than fail when others are in use.
   */
  private int parallelism() {
    SlurmConfig.SshConfig ssh = login.config().ssh();
    return Math.max(1, (ssh != null ? ssh.maxChannels() : 8) / 2);
  }

  /**
   * Pods per command for a list of {@code n}: at most {@link #MAX_BATCH_PODS}, even sizes; a short
   * list is spread over up to {@code parallel} commands (of about {@link #MIN_BATCH_PODS} pods at
   * least), so they run at once. A batch also ends early when its script grows past {@link
   * #MAX_BATCH_BYTES}.
   */
  static int batchPods(int n, int maxOutput, int parallel) {
    // Each pod's result line is bounded: the batch's output always fits what a command may print.
    int most = Math.max(1, Math.min(MAX_BATCH_PODS, maxOutput / (BatchScript.MAX_LINE + 1)));
    int count =
        Math.max(
            (n + most - 1) / most, Math.min(parallel, (n + MIN_BATCH_PODS - 1) / MIN_BATCH_PODS));
    return Math.max(1, (n + Math.max(1, count) - 1) / Math.max(1, count));
  }

  /** About what a job adds to the script (escaped contents are larger; this is a bound's guide). */
  private static long size(RenderedJob j) {
    long n = j.script().length() + 512;
    for (RenderedJob.RemoteFile f : j.files()) {
      n += f.content().length + f.path().length() + 64;
    }
    return n;
  }

  /** One remote command for these jobs. */
  private List<Submission> shipBatch(List<PodPlan> plans, List<RenderedJob> jobs) {
    List<Submission> out = new ArrayList<>(plans.size());
    if (plans.isEmpty()) {
      return out;
    }
    String nonce = BatchScript.nonce();
    long timeout = login.config().commandTimeout().toSeconds();
    Map<Integer, BatchScript.Outcome> results;
    String stderr;
    try {
      String script = BatchScript.build(jobs, login.renderer().workRoot(), nonce, timeout / 2);
      Transport.Result r =
          login.transport().exec(RUN_STDIN, script.getBytes(StandardCharsets.UTF_8));
      results = BatchScript.parse(r.stdout(), nonce, jobs.size());
      stderr = r.stderr().strip();
    } catch (BackendException.Transient e) {
      // The command may have run in part: submit() looks for each pod's job before retrying.
      plans.forEach(p -> out.add(Submission.failed(p.pod(), e)));
      return out;
    }
    for (int i = 0; i < plans.size(); i++) {
      PodPlan p = plans.get(i);
      BatchScript.Outcome o = results.get(i);
      try {
        out.add(Submission.submitted(p.pod(), outcome(p, jobs.get(i), o, stderr)));
      } catch (BackendException e) {
        out.add(Submission.failed(p.pod(), e));
      }
    }
    return out;
  }

  /** The handle the script reported for a pod, or the exception a single submit would throw. */
  private static Handle outcome(PodPlan p, RenderedJob job, BatchScript.Outcome o, String stderr)
      throws BackendException {
    if (o == null) {
      throw new BackendException.Transient(
          "no result for pod "
              + p.pod().uid()
              + " from the batch submit"
              + (stderr.isEmpty() ? "" : ": " + stderr));
    }
    switch (o.kind()) {
      case "ok" -> {
        LOG.info("Pod {} submitted as Slurm job {}", p.pod(), o.value());
        return new SlurmHandle(o.value(), p.pod().uid()).handle();
      }
      case "prep" ->
          throw new BackendException.Transient(
              "cannot create " + job.podDir() + ": " + o.value().strip());
      case "noid" ->
          throw new BackendException.Transient("sbatch printed no job id: " + o.value().strip());
      case "late" ->
          throw new BackendException.Transient(
              "not submitted: the batch command ran short of time");
      default -> throw sbatchFailed(o.code(), o.value());
    }
  }

  /** What a failed sbatch means: the pod is refused, or the failure is the cluster's (retry). */
  static BackendException sbatchFailed(int exitCode, String output) {
    String msg = output.strip();
    String lower = msg.toLowerCase(Locale.ROOT);
    if (exitCode == 127
        || TRANSIENT.stream().anyMatch(lower::contains)
        || !lower.contains("error")) {
      return new BackendException.Transient("sbatch failed (exit " + exitCode + "): " + msg);
    }
    return new BackendException.InvalidPod(
        "SlurmRejected", "sbatch rejected the job: " + sbatchMessage(msg));
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
