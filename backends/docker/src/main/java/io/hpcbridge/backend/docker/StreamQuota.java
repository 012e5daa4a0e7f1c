package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.BackendException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Each namespace's share of a host's stream connections ({@code maxStreams}): how many log streams
 * a pod and a namespace, and how many image pulls a namespace, may hold on one host at once, so
 * that one tenant's follows or slow pulls leave connections for the others. A share is taken
 * without waiting: a log stream over it is refused, a pull over it waits its turn in the pod's
 * start-up.
 */
final class StreamQuota {

  /** A log stream's or a pull's place in its shares, held until closed (closing twice is fine). */
  static final class Slot implements AutoCloseable {
    private final StreamQuota quota;
    private final String[] keys;
    private final AtomicBoolean closed = new AtomicBoolean();

    private Slot(StreamQuota quota, String... keys) {
      this.quota = quota;
      this.keys = keys;
    }

    @Override
    public void close() {
      if (closed.compareAndSet(false, true)) {
        quota.giveBack(keys);
      }
    }
  }

  private final int pullsPerNamespace;
  private final int logStreamsPerNamespace;
  private final int logStreamsPerPod;
  private final Map<String, Integer> held = new HashMap<>();

  StreamQuota(DockerSettings s) {
    this.pullsPerNamespace = s.maxPullsPerNamespace();
    this.logStreamsPerNamespace = s.maxLogStreamsPerNamespace();
    this.logStreamsPerPod = s.maxLogStreamsPerPod();
  }

  /**
   * A place for one more log stream of pod {@code pod} ({@code uid}) of namespace {@code ns} on
   * {@code host}, or a transient refusal naming the share that is full.
   */
  synchronized Slot logStream(String host, String ns, String pod, String uid)
      throws BackendException.Transient {
    String byPod = "log/" + host + "/pod/" + uid;
    String byNamespace = "log/" + host + "/ns/" + ns;
    if (count(byPod) >= logStreamsPerPod) {
      throw new BackendException.Transient(
          "pod "
              + pod
              + " already has "
              + logStreamsPerPod
              + " log streams open on docker host "
              + host
              + " (backends.docker.maxLogStreamsPerPod); close one and try again");
    }
    if (count(byNamespace) >= logStreamsPerNamespace) {
      throw new BackendException.Transient(
          "namespace "
              + ns
              + " already has "
              + logStreamsPerNamespace
              + " log streams open on docker host "
              + host
              + " (backends.docker.maxLogStreamsPerNamespace); close one and try again");
    }
    return take(byPod, byNamespace);
  }

  /** A place for one more image pull of namespace {@code ns} on {@code host}, or null. */
  synchronized Slot pull(String host, String ns) {
    String key = "pull/" + host + "/ns/" + ns;
    return count(key) >= pullsPerNamespace ? null : take(key);
  }

  /** Why a pull waits, when {@link #pull} said no. */
  String pullsFull(String host, String ns) {
    return "waiting for an image pull slot: namespace "
        + ns
        + " already pulls "
        + pullsPerNamespace
        + " image"
        + (pullsPerNamespace == 1 ? "" : "s")
        + " on docker host "
        + host
        + " (backends.docker.maxPullsPerNamespace)";
  }

  /** Slots held now, for tests. */
  synchronized int held() {
    return held.values().stream().mapToInt(Integer::intValue).sum();
  }

  private int count(String key) {
    return held.getOrDefault(key, 0);
  }

  private Slot take(String... keys) {
    for (String k : keys) {
      held.merge(k, 1, Integer::sum);
    }
    return new Slot(this, keys);
  }

  private synchronized void giveBack(String[] keys) {
    for (String k : keys) {
      held.computeIfPresent(k, (x, n) -> n <= 1 ? null : n - 1);
    }
  }
}
