package io.hpcbridge.backend.local.common;

import io.hpcbridge.backend.Observed;
import java.time.Instant;
import java.util.List;

/** The JSON files a pod directory holds besides the plan (see {@link PodLayout}). */
public final class Records {

  private Records() {}

  /**
   * {@code status.json}: what the supervisor knows, rewritten atomically on every change.
   *
   * @param phase the pod phase as the supervisor judges it
   * @param reason pod-level reason (e.g. {@code DeadlineExceeded}, {@code InitContainerFailed})
   * @param message text for {@code reason}
   * @param startTime when the supervisor started
   * @param finishedAt when the supervisor finished (null while it runs)
   * @param supervisorPid the supervisor's pid
   * @param supervisorStartTicks its start time in clock ticks (guards against pid reuse)
   * @param cancelled whether a stop request was seen
   */
  public record PodStatus(
      Observed.Phase phase,
      String reason,
      String message,
      Instant startTime,
      Instant finishedAt,
      long supervisorPid,
      long supervisorStartTicks,
      boolean cancelled,
      List<ContainerStatus> initContainers,
      List<ContainerStatus> containers) {

    public PodStatus {
      initContainers = initContainers == null ? List.of() : List.copyOf(initContainers);
      containers = containers == null ? List.of() : List.copyOf(containers);
    }

    public ContainerStatus container(String name) {
      for (ContainerStatus c : initContainers) {
        if (c.name().equals(name)) {
          return c;
        }
      }
      for (ContainerStatus c : containers) {
        if (c.name().equals(name)) {
          return c;
        }
      }
      return null;
    }
  }

  /**
   * One container in {@code status.json}.
   *
   * @param runs how many times it was started (its current log is run {@code runs - 1})
   * @param pid the pid (= process group id) of the current or last run, 0 before the first
   * @param pidStartTicks that process's start time in clock ticks
   * @param last the previous run's termination, once restarted
   */
  public record ContainerStatus(
      String name,
      Observed.State state,
      String reason,
      String message,
      Integer exitCode,
      Instant startedAt,
      Instant finishedAt,
      int restartCount,
      int runs,
      long pid,
      long pidStartTicks,
      Termination last) {

    /** In the SPI's terms. */
    public Observed.ContainerStatus toObserved() {
      return new Observed.ContainerStatus(
          name,
          state,
          reason,
          message,
          exitCode,
          startedAt,
          finishedAt,
          restartCount,
          last == null
              ? null
              : new Observed.Termination(
                  last.exitCode(), last.reason(), null, last.startedAt(), last.finishedAt()));
    }
  }

  public record Termination(int exitCode, String reason, Instant startedAt, Instant finishedAt) {}

  /**
   * {@code cancel.json}: a stop request that outlives the bridge.
   *
   * @param requestedAt when it was asked
   * @param killAt when SIGKILL replaces SIGTERM
   */
  public record CancelRequest(Instant requestedAt, Instant killAt) {}

  /** {@code options.json}: how the supervisor behaves, fixed at submit. */
  public record SupervisorOptions(
      long restartBackoffMillis,
      long maxRestartBackoffMillis,
      String setsid,
      String unshare,
      String nsenter,
      String mount,
      String kill,
      String sleep) {}

  /** {@code launched}: when the supervisor was started. */
  public record Launched(Instant at) {}
}
