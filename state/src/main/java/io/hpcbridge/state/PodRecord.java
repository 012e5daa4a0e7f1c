package io.hpcbridge.state;

import java.time.Instant;

/**
 * One pod as the store knows it. Nullable: {@code handle}, {@code reason}, {@code message}, {@code
 * planJson}, {@code observedJson} and every time except {@code created}.
 */
public record PodRecord(
    String uid,
    String namespace,
    String name,
    String node,
    String backend,
    String handle,
    String phase,
    String reason,
    String message,
    String podJson,
    String planJson,
    String observedJson,
    Instant created,
    Instant submitted,
    Instant finished,
    Instant deleting,
    Instant gone) {

  /** The backend accepted the pod and gave it a handle. */
  public boolean isSubmitted() {
    return handle != null;
  }

  /** The pod reached Succeeded or Failed. */
  public boolean isTerminal() {
    return Phase.isTerminal(phase);
  }

  public boolean isDeleting() {
    return deleting != null;
  }

  /** The pod no longer exists in Kubernetes; the row is kept for history until purged. */
  public boolean isGone() {
    return gone != null;
  }

  /** {@code namespace/name}, as kubectl prints it. */
  public String key() {
    return namespace + "/" + name;
  }
}
