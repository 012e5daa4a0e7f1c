package io.hpcbridge.bridge.plan;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import java.util.Optional;

/** Where the plan builder finds ConfigMaps and Secrets: the API server, or a manifest file. */
public interface ObjectSource {
  Optional<ConfigMap> configMap(String namespace, String name);

  Optional<Secret> secret(String namespace, String name);

  /**
   * A bound service account token for a projected {@code serviceAccountToken} source; empty where
   * none can be had (no cluster).
   */
  default Optional<String> serviceAccountToken(
      String namespace, String serviceAccount, String audience, long expirationSeconds) {
    return Optional.empty();
  }
}
