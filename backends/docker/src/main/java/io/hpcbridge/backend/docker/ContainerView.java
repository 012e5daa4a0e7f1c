package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.Observed;
import java.time.Instant;
import java.util.Map;

/**
 * What an inspect told about one container of a pod.
 *
 * @param id container id
 * @param name the pod's container name ({@code POD} for the sandbox)
 * @param role {@link Names#ROLE_SANDBOX}, {@link Names#ROLE_INIT} or {@link Names#ROLE_CONTAINER}
 * @param status Docker's state: created, running, paused, restarting, removing, exited, dead
 * @param exitCode the last exit code (0 while it never exited)
 * @param oomKilled whether the kernel killed it for memory
 * @param startedAt last start, or null when never started
 * @param finishedAt last finish, or null
 * @param restartCount restarts Docker made under its restart policy
 * @param error Docker's error text (e.g. a failed start), or null
 * @param ip the IP address (sandbox), or null
 * @param labels its labels
 * @param lastTermination the run before a restart, as remembered by this backend, or null
 */
public record ContainerView(
    String id,
    String name,
    String role,
    String status,
    int exitCode,
    boolean oomKilled,
    Instant startedAt,
    Instant finishedAt,
    int restartCount,
    String error,
    String ip,
    Map<String, String> labels,
    Observed.Termination lastTermination) {

  public ContainerView {
    labels = labels == null ? Map.of() : Map.copyOf(labels);
  }

  boolean running() {
    return "running".equals(status) || "paused".equals(status);
  }

  boolean restarting() {
    return "restarting".equals(status);
  }

  boolean active() {
    return running() || restarting() || "removing".equals(status);
  }

  boolean exited() {
    return "exited".equals(status) || "dead".equals(status);
  }

  /** Created but never started. */
  boolean notStarted() {
    return "created".equals(status);
  }

  /** Kubelet-style reason for a finished run. */
  String terminationReason() {
    if (oomKilled) {
      return "OOMKilled";
    }
    if (error != null && !error.isEmpty() && exitCode != 0) {
      return "ContainerCannotRun";
    }
    return exitCode == 0 ? "Completed" : "Error";
  }

  Observed.Termination termination() {
    return new Observed.Termination(
        exitCode,
        terminationReason(),
        error == null || error.isEmpty() ? null : error,
        startedAt,
        finishedAt);
  }

  /** A container whose start failed: shown as exited with Docker's error. */
  ContainerView failedToStart(String err) {
    return new ContainerView(
        id,
        name,
        role,
        "exited",
        128,
        false,
        null,
        null,
        restartCount,
        err,
        null,
        labels,
        lastTermination);
  }

  ContainerView withIp(String address) {
    return new ContainerView(
        id,
        name,
        role,
        status,
        exitCode,
        oomKilled,
        startedAt,
        finishedAt,
        restartCount,
        error,
        address,
        labels,
        lastTermination);
  }

  ContainerView withLastTermination(Observed.Termination t) {
    return new ContainerView(
        id,
        name,
        role,
        status,
        exitCode,
        oomKilled,
        startedAt,
        finishedAt,
        restartCount,
        error,
        ip,
        labels,
        t);
  }
}
