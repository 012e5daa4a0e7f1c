package io.hpcbridge.bridge.kubelet;

import java.util.HashMap;
import java.util.Map;

/**
 * How many log follows may stream at once, in all and per namespace: each holds a thread for as
 * long as it streams, so one tenant's followers must not take every one.
 */
final class FollowLimits {
  private final int max;
  private final int maxPerNamespace;
  private int total;
  private final Map<String, Integer> perNamespace = new HashMap<>();

  FollowLimits(int max, int maxPerNamespace) {
    this.max = max;
    this.maxPerNamespace = maxPerNamespace;
  }

  /** Null when a follow of {@code namespace} may start (then {@link #release} it), else why not. */
  synchronized String acquire(String namespace) {
    int mine = perNamespace.getOrDefault(namespace, 0);
    if (mine >= maxPerNamespace) {
      return "namespace " + namespace + " already follows " + mine + " logs on this node";
    }
    if (total >= max) {
      return "this node already streams " + total + " log follows";
    }
    total++;
    perNamespace.put(namespace, mine + 1);
    return null;
  }

  synchronized void release(String namespace) {
    total--;
    perNamespace.merge(namespace, -1, Integer::sum);
    if (perNamespace.get(namespace) <= 0) {
      perNamespace.remove(namespace);
    }
  }
}
