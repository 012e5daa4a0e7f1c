package io.hpcbridge.bridge.bench;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * When the test first saw each pod of a namespace in a phase (epoch ms), through a watch (an
 * informer), so the time is when the API server sent the change, not when a poll came round.
 */
final class PhaseClock implements AutoCloseable {
  private final Map<String, Map<String, Long>> firstSeen = new ConcurrentHashMap<>();
  private final SharedIndexInformer<Pod> informer;

  PhaseClock(KubernetesClient client, String namespace) {
    informer =
        client
            .pods()
            .inNamespace(namespace)
            .inform(
                new ResourceEventHandler<>() {
                  @Override
                  public void onAdd(Pod p) {
                    seen(p);
                  }

                  @Override
                  public void onUpdate(Pod old, Pod p) {
                    seen(p);
                  }

                  @Override
                  public void onDelete(Pod p, boolean unknownFinalState) {}
                },
                0);
  }

  private void seen(Pod p) {
    long now = System.currentTimeMillis();
    if (p.getStatus() != null && p.getStatus().getPhase() != null) {
      firstSeen
          .computeIfAbsent(p.getStatus().getPhase(), k -> new ConcurrentHashMap<>())
          .putIfAbsent(p.getMetadata().getName(), now);
    }
  }

  /** Pod name → when it was first seen in {@code phase}. */
  Map<String, Long> first(String phase) {
    return firstSeen.computeIfAbsent(phase, k -> new ConcurrentHashMap<>());
  }

  @Override
  public void close() {
    informer.close();
  }
}
