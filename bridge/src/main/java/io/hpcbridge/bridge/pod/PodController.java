package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.plan.ObjectSource;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.state.StateStore;
import io.hpcbridge.state.TrackedPod;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Runs the pods bound to this node. Wires the pieces of the data path and owns their threads:
 *
 * <ul>
 *   <li>an informer on {@code spec.nodeName} (the pods, indexed by UID) feeding a {@link WorkQueue}
 *       keyed by pod UID;
 *   <li>the {@link PodObserver}: one batched observe per poll, changed observations to the queue;
 *   <li>the {@link PodReconciler}, the queue's handler and the only writer of pod status and
 *       events, with {@link PodDeletion} for pods going away;
 *   <li>the {@link ObjectCache}: ConfigMaps and Secrets the pods reference, from informers.
 * </ul>
 */
public final class PodController implements AutoCloseable {
  private static final String BY_UID = "uid";

  private final KubernetesClient client;
  private final String nodeName;
  private final StateStore state;
  private final WorkQueue queue;
  private final PodObserver observer;
  private final ObjectCache objects;
  private final PodReconciler reconciler;
  private final TokenRotator tokens;
  private final SubmitQueue submits;
  private final PodDeletion deletion;
  private SharedIndexInformer<Pod> informer;

  /**
   * @param plans builds a plan from a pod with the ConfigMaps and Secrets it is given
   */
  public PodController(
      KubernetesClient client,
      String nodeName,
      String hostIP,
      Backend backend,
      StateStore state,
      Function<ObjectSource, PlanBuilder> plans,
      BridgeConfig.Pods settings) {
    this(client, nodeName, hostIP, backend, state, plans, settings, TokenRotator.REFRESH_AT);
  }

  /** With another token refresh point (a share of each token's lifetime), for tests. */
  PodController(
      KubernetesClient client,
      String nodeName,
      String hostIP,
      Backend backend,
      StateStore state,
      Function<ObjectSource, PlanBuilder> plans,
      BridgeConfig.Pods settings,
      double tokenRefreshAt) {
    this.client = client;
    this.nodeName = nodeName;
    this.state = state;
    this.queue =
        new WorkQueue(
            "pods",
            settings.workers(),
            Duration.ofMillis(500),
            Duration.ofMinutes(5),
            this::reconcile);
    this.observer = new PodObserver(nodeName, backend, state, settings.pollInterval(), queue::add);
    // A submitted pod is looked at soon (most backends have started it by then), not at the next
    // poll: its Running shows a moment after the backend's.
    this.submits =
        new SubmitQueue(
            new Launcher(state, backend),
            settings.submitThreads(),
            settings.submitBatch(),
            uid -> {
              queue.add(uid);
              observer.pollSoon();
            });
    this.objects = new ObjectCache(client, queue::add);
    this.tokens = new TokenRotator(backend, objects, tokenRefreshAt);
    this.deletion = new PodDeletion(client, backend, state);
    this.reconciler =
        new PodReconciler(
            nodeName,
            hostIP,
            backend,
            state,
            plans.apply(objects),
            new StatusWriter(client),
            new Events(client, nodeName),
            objects,
            deletion,
            this::pod,
            submits,
            tokens);
  }

  public void start() {
    informer =
        client.pods().inAnyNamespace().withField("spec.nodeName", nodeName).runnableInformer(0);
    informer.addIndexers(Map.of(BY_UID, p -> List.of(p.getMetadata().getUid())));
    informer.addEventHandler(
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(Pod pod) {
            queue.add(pod.getMetadata().getUid());
          }

          @Override
          public void onUpdate(Pod old, Pod pod) {
            queue.add(pod.getMetadata().getUid());
          }

          @Override
          public void onDelete(Pod pod, boolean unknownFinalState) {
            queue.add(pod.getMetadata().getUid());
          }
        });
    informer.run(); // returns once the first list is in the cache
    // Rows whose pod vanished while the bridge was down: reconcile them too (cancel, forget).
    for (TrackedPod r : state.active(nodeName)) {
      if (pod(r.uid()) == null) {
        queue.add(r.uid());
      }
    }
    observer.start();
  }

  /** Keeps the state file from growing: rows of pods gone longer than {@code retention} go. */
  public void purgeGoneAfter(Duration retention) {
    observer.purgeEvery(retention);
  }

  private WorkQueue.Outcome reconcile(String uid) throws Exception {
    return reconciler.reconcile(uid);
  }

  /** The informer's copy of a pod bound here, by UID; null when it is gone. */
  private Pod pod(String uid) {
    List<Pod> found = informer == null ? List.of() : informer.getIndexer().byIndex(BY_UID, uid);
    return found.isEmpty() ? null : found.get(0);
  }

  /** Pods bound here, as the informer sees them (for the kubelet API's /pods). */
  public List<Pod> pods() {
    return informer == null ? List.of() : informer.getStore().list();
  }

  /**
   * The handle of the pod bound here now under namespace/name, for logs: found by its UID, so a pod
   * that reuses the name of an earlier one never gets the earlier one's logs.
   */
  public Optional<Handle> handle(String namespace, String name) {
    Pod pod = informer == null ? null : informer.getStore().getByKey(namespace + "/" + name);
    if (pod == null) {
      return Optional.empty();
    }
    return state.get(pod.getMetadata().getUid()).flatMap(TrackedPod::handle);
  }

  @Override
  public void close() {
    observer.close();
    tokens.close();
    submits.close();
    deletion.close();
    queue.close();
    if (informer != null) {
      informer.close();
    }
    objects.close();
  }
}
