package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPhaseRules;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Runs one container until it is done for good: starts it as its own process group (in a private
 * mount namespace when it mounts volumes), waits for it, and restarts it as the restart policy says
 * with a doubling back-off. No shell is involved: command, args, paths and env travel as separate
 * argv and env entries.
 */
final class ContainerRunner {

  /** The exit code recorded for a run that could not start. */
  static final int START_ERROR_EXIT_CODE = 128;

  private final PodLayout layout;
  private final SupervisorOptions opts;
  private final PodState pod;

  ContainerRunner(PodLayout layout, SupervisorOptions opts, PodState pod) {
    this.layout = layout;
    this.opts = opts;
    this.pod = pod;
  }

  /** Runs {@code c}, restarting it as the policy says, until it is done or the pod stops. */
  void runToEnd(ContainerState c) throws InterruptedException {
    while (true) {
      int runIndex;
      synchronized (pod) {
        if (pod.stopping()) {
          c.done = true;
          pod.update();
          return;
        }
        runIndex = c.runs;
      }
      int exit = runOnce(c, runIndex);
      long delay;
      synchronized (pod) {
        if (pod.stopping() || !PodPhaseRules.restarts(pod.plan.restartPolicy(), c.init, exit)) {
          c.done = true;
          pod.update();
          return;
        }
        delay =
            Math.min(
                opts.maxRestartBackoffMillis(),
                opts.restartBackoffMillis() << Math.min(c.runs - 1, 20));
        c.backOff(delay);
        pod.update();
        long until = System.nanoTime() + delay * 1_000_000L;
        long left;
        while (!pod.stopping() && (left = until - System.nanoTime()) > 0) {
          pod.wait(Math.max(1, left / 1_000_000L));
        }
      }
    }
  }

  /** Starts run {@code runIndex} and waits for its end; returns its exit code. */
  private int runOnce(ContainerState c, int runIndex) throws InterruptedException {
    ContainerRun r;
    try {
      r = launch(c, runIndex);
    } catch (StartFailure | IOException e) {
      String why = e.getMessage();
      Supervisor.log("container " + c.name() + " run " + runIndex + " failed to start: " + why);
      LogWriter.append(layout.log(c.name(), runIndex), "failed to start: " + why);
      synchronized (pod) {
        c.failedToStart(runIndex, START_ERROR_EXIT_CODE, why, Instant.now());
        pod.update();
      }
      return START_ERROR_EXIT_CODE;
    }
    int exit = r.process.waitFor();
    Instant finishedAt = Instant.now();
    // Like a container runtime: when the main process ends, what it left behind ends too.
    r.signal("KILL");
    for (Thread t : r.pumps) {
      t.join(5000);
    }
    r.log.close();
    Supervisor.log("container " + c.name() + " run " + runIndex + " exited with code " + exit);
    synchronized (pod) {
      pod.running.remove(r);
      c.terminated(exit, exit == 0 ? "Completed" : "Error", null, finishedAt);
      pod.update();
    }
    return exit;
  }

  /** Starts run {@code runIndex} of a container; returns once it runs in its own group. */
  private ContainerRun launch(ContainerState c, int runIndex)
      throws StartFailure, IOException, InterruptedException {
    ContainerPlan spec = c.spec;
    String wd = spec.workingDir() != null ? spec.workingDir() : layout.work().toString();
    MountNamespace ns = null;
    LogWriter log = new LogWriter(layout.log(spec.name(), runIndex));
    try {
      List<String> cmd = new ArrayList<>();
      ProcessBuilder pb;
      if (spec.mounts().isEmpty()) {
        Files.createDirectories(Path.of(wd));
        cmd.add(opts.setsid());
        cmd.add("--");
        cmd.addAll(spec.argv());
        pb = new ProcessBuilder(cmd).directory(new File(wd));
      } else {
        ns = MountNamespace.create(opts);
        List<ContainerPlan.Mount> mounts = new ArrayList<>(spec.mounts());
        mounts.sort(
            Comparator.comparingInt(m -> Path.of(m.mountPath()).normalize().getNameCount()));
        for (ContainerPlan.Mount m : mounts) {
          ns.bind(m.volume(), source(m), m.mountPath(), m.readOnly());
        }
        Files.createDirectories(ns.inside(wd));
        cmd.add(opts.setsid());
        cmd.addAll(ns.enter(wd));
        cmd.addAll(spec.argv());
        pb = new ProcessBuilder(cmd).directory(new File("/"));
      }
      pb.environment().clear();
      pb.environment().putAll(spec.env());
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      Process p = pb.start();
      List<Thread> pumps =
          List.of(
              LogPump.start(p.getInputStream(), "stdout", log, spec.name()),
              LogPump.start(p.getErrorStream(), "stderr", log, spec.name()));
      awaitStarted(p, ns);
      ContainerRun r = new ContainerRun(c, p, log, pumps, opts.kill());
      synchronized (pod) {
        c.running(runIndex, r.pid, ProcFs.startTicks(r.pid), Instant.now());
        pod.running.add(r);
        if (pod.cancelled) {
          r.signal("TERM");
        }
        pod.update();
      }
      Supervisor.log("container " + spec.name() + " run " + runIndex + " started, pid " + r.pid);
      log = null;
      return r;
    } finally {
      if (log != null) {
        log.close();
      }
      if (ns != null) {
        ns.close();
      }
    }
  }

  /** The host path a mount binds: the volume's directory, or a path below it ({@code subPath}). */
  private Path source(ContainerPlan.Mount m) throws StartFailure, IOException {
    VolumePlan v =
        pod.plan.volume(m.volume()).orElseThrow(() -> new StartFailure("no volume " + m.volume()));
    Path base =
        v.type() == VolumePlan.Type.HOST_PATH ? Path.of(v.hostPath()) : layout.volume(v.name());
    if (m.subPath() == null || m.subPath().isEmpty()) {
      return base;
    }
    Path src = base.resolve(m.subPath()).normalize();
    if (!Files.exists(src)) {
      Files.createDirectories(src);
    }
    return src;
  }

  /**
   * Waits until the new process leads its own group (setsid done) and, in a namespace, has joined
   * it (so the holder may go). A process that already exited is fine too.
   */
  private static void awaitStarted(Process p, MountNamespace ns) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (p.isAlive() && System.nanoTime() < deadline) {
      boolean grouped = ProcFs.pgid(p.pid()) == p.pid();
      if (grouped && (ns == null || ns.joined(p.pid()))) {
        return;
      }
      Thread.sleep(2);
    }
  }
}
