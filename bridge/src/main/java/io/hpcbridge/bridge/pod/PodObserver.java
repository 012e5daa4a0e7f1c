package io.hpcbridge.bridge.pod;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.state.StateStore;
import io.hpcbridge.state.TrackedPod;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Observes every active pod of the node with ONE batched backend call per poll, records each
 * observation that changed in the state file, and hands those pods to the reconciler. It writes
 * nothing to Kubernetes: the reconciler turns observations into pod status.
 */
final class PodObserver implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodObserver.class);

  private final String nodeName;
  private final Backend backend;
  private final StateStore state;
  private final Duration interval;
  private static final Duration SOON = Duration.ofMillis(50);

  private final Consumer<String> changed;
  private final ScheduledExecutorService timer;
  private final AtomicBoolean soon = new AtomicBoolean();

  /**
   * @param changed gets the UID of each pod whose observation changed
   */
  PodObserver(
      String nodeName,
      Backend backend,
      StateStore state,
      Duration interval,
      Consumer<String> changed) {
    this.nodeName = nodeName;
    this.backend = backend;
    this.state = state;
    this.interval = interval;
    this.changed = changed;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "pods-observer");
              t.setDaemon(true);
              return t;
            });
  }

  void start() {
    backend.onChange(this::pollSoon); // backends that learn of changes need not wait for the poll
    timer.scheduleWithFixedDelay(this::pollSafely, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Every hour, drops the rows of pods gone for longer than {@code retention}. */
  void purgeEvery(Duration retention) {
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            state.purgeGone(retention);
          } catch (RuntimeException e) {
            log.warn("purging the state file failed: {}", e.toString());
          }
        },
        1,
        60,
        TimeUnit.MINUTES);
  }

  /**
   * Polls once more as soon as possible (after a submit), without doubling a pending request. The
   * short wait gathers the pods of a burst into one observation.
   */
  void pollSoon() {
    if (soon.compareAndSet(false, true)) {
      timer.schedule(
          () -> {
            soon.set(false);
            pollSafely();
          },
          SOON.toMillis(),
          TimeUnit.MILLISECONDS);
    }
  }

  private void pollSafely() {
    try {
      poll();
    } catch (Exception e) {
      log.warn("observing the pods failed: {}", e.toString());
    }
  }

  /** One batched observation of every submitted pod that has not ended. */
  void poll() throws Exception {
    Map<Handle, TrackedPod> active = new HashMap<>();
    for (TrackedPod p : state.active(nodeName)) {
      if (p.isSubmitted() && !p.isTerminal()) {
        active.put(p.handle().orElseThrow(), p);
      }
    }
    if (active.isEmpty()) {
      return;
    }
    Map<Handle, Observed> seen = backend.observe(List.copyOf(active.keySet()));
    // Only what changed is written, all in one transaction: a poll of thousands of pods that
    // mostly stand still costs one read and a small write.
    Map<String, Observed> news = new HashMap<>();
    for (var e : active.entrySet()) {
      Observed o = seen.get(e.getKey());
      TrackedPod p = e.getValue();
      if (o != null && !(p.phase() == o.phase() && p.observed().equals(Optional.of(o)))) {
        news.put(p.uid(), o);
      }
    }
    try {
      state.recordObserved(news).forEach(changed);
    } catch (RuntimeException batch) {
      // One bad row must not hold up the others: record them one by one.
      news.forEach(
          (uid, o) -> {
            try {
              if (state.recordObserved(uid, o)) {
                changed.accept(uid);
              }
            } catch (RuntimeException ex) {
              log.warn("pod {}: cannot record its observation: {}", uid, ex.toString());
            }
          });
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
