package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPhaseRules;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RunAs;
import io.hpcbridge.backend.local.common.Tools;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
  private final VolumeMounts mounts;
  private final Cgroups cgroups;

  ContainerRunner(PodLayout layout, SupervisorOptions opts, PodState pod, Cgroups cgroups) {
    this.layout = layout;
    this.opts = opts;
    this.pod = pod;
    this.mounts = new VolumeMounts(layout, pod.plan, opts);
    this.cgroups = cgroups;
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
      String reason = e instanceof StartFailure f ? f.reason : "StartError";
      Supervisor.log("container " + c.name() + " run " + runIndex + " failed to start: " + why);
      LogWriter.append(layout.log(c.name(), runIndex), "failed to start: " + why);
      synchronized (pod) {
        c.failedToStart(runIndex, START_ERROR_EXIT_CODE, reason, why, Instant.now());
        pod.update();
      }
      return START_ERROR_EXIT_CODE;
    }
    int exit = r.process.waitFor();
    Instant finishedAt = Instant.now();
    boolean oom = r.cgroup != null && r.cgroup.oomKilled();
    // Like a container runtime: when the main process ends, what it left behind ends too.
    r.signal("KILL");
    if (r.cgroup != null) {
      r.cgroup.removeAfterKilling();
    }
    for (Thread t : r.pumps) {
      t.join(5000);
    }
    r.log.close();
    String reason = oom ? "OOMKilled" : exit == 0 ? "Completed" : "Error";
    Supervisor.log(
        "container "
            + c.name()
            + " run "
            + runIndex
            + " exited with code "
            + exit
            + (oom ? " (OOM killed)" : ""));
    synchronized (pod) {
      pod.running.remove(r);
      c.terminated(exit, reason, null, finishedAt);
      pod.update();
    }
    return exit;
  }

  /** Starts run {@code runIndex} of a container; returns once it runs in its own group. */
  private ContainerRun launch(ContainerState c, int runIndex)
      throws StartFailure, IOException, InterruptedException {
    ContainerPlan spec = c.spec;
    RunAs runAs = opts.runAs().get(spec.name());
    if (runAs == null) {
      throw new StartFailure("no user was recorded for this container at submit");
    }
    if (runAs.nonRoot() && runAs.uid() == 0) {
      throw new StartFailure(
          "CreateContainerConfigError", "container has runAsNonRoot and image will run as root");
    }
    MountNamespace ns = null;
    Gate gate = null;
    ContainerCgroup cgroup = null;
    LogWriter log = new LogWriter(layout.log(spec.name(), runIndex));
    try {
      if (!spec.mounts().isEmpty()) {
        ns = MountNamespace.create(opts, layout.work());
        mounts.mountAll(ns, spec, runAs);
      }
      String wd = spec.workingDir();
      List<String> enter;
      File cwd = new File("/");
      if (wd == null) {
        // The pod's own work directory, entered by root on the host (never looked up in the
        // namespace, where the pod's volumes may cover its parents): they need not be open to it.
        enter = ns == null ? List.of() : ns.enter(runAs, true);
        cwd = ns == null ? layout.work().toFile() : cwd;
      } else {
        enter = ns == null ? List.of() : ns.enter(runAs, false);
        workingDir(wd, runAs, ns);
      }
      cgroup = cgroup(spec);
      if (cgroup != null) {
        gate = Gate.hold(opts, layout.container(spec.name()).resolve(runIndex + ".gate"));
      }
      LaunchCommand launch =
          LaunchCommand.of(
              opts, runAs, gate == null ? null : gate.file(), enter, wd, spec.argv(), spec.env());
      ProcessBuilder pb = new ProcessBuilder(launch.argv()).directory(cwd);
      pb.environment().clear();
      pb.environment().putAll(launch.env());
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      Process p = pb.start();
      List<Thread> pumps =
          List.of(
              LogPump.start(p.getInputStream(), "stdout", log, spec.name()),
              LogPump.start(p.getErrorStream(), "stderr", log, spec.name()));
      if (gate != null) {
        try {
          cgroup.join(p.pid()); // it waits in flock: nothing of the pod's runs yet
        } catch (IOException e) {
          p.destroyForcibly();
          throw new StartFailure("cannot put the container into its cgroup: " + e.getMessage());
        } finally {
          gate.close();
        }
      }
      awaitStarted(p, ns);
      ContainerRun r = new ContainerRun(c, p, log, pumps, cgroup, opts.tool("kill"));
      cgroup = null;
      synchronized (pod) {
        c.running(runIndex, r.pid, ProcFs.startTicks(r.pid), Instant.now());
        pod.running.add(r);
        if (pod.cancelled) {
          r.signal("TERM");
        }
        pod.update();
      }
      Supervisor.log(
          "container "
              + spec.name()
              + " run "
              + runIndex
              + " started, pid "
              + r.pid
              + ", uid "
              + runAs.uid());
      log = null;
      return r;
    } finally {
      if (log != null) {
        log.close();
      }
      if (gate != null) {
        gate.close();
      }
      if (cgroup != null) {
        cgroup.removeAfterKilling();
      }
      if (ns != null) {
        ns.close();
      }
    }
  }

  /**
   * The run's cgroup with its limits, or null where limits cannot be enforced (the pod runs, the
   * supervisor log says why).
   */
  private ContainerCgroup cgroup(ContainerPlan spec) {
    try {
      return cgroups.create(pod.plan.pod().uid(), spec.name(), spec.resources());
    } catch (IOException e) {
      Supervisor.log(
          "container "
              + spec.name()
              + ": no cgroup, its limits are not enforced: "
              + e.getMessage());
      return null;
    }
  }

  /** Creates a missing working directory as the pod's user (in its namespace, if any). */
  private void workingDir(String wd, RunAs runAs, MountNamespace ns) throws StartFailure {
    List<String> mkdir = List.of(opts.tool("mkdir"), "-p", "--", wd);
    String what = "create the working directory " + wd;
    if (ns != null) {
      ns.helper(runAs, mkdir, what);
      return;
    }
    if (Files.isDirectory(Path.of(wd))) {
      return;
    }
    List<String> cmd = new ArrayList<>(runAs.setpriv(opts.tool("setpriv")));
    cmd.addAll(mkdir);
    Tools.Result r = Tools.run(cmd, 10_000);
    if (!r.ok()) {
      throw new StartFailure("cannot " + what + " as uid " + runAs.uid() + ": " + r.output());
    }
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
