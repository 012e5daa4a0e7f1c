package io.hpcbridge.backend;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What a backend saw of one pod. The bridge turns it into a Kubernetes PodStatus.
 *
 * @param phase the pod phase as the backend judges it
 * @param reason a CamelCase reason when the pod failed or is stuck (e.g. {@code DeadlineExceeded})
 * @param message a human explanation for {@code reason}
 * @param hostIP the address of the machine the pod runs on, or null
 * @param podIP the pod's address, or null
 * @param startTime when the backend accepted the pod, or null
 * @param initContainers status of each init container, in order
 * @param containers status of each container
 */
public record Observed(
    Phase phase,
    String reason,
    String message,
    String hostIP,
    String podIP,
    Instant startTime,
    List<ContainerStatus> initContainers,
    List<ContainerStatus> containers) {

  public Observed {
    Objects.requireNonNull(phase, "phase");
    initContainers = List.copyOf(initContainers == null ? List.of() : initContainers);
    containers = List.copyOf(containers == null ? List.of() : containers);
  }

  public enum Phase {
    PENDING,
    RUNNING,
    SUCCEEDED,
    FAILED,
    UNKNOWN;

    public boolean terminal() {
      return this == SUCCEEDED || this == FAILED;
    }

    /** Kubernetes' spelling: {@code Pending}, {@code Running}, … */
    public String toKubernetes() {
      String n = name();
      return n.charAt(0) + n.substring(1).toLowerCase(java.util.Locale.ROOT);
    }

    /** Parses Kubernetes' spelling ({@code Running}). */
    public static Phase fromKubernetes(String text) {
      for (Phase p : values()) {
        if (p.toKubernetes().equals(text)) {
          return p;
        }
      }
      throw new IllegalArgumentException("not a pod phase: " + text);
    }
  }

  /** A pod the backend does not know (anymore). */
  public static Observed unknown(String reason, String message) {
    return new Observed(Phase.UNKNOWN, reason, message, null, null, null, List.of(), List.of());
  }

  public Optional<ContainerStatus> container(String name) {
    return java.util.stream.Stream.concat(initContainers.stream(), containers.stream())
        .filter(c -> c.name().equals(name))
        .findFirst();
  }

  /**
   * One container's state, in Kubernetes terms.
   *
   * @param name container name
   * @param state waiting, running or terminated
   * @param reason e.g. {@code ContainerCreating}, {@code Completed}, {@code Error}, {@code
   *     OOMKilled}, a scheduler's pending reason
   * @param message free text for {@code reason}
   * @param exitCode when terminated
   * @param startedAt when running or terminated
   * @param finishedAt when terminated
   * @param restartCount how often it was restarted in place
   * @param lastTermination the previous run's termination, if it was restarted
   */
  public record ContainerStatus(
      String name,
      State state,
      String reason,
      String message,
      Integer exitCode,
      Instant startedAt,
      Instant finishedAt,
      int restartCount,
      Termination lastTermination) {

    public ContainerStatus {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(state, "state");
    }

    public static ContainerStatus waiting(String name, String reason, String message) {
      return new ContainerStatus(name, State.WAITING, reason, message, null, null, null, 0, null);
    }

    public static ContainerStatus running(String name, Instant startedAt, int restarts) {
      return new ContainerStatus(
          name, State.RUNNING, null, null, null, startedAt, null, restarts, null);
    }

    public static ContainerStatus terminated(
        String name, int exitCode, String reason, Instant startedAt, Instant finishedAt) {
      return new ContainerStatus(
          name, State.TERMINATED, reason, null, exitCode, startedAt, finishedAt, 0, null);
    }
  }

  public enum State {
    WAITING,
    RUNNING,
    TERMINATED
  }

  /** A past run of a container. */
  public record Termination(
      int exitCode, String reason, String message, Instant startedAt, Instant finishedAt) {}
}
