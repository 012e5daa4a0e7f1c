package io.hpcbridge.state;

import java.util.Set;

/** The Kubernetes pod phases the store accepts, kept as plain strings to stay Kubernetes-free. */
public final class Phase {
  public static final String PENDING = "Pending";
  public static final String RUNNING = "Running";
  public static final String SUCCEEDED = "Succeeded";
  public static final String FAILED = "Failed";
  public static final String UNKNOWN = "Unknown";

  private static final Set<String> ALL = Set.of(PENDING, RUNNING, SUCCEEDED, FAILED, UNKNOWN);

  private Phase() {}

  /** Succeeded and Failed are final: Kubernetes never moves a pod out of them. */
  public static boolean isTerminal(String phase) {
    return SUCCEEDED.equals(phase) || FAILED.equals(phase);
  }

  static String require(String phase) {
    if (!ALL.contains(phase)) {
      throw new IllegalArgumentException(
          "not a pod phase: " + phase + " (expected one of " + ALL + ")");
    }
    return phase;
  }
}
