package io.hpcbridge.state;

import io.hpcbridge.backend.PodRef;
import java.util.Objects;

/**
 * What the bridge is about to ask a backend to run. {@code planJson} may be null for a pod that
 * failed before a plan could be built; it must never contain secret values.
 */
public record PodIntent(PodRef ref, String node, String backend, String podJson, String planJson) {

  public PodIntent {
    Objects.requireNonNull(ref, "ref");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(podJson, "podJson");
  }
}
