package io.hpcbridge.bridge.pod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes pods/status: computes the change from what the API server has (the informer's copy, or
 * this writer's own last write when the informer has not seen it yet) to the desired status, and
 * sends it as a merge patch that also removes vanished fields. Sends nothing when nothing changed.
 */
final class StatusWriter {

  private final KubernetesClient client;

  /**
   * The status the API server returned for this writer's last patch of a pod, until the informer's
   * copy of the pod has moved past the version it was patched from.
   */
  private record Written(String fromVersion, JsonNode status) {}

  private final Map<String, Written> written = new ConcurrentHashMap<>();

  StatusWriter(KubernetesClient client) {
    this.client = client;
  }

  /**
   * The status the API server has, as far as this process knows: its last write when the cached pod
   * does not show it yet, else the cached pod's.
   */
  PodStatus current(Pod pod) {
    JsonNode mine = mine(pod);
    return mine != null
        ? Serialization.unmarshal(mine.toString(), PodStatus.class)
        : pod.getStatus();
  }

  /** This writer's last write, while the cached pod does not show it yet; else null. */
  private JsonNode mine(Pod pod) {
    Written w = written.get(pod.getMetadata().getUid());
    if (w == null) {
      return null;
    }
    if (!w.fromVersion().equals(pod.getMetadata().getResourceVersion())) {
      written.remove(pod.getMetadata().getUid(), w); // the informer caught up
      return null;
    }
    return w.status();
  }

  /**
   * Writes {@code desired} when it differs from the pod's current status.
   *
   * @return whether a patch was sent (false when unchanged or the pod is gone)
   */
  boolean write(Pod pod, PodStatus desired) {
    String uid = pod.getMetadata().getUid();
    JsonNode to = tree(desired);
    JsonNode mine = mine(pod);
    JsonNode from = mine != null ? mine : pod.getStatus() == null ? null : tree(pod.getStatus());
    ObjectNode patch = StatusPatch.diff(from, to);
    if (patch.isEmpty()) {
      return false;
    }
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.set("status", patch);
    try {
      Pod after =
          client
              .pods()
              .inNamespace(pod.getMetadata().getNamespace())
              .withName(pod.getMetadata().getName())
              .subresource("status")
              .patch(PatchContext.of(PatchType.JSON_MERGE), body.toString());
      written.put(
          uid,
          new Written(
              pod.getMetadata().getResourceVersion(),
              after.getStatus() == null ? to : tree(after.getStatus())));
      return true;
    } catch (KubernetesClientException e) {
      if (e.getCode() == 404) {
        return false;
      }
      throw e;
    }
  }

  /** Forgets a pod that is gone. */
  void forget(String uid) {
    written.remove(uid);
  }

  private static JsonNode tree(PodStatus s) {
    return Serialization.jsonMapper().valueToTree(s);
  }
}
