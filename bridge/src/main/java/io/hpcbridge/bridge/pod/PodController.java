package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.plan.PlanException;
import io.hpcbridge.bridge.status.StatusSynth;
import io.hpcbridge.state.StateStore;
import io.hpcbridge.state.TrackedPod;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs the pods bound to this node: informer on {@code spec.nodeName}, a work queue keyed by pod
 * UID, and a poller that observes all active pods with one batched backend call.
 */
public final class PodController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodController.class);

  /** How long past its deletion deadline a pod may live before it is cancelled again. */
  private static final Duration KILL_RECHECK = Duration.ofSeconds(10);

  private final KubernetesClient client;
  private final String nodeName;
  private final String hostIP;
  private final Backend backend;
  private final StateStore state;
  private final PlanBuilder plans;
  private final Launcher launcher;
  private final StatusSynth synth;
  private final Events events;
  private final Duration pollInterval;
  private final WorkQueue queue;
  private final ScheduledExecutorService poller;

  /** Informer's view, by UID; the API objects we reconcile against. */
  private final Map<String, Pod> pods = new ConcurrentHashMap<>();

  /**
   * Last status JSON we wrote per UID, so an informer lagging behind causes no duplicate writes.
   */
  private final Map<String, String> written = new ConcurrentHashMap<>();

  /** Warnings already emitted per UID, so a retrying pod does not flood events. */
  private final Map<String, Set<String>> warned = new ConcurrentHashMap<>();

  /** Pods this process has already asked the backend to stop. */
  private final Set<String> cancelled = ConcurrentHashMap.newKeySet();

  private SharedIndexInformer<Pod> informer;

  public PodController(
      KubernetesClient client,
      String nodeName,
      String hostIP,
      Backend backend,
      StateStore state,
      PlanBuilder plans,
      Duration pollInterval,
      int workers) {
    this.client = client;
    this.nodeName = nodeName;
    this.hostIP = hostIP;
    this.backend = backend;
    this.state = state;
    this.plans = plans;
    this.launcher = new Launcher(state, backend);
    this.synth = new StatusSynth(backend.name());
    this.events = new Events(client, nodeName);
    this.pollInterval = pollInterval;
    this.queue =
        new WorkQueue(
            "pods", workers, Duration.ofMillis(500), Duration.ofMinutes(5), this::reconcile);
    this.poller =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "pods-poller");
              t.setDaemon(true);
              return t;
            });
  }

  public void start() {
    informer =
        client
            .pods()
            .inAnyNamespace()
            .withField("spec.nodeName", nodeName)
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Pod pod) {
                    pods.put(uid(pod), pod);
                    queue.add(uid(pod));
                  }

                  @Override
                  public void onUpdate(Pod old, Pod pod) {
                    pods.put(uid(pod), pod);
                    queue.add(uid(pod));
                  }

                  @Override
                  public void onDelete(Pod pod, boolean unknownFinalState) {
                    pods.remove(uid(pod));
                    queue.add(uid(pod));
                  }
                },
                0);
    // Rows whose pod vanished while the bridge was down: reconcile them too (cancel, forget).
    for (TrackedPod r : state.active(nodeName)) {
      if (!pods.containsKey(r.uid())) {
        queue.add(r.uid());
      }
    }
    poller.scheduleWithFixedDelay(
        this::pollSafely, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Pods bound here, as the informer sees them (for the kubelet API's /pods). */
  public List<Pod> pods() {
    return new ArrayList<>(pods.values());
  }

  /** The handle of a pod by namespace/name, for logs. */
  public Optional<Handle> handle(String namespace, String name) {
    return state.findByName(namespace, name).flatMap(TrackedPod::handle);
  }

  private static String uid(Pod pod) {
    return pod.getMetadata().getUid();
  }

  // ---- reconcile ----

  WorkQueue.Outcome reconcile(String uid) throws Exception {
    Pod pod = pods.get(uid);
    Optional<TrackedPod> rec = state.get(uid);
    try {
      if (pod != null) {
        MDC.put("pod", pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName());
      } else {
        rec.ifPresent(r -> MDC.put("pod", r.key()));
      }
      MDC.put("uid", uid);
      if (pod == null) {
        return forget(uid, rec);
      }
      if (pod.getMetadata().getDeletionTimestamp() != null) {
        return deleting(pod, rec);
      }
      if (rec.isPresent() && rec.get().isSubmitted()) {
        if (pod.getStatus() == null
            || pod.getStatus().getContainerStatuses() == null
            || pod.getStatus().getContainerStatuses().isEmpty()) {
          if (!rec.get().isTerminal()) {
            writeStatus(pod, synth.pending(pod, Instant.now(), hostIP));
          }
        }
        return WorkQueue.DONE;
      }
      if (rec.isPresent() && rec.get().phase() == Observed.Phase.FAILED) {
        return WorkQueue.DONE; // failed by the bridge (invalid pod); nothing to run
      }
      String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
      if (rec.isEmpty() && ("Succeeded".equals(phase) || "Failed".equals(phase))) {
        return WorkQueue.DONE; // finished before this state file knew it
      }
      return submit(pod);
    } finally {
      MDC.clear();
    }
  }

  private WorkQueue.Outcome submit(Pod pod) {
    PlanBuilder.Result result;
    try {
      result = plans.build(pod);
    } catch (PlanException e) {
      if (e instanceof PlanException.Invalid) {
        return fail(pod, e.reason(), e.getMessage());
      }
      // A ConfigMap or Secret is missing: wait for it, like the kubelet.
      warnOnce(pod, e.reason(), e.getMessage());
      writeStatus(pod, waitingStatus(pod, e.reason(), e.getMessage()));
      return new WorkQueue.Retry(e.getMessage());
    }
    for (String w : result.warnings()) {
      warnOnce(pod, "InvalidEnvironmentVariableNames", w);
    }
    try {
      Handle h = launcher.launch(pod, result.plan());
      events.normal(pod, "Submitted", "Submitted to " + backend.name() + " as " + h.id());
      writeStatus(pod, synth.pending(pod, Instant.now(), hostIP));
      poller.execute(this::pollSafely);
      return WorkQueue.DONE;
    } catch (BackendException.InvalidPod e) {
      return fail(pod, e.reason(), e.getMessage());
    } catch (BackendException e) {
      warnOnce(pod, "SubmitFailed", e.getMessage());
      return new WorkQueue.Retry(e.getMessage());
    }
  }

  private WorkQueue.Outcome fail(Pod pod, String reason, String message) {
    log.warn(
        "pod {}/{} cannot run: {}: {}",
        pod.getMetadata().getNamespace(),
        pod.getMetadata().getName(),
        reason,
        message);
    state.recordIntent(
        new io.hpcbridge.state.PodIntent(
            new PodRef(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), uid(pod)),
            nodeName,
            backend.name(),
            Serialization.asJson(pod),
            null));
    state.recordFailed(uid(pod), reason, message);
    events.warning(pod, reason, message);
    writeStatus(pod, synth.failed(pod, reason, message, Instant.now()));
    return WorkQueue.DONE;
  }

  private PodStatus waitingStatus(Pod pod, String reason, String message) {
    List<Observed.ContainerStatus> cs = new ArrayList<>();
    for (var c : pod.getSpec().getContainers()) {
      cs.add(Observed.ContainerStatus.waiting(c.getName(), reason, message));
    }
    return synth.synth(
        pod,
        new Observed(
            Observed.Phase.PENDING, null, null, hostIP, null, Instant.now(), List.of(), cs),
        Instant.now(),
        hostIP);
  }

  private WorkQueue.Outcome deleting(Pod pod, Optional<TrackedPod> rec) throws BackendException {
    String uid = uid(pod);
    rec.ifPresent(r -> state.markDeleting(uid));
    Handle handle = rec.flatMap(TrackedPod::handle).orElse(null);
    if (handle == null && rec.isPresent()) {
      // A crash between intent and handle: the backend may still have started it.
      handle =
          backend
              .find(new PodRef(pod.getMetadata().getNamespace(), pod.getMetadata().getName(), uid))
              .orElse(null);
      if (handle != null) {
        state.recordSubmitted(uid, handle);
      }
    }
    if (handle == null || rec.map(TrackedPod::isTerminal).orElse(false)) {
      return removeFromApi(pod, handle);
    }
    if (rec.get().phase() == Observed.Phase.UNKNOWN) {
      return removeFromApi(pod, handle); // the backend lost it; nothing left to wait for
    }
    // Cancel once; the poller's batched observe sees the pod end and queues it again. Only a pod
    // still alive well past its deadline is cancelled again (with no grace: SIGKILL).
    Duration left =
        Duration.between(Instant.now(), Instant.parse(pod.getMetadata().getDeletionTimestamp()));
    if (cancelled.add(uid)) {
      backend.cancel(handle, left.isNegative() ? Duration.ZERO : left);
    } else if (left.plus(KILL_RECHECK).isNegative()) {
      backend.cancel(handle, Duration.ZERO);
    }
    return new WorkQueue.After(left.isNegative() ? KILL_RECHECK : left.plus(KILL_RECHECK));
  }

  private WorkQueue.Outcome removeFromApi(Pod pod, Handle handle) {
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

  /** The pod is gone from the API: stop its work if still running, then forget it. */
  private WorkQueue.Outcome forget(String uid, Optional<TrackedPod> rec) throws BackendException {
    written.remove(uid);
    warned.remove(uid);
    if (rec.isEmpty() || rec.get().gone() != null) {
      return WorkQueue.DONE;
    }
    TrackedPod r = rec.get();
    Handle handle = r.handle().orElse(null);
    if (handle == null) {
      handle = backend.find(r.ref()).orElse(null);
      if (handle != null) {
        state.recordSubmitted(uid, handle);
      }
    }
    if (handle != null && !r.isTerminal() && r.phase() != Observed.Phase.UNKNOWN) {
      // Still running: stop it now; the poller queues the pod again once it has ended.
      if (cancelled.add(uid)) {
        backend.cancel(handle, Duration.ZERO);
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

  // ---- polling ----

  private void pollSafely() {
    try {
      poll();
    } catch (Exception e) {
      log.warn("poll failed: {}", e.toString());
    }
  }

  /** One batched observation of every active pod; writes only statuses that changed. */
  synchronized void poll() throws BackendException {
    List<TrackedPod> active = new ArrayList<>();
    for (TrackedPod r : state.active(nodeName)) {
      if (r.isSubmitted() && !r.isTerminal()) {
        active.add(r);
      }
    }
    if (active.isEmpty()) {
      return;
    }
    Collection<Handle> handles = active.stream().map(r -> r.handle().orElseThrow()).toList();
    Map<Handle, Observed> seen = backend.observe(handles);
    Instant now = Instant.now();
    for (TrackedPod r : active) {
      Observed o = seen.get(r.handle().orElseThrow());
      if (o == null) {
        continue;
      }
      Pod pod = pods.get(r.uid()); // null: already gone from the API, still stopping
      try {
        MDC.put("pod", r.key());
        MDC.put("uid", r.uid());
        if (pod != null && writeStatus(pod, synth.synth(pod, o, now, hostIP))) {
          announce(pod, r, o);
        }
        state.recordObserved(r.uid(), o);
        // Deletions wait for this batched observation rather than polling the backend per pod.
        boolean ended = o.phase().terminal() || o.phase() == Observed.Phase.UNKNOWN;
        if (ended && (pod == null || pod.getMetadata().getDeletionTimestamp() != null)) {
          queue.add(r.uid());
        }
      } catch (RuntimeException e) {
        log.warn("status update failed: {}", e.toString());
      } finally {
        MDC.clear();
      }
    }
  }

  private void announce(Pod pod, TrackedPod before, Observed now) {
    if (before.phase() == now.phase()) {
      return;
    }
    switch (now.phase()) {
      case RUNNING -> events.normal(pod, "Started", "Started on " + backend.name());
      case SUCCEEDED -> events.normal(pod, "Completed", "All containers completed");
      case FAILED ->
          events.warning(
              pod,
              "Failed",
              (now.reason() == null ? "Error" : now.reason())
                  + (now.message() == null ? "" : ": " + now.message()));
      default -> {}
    }
  }

  /** Writes pods/status when it differs from what the API (or our last write) has. */
  private boolean writeStatus(Pod pod, PodStatus status) {
    String json = Serialization.asJson(status);
    String current = pod.getStatus() == null ? null : Serialization.asJson(pod.getStatus());
    if (json.equals(current) || json.equals(written.get(uid(pod)))) {
      return false;
    }
    try {
      client
          .pods()
          .inNamespace(pod.getMetadata().getNamespace())
          .withName(pod.getMetadata().getName())
          .subresource("status")
          .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":" + json + "}");
      written.put(uid(pod), json);
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  private void warnOnce(Pod pod, String reason, String message) {
    if (warned
        .computeIfAbsent(uid(pod), k -> ConcurrentHashMap.newKeySet())
        .add(reason + message)) {
      events.warning(pod, reason, message);
    }
  }

  @Override
  public void close() {
    poller.shutdownNow();
    queue.close();
    if (informer != null) {
      informer.close();
    }
  }
}
