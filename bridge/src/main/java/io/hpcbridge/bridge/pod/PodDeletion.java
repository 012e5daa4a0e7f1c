package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.state.StateStore;
import io.hpcbridge.state.TrackedPod;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ends pods: a pod being deleted gets SIGTERM (SIGKILL after its grace period) and is removed from
 * the API once the backend reports it ended; a pod gone from the API while it still runs is stopped
 * at once, then its backend work is released and its row marked gone. Waits for the observer's
 * batched observation instead of polling the backend per pod.
 */
final class PodDeletion implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodDeletion.class);

  /** How long past its deletion deadline a pod may live before it is cancelled again. */
  static final Duration KILL_RECHECK = Duration.ofSeconds(10);

  private final KubernetesClient client;
  private final Backend backend;
  private final StateStore state;

  /** Pods this process has already asked the backend to stop. */
  private final Set<String> cancelled = ConcurrentHashMap.newKeySet();

  private final CancelQueue cancels;

  PodDeletion(KubernetesClient client, Backend backend, StateStore state) {
    this.client = client;
    this.backend = backend;
    this.state = state;
    this.cancels = new CancelQueue(backend, cancelled::remove);
  }

  /** The pod has a deletionTimestamp. */
  WorkQueue.Outcome deleting(Pod pod, Optional<TrackedPod> rec) throws BackendException {
    String uid = pod.getMetadata().getUid();
    rec.ifPresent(r -> state.markDeleting(uid));
    Handle handle = rec.isPresent() ? handle(rec.get()) : null;
    boolean ended =
        rec.map(r -> r.isTerminal() || r.phase() == Observed.Phase.UNKNOWN).orElse(false);
    if (handle == null || ended) {
      return remove(pod); // nothing runs (or the backend lost it): nothing to wait for
    }
    // Cancel once; the observer sees the pod end and queues it again. Only a pod still alive well
    // past its deadline is cancelled again, with no grace: SIGKILL.
    Duration left =
        Duration.between(Instant.now(), Instant.parse(pod.getMetadata().getDeletionTimestamp()));
    if (cancelled.add(uid)) {
      cancels.cancel(uid, handle, left.isNegative() ? Duration.ZERO : left);
    } else if (left.plus(KILL_RECHECK).isNegative()) {
      cancels.cancel(uid, handle, Duration.ZERO);
    }
    return new WorkQueue.After(left.isNegative() ? KILL_RECHECK : left.plus(KILL_RECHECK));
  }

  /** The pod is gone from the API: stop its work if still running, then forget it. */
  WorkQueue.Outcome forget(String uid, Optional<TrackedPod> rec) throws BackendException {
    if (rec.isEmpty() || rec.get().isGone()) {
      cancelled.remove(uid);
      return WorkQueue.DONE;
    }
    TrackedPod r = rec.get();
    Handle handle = handle(r);
    if (handle != null && !r.isTerminal() && r.phase() != Observed.Phase.UNKNOWN) {
      // Still running: stop it now; the observer queues the pod again once it has ended.
      if (cancelled.add(uid)) {
        cancels.cancel(uid, handle, Duration.ZERO);
      }
      return new WorkQueue.After(KILL_RECHECK);
    }
    if (handle != null) {
      backend.release(handle);
    }
    cancelled.remove(uid);
    state.markGone(uid);
    return WorkQueue.DONE;
  }

  /** The recorded handle; after a crash between intent and handle, what the backend has. */
  private Handle handle(TrackedPod r) throws BackendException {
    if (r.handle().isPresent()) {
      return r.handle().get();
    }
    if (r.isTerminal()) {
      return null; // refused before submit
    }
    Optional<Handle> found = backend.find(new PodRef(r.ref().namespace(), r.ref().name(), r.uid()));
    found.ifPresent(h -> state.recordSubmitted(r.uid(), h));
    return found.orElse(null);
  }

  @Override
  public void close() {
    cancels.close();
  }

  private WorkQueue.Outcome remove(Pod pod) {
    try {
      client
          .pods()
          .inNamespace(pod.getMetadata().getNamespace())
          .withName(pod.getMetadata().getName())
          .withGracePeriod(0)
          .delete();
    } catch (KubernetesClientException e) {
      if (e.getCode() != 404) {
        throw e;
      }
    }
    log.info(
        "pod {}/{} terminated and removed",
        pod.getMetadata().getNamespace(),
        pod.getMetadata().getName());
    return WorkQueue.DONE; // the informer's delete event forgets it
  }
}
