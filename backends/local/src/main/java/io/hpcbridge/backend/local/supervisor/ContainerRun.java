package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.Tools;
import java.time.Instant;
import java.util.List;

/** One run of a container: its process (the leader of its own process group) and log pumps. */
final class ContainerRun {
  final ContainerState container;
  final Process process;
  final long pid;
  final LogWriter log;
  final List<Thread> pumps;
  private final String killTool;
  Instant lastKill;

  ContainerRun(
      ContainerState container, Process process, LogWriter log, List<Thread> pumps, String kill) {
    this.container = container;
    this.process = process;
    this.pid = process.pid();
    this.log = log;
    this.pumps = pumps;
    this.killTool = kill;
  }

  /** Sends {@code signal} ({@code TERM}, {@code KILL}) to every process of the run. */
  void signal(String signal) {
    Tools.killGroup(killTool, pid, signal);
  }
}
