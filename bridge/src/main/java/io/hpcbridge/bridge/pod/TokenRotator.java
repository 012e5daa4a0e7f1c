package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.bridge.plan.ObjectSource;
import io.hpcbridge.bridge.plan.PlanBuilder.TokenSource;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the projected service account tokens of running pods fresh, like the kubelet: each token is
 * replaced once {@link #REFRESH_AT} of its lifetime has passed, through {@link
 * Backend#updateVolume}, with a new one bound to the same pod.
 */
final class TokenRotator implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TokenRotator.class);

  /** The share of a token's lifetime after which it is replaced. */
  static final double REFRESH_AT = 0.8;

  private static final Duration RETRY = Duration.ofSeconds(30);
  private static final Duration MAX_AGE = Duration.ofHours(24);
  private static final Duration MIN_DELAY = Duration.ofSeconds(10);

  private final Backend backend;
  private final ObjectSource objects;
  private final double refreshAt;
  private final ScheduledExecutorService timer;
  private final Map<String, List<ScheduledFuture<?>>> scheduled = new ConcurrentHashMap<>();

  TokenRotator(Backend backend, ObjectSource objects) {
    this(backend, objects, REFRESH_AT);
  }

  /** With another refresh point, so tests need not wait 80 % of ten minutes. */
  TokenRotator(Backend backend, ObjectSource objects, double refreshAt) {
    this.backend = backend;
    this.objects = objects;
    this.refreshAt = refreshAt;
    this.timer =
        Executors.newScheduledThreadPool(
            4,
            r -> {
              Thread t = new Thread(r, "token-rotator");
              t.setDaemon(true);
              return t;
            });
  }

  boolean tracking(String uid) {
    return scheduled.containsKey(uid);
  }

  /** Rotates the tokens a pod was just submitted with. */
  void track(PodRef pod, Handle handle, List<TokenSource> tokens) {
    if (tokens.isEmpty()) {
      return;
    }
    List<ScheduledFuture<?>> mine = new ArrayList<>();
    scheduled.put(pod.uid(), mine);
    for (TokenSource t : tokens) {
      schedule(pod, handle, t, mine);
    }
  }

  /**
   * Rotates the tokens of a pod submitted before this process started (their times are not known
   * any more): each is replaced now.
   */
  void trackRunning(Pod pod, Handle handle) {
    PodRef ref =
        new PodRef(
            pod.getMetadata().getNamespace(),
            pod.getMetadata().getName(),
            pod.getMetadata().getUid());
    List<TokenSource> found = new ArrayList<>();
    String sa =
        pod.getSpec().getServiceAccountName() == null
            ? "default"
            : pod.getSpec().getServiceAccountName();
    Instant now = Instant.now();
    for (Volume v : list(pod.getSpec().getVolumes())) {
      if (v.getProjected() == null) {
        continue;
      }
      for (VolumeProjection p : list(v.getProjected().getSources())) {
        var src = p.getServiceAccountToken();
        if (src != null) {
          long seconds = src.getExpirationSeconds() == null ? 3600 : src.getExpirationSeconds();
          found.add(
              new TokenSource(
                  v.getName(), src.getPath(), sa, src.getAudience(), seconds, now, now));
        }
      }
    }
    if (found.isEmpty()) {
      scheduled.put(ref.uid(), List.of()); // nothing to rotate; do not look again
      return;
    }
    track(ref, handle, found);
  }

  void untrack(String uid) {
    List<ScheduledFuture<?>> mine = scheduled.remove(uid);
    if (mine != null) {
      synchronized (mine) {
        mine.forEach(f -> f.cancel(false));
      }
    }
  }

  private void schedule(PodRef pod, Handle handle, TokenSource t, List<ScheduledFuture<?>> mine) {
    // The lifetime granted, but what the pod asked for at most: an API server that extends
    // tokens (to a year) must not delay rotation that long; and never tighter than MIN_DELAY,
    // whatever the clocks say.
    long life =
        Math.min(
            Duration.between(t.issued(), t.expires()).toMillis(),
            Duration.ofSeconds(t.expirationSeconds()).toMillis());
    Instant due = t.issued().plusMillis((long) (life * refreshAt));
    if (due.isAfter(t.issued().plus(MAX_AGE))) {
      due = t.issued().plus(MAX_AGE);
    }
    long delay = Duration.between(Instant.now(), due).toMillis();
    if (t.expires().isAfter(t.issued())) {
      delay = Math.max(delay, Math.min(MIN_DELAY.toMillis(), (long) (life * refreshAt)));
    }
    delay = Math.max(0, delay);
    synchronized (mine) {
      mine.removeIf(ScheduledFuture::isDone);
      mine.add(timer.schedule(() -> rotate(pod, handle, t, mine), delay, TimeUnit.MILLISECONDS));
    }
  }

  private void rotate(PodRef pod, Handle handle, TokenSource t, List<ScheduledFuture<?>> mine) {
    if (scheduled.get(pod.uid()) != mine) {
      return; // untracked meanwhile
    }
    TokenSource next = t;
    try {
      Instant issued = Instant.now();
      Optional<ObjectSource.Token> token =
          objects.serviceAccountToken(pod, t.serviceAccount(), t.audience(), t.expirationSeconds());
      if (token.isEmpty()) {
        throw new IllegalStateException("the API server issued no token");
      }
      backend.updateVolume(
          handle,
          new VolumePlan(
              t.volume(),
              VolumePlan.Type.PROJECTED,
              List.of(
                  new VolumePlan.FilePlan(
                      t.path(), token.get().value().getBytes(StandardCharsets.UTF_8), 0600)),
              null,
              true));
      next =
          new TokenSource(
              t.volume(),
              t.path(),
              t.serviceAccount(),
              t.audience(),
              t.expirationSeconds(),
              issued,
              token.get().expires());
      log.debug(
          "pod {}: rotated the token in volume {}, expires {}", pod, t.volume(), next.expires());
      schedule(pod, handle, next, mine);
    } catch (UnsupportedOperationException e) {
      log.warn("pod {}: its token cannot be rotated: {}", pod, e.getMessage());
    } catch (Exception e) {
      log.warn("pod {}: cannot rotate the token in volume {}: {}", pod, t.volume(), e.toString());
      synchronized (mine) {
        if (scheduled.get(pod.uid()) == mine) {
          mine.add(
              timer.schedule(
                  () -> rotate(pod, handle, t, mine), RETRY.toMillis(), TimeUnit.MILLISECONDS));
        }
      }
    }
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
