package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.local.common.Records.ContainerStatus;
import io.hpcbridge.backend.local.common.Records.Termination;
import java.time.Instant;

/** The state of one container, guarded by the {@link PodState} it belongs to. */
final class ContainerState {
  final ContainerPlan spec;
  final boolean init;
  Observed.State state = Observed.State.WAITING;
  String reason;
  String message;
  Integer exitCode;
  Instant startedAt;
  Instant finishedAt;
  int runs;
  long pid;
  long ticks;
  Termination last;
  boolean done;

  ContainerState(ContainerPlan spec, boolean init, String waitingReason) {
    this.spec = spec;
    this.init = init;
    this.reason = waitingReason;
  }

  String name() {
    return spec.name();
  }

  /** Run {@code runIndex} is running as process {@code pid}. */
  void running(int runIndex, long pid, long ticks, Instant at) {
    runs = runIndex + 1;
    state = Observed.State.RUNNING;
    reason = null;
    message = null;
    exitCode = null;
    startedAt = at;
    finishedAt = null;
    this.pid = pid;
    this.ticks = ticks;
  }

  /** The current run ended. */
  void terminated(int exit, String reason, String message, Instant at) {
    state = Observed.State.TERMINATED;
    this.reason = reason;
    this.message = message;
    exitCode = exit;
    finishedAt = at;
  }

  /** Run {@code runIndex} could not start. */
  void failedToStart(int runIndex, int exit, String reason, String why, Instant at) {
    runs = runIndex + 1;
    startedAt = at;
    pid = 0;
    ticks = 0;
    terminated(exit, reason, why, at);
  }

  /** Waiting {@code delayMillis} before the next run, keeping the last termination. */
  void backOff(long delayMillis) {
    last = new Termination(exitCode, reason, startedAt, finishedAt);
    state = Observed.State.WAITING;
    reason = "CrashLoopBackOff";
    message = "back-off " + delayMillis + "ms restarting container " + spec.name();
    exitCode = null;
  }

  ContainerStatus status() {
    return new ContainerStatus(
        spec.name(),
        state,
        reason,
        message,
        exitCode,
        startedAt,
        finishedAt,
        Math.max(0, runs - 1),
        runs,
        pid,
        ticks,
        last);
  }
}
