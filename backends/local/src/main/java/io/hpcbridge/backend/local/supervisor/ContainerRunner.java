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
import java.util.Map;

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
    boolean volumes = !spec.mounts().isEmpty();
    String wd = spec.workingDir();
    Gate cgroupGate = null;
    Gate mountsGate = null;
    ContainerCgroup cgroup = null;
    Process p = null;
    LogWriter log = new LogWriter(layout.log(spec.name(), runIndex));
    try {
      if (wd != null && !volumes) {
        workingDir(wd, runAs);
      }
      cgroup = cgroup(spec);
      if (cgroup != null) {
        cgroupGate = Gate.hold(opts, layout.gate(spec.name(), runIndex, "cgroup"), null);
      }
      if (volumes) {
        mountsGate = Gate.hold(opts, layout.gate(spec.name(), runIndex, "mounts"), runAs);
      }
      // Without a workingDir: the pod's own work directory, entered by root on the host before
      // any namespace is made (never looked up where the pod's volumes may cover its parents).
      // The mounts gate is reached from there (its parents need not be open to the pod's user).
      Path cwd = wd == null ? layout.work() : Path.of("/");
      String mountsGatePath = null;
      if (mountsGate != null) {
        boolean fromWork = wd == null && searchable(layout.work(), runAs);
        cwd = fromWork ? layout.work() : mountsGate.file().getParent();
        mountsGatePath =
            fromWork ? cwd.relativize(mountsGate.file()).toString() : mountsGate.name();
      }
      LaunchCommand launch =
          LaunchCommand.of(
              opts,
              runAs,
              cgroupGate == null ? null : cgroupGate.file().toString(),
              mountsGatePath,
              wd,
              spec.argv(),
              spec.env());
      ProcessBuilder pb = new ProcessBuilder(launch.argv()).directory(cwd.toFile());
      pb.environment().clear();
      pb.environment().putAll(launch.env());
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      p = pb.start();
      List<Thread> pumps =
          List.of(
              LogPump.start(p.getInputStream(), "stdout", log, spec.name()),
              LogPump.start(p.getErrorStream(), "stderr", log, spec.name()));
      if (cgroupGate != null) {
        // It waits in flock, still root: nothing has run yet that it could fork from.
        cgroupGate.awaitWaiter(p, false);
        try {
          cgroup.join(p.pid());
        } catch (IOException e) {
          throw new StartFailure("cannot put the container into its cgroup: " + e.getMessage());
        }
        cgroupGate.close();
      }
      if (mountsGate != null) {
        // It waits in flock, as the container's user, in its own namespace: nothing of the pod's
        // has run yet, and nothing the pod mounts can replace what ran so far.
        mountsGate.awaitWaiter(p, true);
        MountNamespace ns = new MountNamespace(opts, p);
        mounts.mountAll(ns, spec, runAs);
        if (wd != null) {
          ns.workingDir(wd, runAs);
        }
        mountsGate.close();
      }
      awaitStarted(p);
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
      p = null;
      return r;
    } finally {
      if (p != null) {
        // It never passes its gates: killed before they open.
        p.destroyForcibly();
        p.waitFor();
      }
      if (cgroupGate != null) {
        cgroupGate.close();
      }
      if (mountsGate != null) {
        mountsGate.close();
      }
      if (cgroup != null) {
        cgroup.removeAfterKilling();
      }
      if (log != null) {
        log.close();
      }
    }
  }

  /**
   * The run's cgroup with its limits, or null where limits cannot be enforced (the pod runs, the
   * supervisor log says why).
   */
  private ContainerCgroup cgroup(ContainerPlan spec) {
    try {
      return cgroups.create(
          pod.plan.pod().uid(), spec.name(), spec.resources(), opts.maxProcesses());
    } catch (IOException e) {
      Supervisor.log(
          "container "
              + spec.name()
              + ": no cgroup, its limits are not enforced: "
              + e.getMessage());
      return null;
    }
  }

  /** Creates a missing working directory as the pod's user (a container without volumes). */
  private void workingDir(String wd, RunAs runAs) throws StartFailure {
    if (Files.isDirectory(Path.of(wd))) {
      return;
    }
    List<String> cmd = new ArrayList<>(runAs.setpriv(opts.tool("setpriv")));
    cmd.addAll(List.of(opts.tool("mkdir"), "-p", "--", wd));
    Tools.Result r = Tools.run(cmd, 10_000);
    if (!r.ok()) {
      throw new StartFailure(
          "cannot create the working directory "
              + wd
              + " as uid "
              + runAs.uid()
              + ": "
              + r.output());
    }
  }

  /**
   * Whether {@code runAs} may look up names in {@code dir} (its search bit for that user); a
   * container that may not starts in its gate's directory instead, just as closed to it.
   */
  private static boolean searchable(Path dir, RunAs runAs) {
    if (runAs.uid() == 0 || !runAs.switchUser()) {
      return true;
    }
    try {
      Map<String, Object> a = Files.readAttributes(dir, "unix:uid,gid,mode");
      int mode = (Integer) a.get("mode");
      if (((Integer) a.get("uid")).longValue() == runAs.uid()) {
        return (mode & 0100) != 0;
      }
      long gid = ((Integer) a.get("gid")).longValue();
      if (gid == runAs.gid() || runAs.groups().contains(gid)) {
        return (mode & 0010) != 0;
      }
      return (mode & 0001) != 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Waits until the new process leads its own group (setsid done). A process that already exited is
   * fine too.
   */
  private static void awaitStarted(Process p) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (p.isAlive() && System.nanoTime() < deadline) {
      if (ProcFs.pgid(p.pid()) == p.pid()) {
        return;
      }
      Thread.sleep(2);
    }
  }
}
