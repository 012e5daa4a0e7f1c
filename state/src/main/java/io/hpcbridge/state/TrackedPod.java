package io.hpcbridge.state;

import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodRef;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One pod as the state file knows it.
 *
 * @param ref the pod's namespace, name and UID
 * @param node the node it is bound to
 * @param backend the backend it runs on
 * @param handle the backend's handle, once submitted
 * @param phase the last known phase
 * @param reason why the bridge failed the pod itself (an invalid or forbidden pod), else null
 * @param message text for {@code reason}, else null
 * @param podJson the pod as Kubernetes had it at its intent (managed fields stripped)
 * @param planJson the plan without secret values, or null for a pod refused before it had one
 * @param observed what the backend last reported
 * @param created when the intent was recorded
 * @param submitted when the handle was recorded, or null
 * @param finished when the pod first reached Succeeded or Failed, or null
 * @param deleting when its deletion was first seen, or null
 * @param gone when it was gone from Kubernetes and forgotten by the backend, or null
 */
public record TrackedPod(
    PodRef ref,
    String node,
    String backend,
    Optional<Handle> handle,
    Phase phase,
    String reason,
    String message,
    String podJson,
    String planJson,
    Optional<Observed> observed,
    Instant created,
    Instant submitted,
    Instant finished,
    Instant deleting,
    Instant gone) {

  public TrackedPod {
    Objects.requireNonNull(ref, "ref");
    Objects.requireNonNull(phase, "phase");
    handle = handle == null ? Optional.empty() : handle;
    observed = observed == null ? Optional.empty() : observed;
  }

  public String uid() {
    return ref.uid();
  }

  /** The backend accepted the pod and gave it a handle. */
  public boolean isSubmitted() {
    return handle.isPresent();
  }

  /** The pod reached Succeeded or Failed. */
  public boolean isTerminal() {
    return phase.terminal();
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
    return ref.toString();
  }
}
