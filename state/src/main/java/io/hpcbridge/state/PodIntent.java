package io.hpcbridge.state;

import java.util.Objects;

/**
 * What the bridge is about to ask a backend to run. {@code planJson} may be null for a pod that
 * failed before a plan could be built; it must never contain secret values.
 */
public record PodIntent(
    String uid,
    String namespace,
    String name,
    String node,
    String backend,
    String podJson,
    String planJson) {

  public PodIntent {
    Objects.requireNonNull(uid, "uid");
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(podJson, "podJson");
  }
}
