package io.hpcbridge.backend.local.common;

import io.hpcbridge.backend.Observed;
import java.time.Instant;
import java.util.List;
import java.util.Map;

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

  /**
   * {@code options.json}: how the supervisor behaves, fixed at submit.
   *
   * @param tools absolute paths of the host tools it runs, by name ({@code setsid}, {@code
   *     setpriv}, {@code unshare}, ...)
   * @param runAs who each container runs as, by container name
   * @param owner who owns the pod's writable directories
   * @param maxProcesses {@code pids.max} of each container run's cgroup; 0: not limited (options
   *     written before the setting existed)
   */
  public record SupervisorOptions(
      long restartBackoffMillis,
      long maxRestartBackoffMillis,
      Map<String, String> tools,
      Map<String, RunAs> runAs,
      Owner owner,
      long maxProcesses) {

    public SupervisorOptions {
      tools = Map.copyOf(tools == null ? Map.of() : tools);
      runAs = Map.copyOf(runAs == null ? Map.of() : runAs);
    }

    /** The path of a host tool; fails loudly when the backend did not find it. */
    public String tool(String name) {
      String p = tools.get(name);
      if (p == null) {
        throw new IllegalStateException("the '" + name + "' command is not available");
      }
      return p;
    }
  }

  /**
   * The owner of a pod's working directory and volumes.
   *
   * @param uid the user that owns them (the uid of the pod's first container)
   * @param gid their group: {@code fsGroup}, else that container's group
   * @param shared whether {@code fsGroup} was set: directories are then group-writable and setgid,
   *     files group-readable
   */
  public record Owner(long uid, long gid, boolean shared) {}

  /** {@code launched}: when the supervisor was started. */
  public record Launched(Instant at) {}
}
