package io.hpcbridge.bridge.it;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.client.KubernetesClient;

/** Node facts tests wait for. */
final class Nodes {
  private Nodes() {}

  static String readyStatus(KubernetesClient client, String name) {
    Node n = client.nodes().withName(name).get();
    if (n == null || n.getStatus() == null || n.getStatus().getConditions() == null) {
      return null;
    }
    return n.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals("Ready"))
        .map(NodeCondition::getStatus)
        .findFirst()
        .orElse(null);
  }

  static boolean ready(KubernetesClient client, String name) {
    return "True".equals(readyStatus(client, name));
  }

  static boolean hasTaint(KubernetesClient client, String name, String key) {
    Node n = client.nodes().withName(name).get();
    return n != null
        && n.getSpec().getTaints() != null
        && n.getSpec().getTaints().stream().anyMatch(t -> t.getKey().equals(key));
  }
}
