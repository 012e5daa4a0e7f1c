package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.Tools;
import java.time.Instant;
import java.util.List;

/** One run of a container: its process (the leader of its own process group), log pumps, cgroup. */
final class ContainerRun {
  final ContainerState container;
  final Process process;
  final long pid;
  final LogWriter log;
  final List<Thread> pumps;
  final ContainerCgroup cgroup; // null when limits are not enforced
  private final String killTool;
  Instant lastKill;

  ContainerRun(
      ContainerState container,
      Process process,
      LogWriter log,
      List<Thread> pumps,
      ContainerCgroup cgroup,
      String kill) {
    this.container = container;
    this.process = process;
    this.pid = process.pid();
    this.log = log;
    this.pumps = pumps;
    this.cgroup = cgroup;
    this.killTool = kill;
  }

  /**
   * Sends {@code signal} ({@code TERM}, {@code KILL}) to the run's process group; SIGKILL reaches
   * the processes that left the group too, through the run's cgroup.
   */
  void signal(String signal) {
    Tools.killGroup(killTool, pid, signal);
    if (cgroup != null && signal.equals("KILL")) {
      cgroup.killAll();
    }
  }
}
