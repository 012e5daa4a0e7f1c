package io.hpcbridge.bridge.plan;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.hpcbridge.backend.PodRef;
import java.time.Instant;
import java.util.Optional;

/** Where the plan builder finds ConfigMaps and Secrets: the API server, or a manifest file. */
public interface ObjectSource {
  Optional<ConfigMap> configMap(String namespace, String name);

  Optional<Secret> secret(String namespace, String name);

  /** A service account token and when it expires. */
  record Token(String value, Instant expires) {}

  /**
   * A service account token bound to {@code pod} (it stops working when the pod is gone), for a
   * projected {@code serviceAccountToken} source; empty where none can be had (no cluster). The API
   * server may shorten the lifetime asked for to its own maximum.
   */
  default Optional<Token> serviceAccountToken(
      PodRef pod, String serviceAccount, String audience, long expirationSeconds) {
    return Optional.empty();
  }
}
