package io.hpcbridge.bridge.node;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendCondition;
import io.hpcbridge.backend.Capacity;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks the backend how it is, on its own threads and with its own timeout, and keeps the last
 * answer for the node status: a backend that hangs (a slow SSH link) turns the node NotReady after
 * {@code timeout} but never delays anything else. Only one probe runs at a time; a probe still
 * hanging when the next is due is not doubled.
 */
public final class BackendProbe implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BackendProbe.class);

  /**
   * What the last probe learnt.
   *
   * @param problem null when the backend answered its ping, else why the node is not Ready
   * @param conditions the backend's own node conditions
   * @param capacity the last capacity the backend reported (kept while it does not answer)
   * @param at when this was learnt
   */
  public record Health(
      String problem, List<BackendCondition> conditions, Capacity capacity, Instant at) {
    public boolean ready() {
      return problem == null;
    }

    /** Whether the node status must be written again: readiness or conditions changed. */
    boolean differsFrom(Health other) {
      return other == null
          || !Objects.equals(problem, other.problem)
          || !conditions.equals(other.conditions)
          || !capacity.equals(other.capacity);
    }
  }

  private static final Capacity NONE = new Capacity(0, 0, 0, 0, Map.of());

  private final Backend backend;
  private final Duration interval;
  private final Duration timeout;
  private final Runnable onChange;
  private final ScheduledExecutorService timer;
  private final ExecutorService worker;
  private final AtomicBoolean running = new AtomicBoolean();
  private volatile Health last;
  private volatile Instant probeStarted;

  /**
   * @param interval how often the backend is asked
   * @param timeout how long an answer may take before the node is NotReady
   * @param onChange called (on the probe's thread) when readiness, conditions or capacity change
   */
  public BackendProbe(Backend backend, Duration interval, Duration timeout, Runnable onChange) {
    this.backend = backend;
    this.interval = interval;
    this.timeout = timeout;
    this.onChange = onChange;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "backend-probe"));
    this.worker = Executors.newCachedThreadPool(r -> daemon(r, "backend-probe-call"));
    this.last =
        new Health("the " + backend.name() + " backend was not asked yet", List.of(), NONE, null);
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  /** Probes once, waiting up to the timeout, then keeps probing in the background. */
  public void start() {
    probeNow().join();
    timer.scheduleWithFixedDelay(
        this::tick, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  public Health health() {
    return last;
  }

  private void tick() {
    Instant started = probeStarted;
    if (running.get()) {
      // The previous call still hangs: say so once it is past the timeout, but start no other.
      if (started != null && Duration.between(started, Instant.now()).compareTo(timeout) > 0) {
        update(new Health(hung(started), last.conditions(), last.capacity(), Instant.now()));
      }
      return;
    }
    probeNow();
  }

  private String hung(Instant started) {
    return backend.name()
        + " backend did not answer its health check within "
        + timeout.toSeconds()
        + "s (asked at "
        + started
        + ")";
  }

  /** One probe: ping, capacity and conditions on a worker thread, bounded by the timeout. */
  private CompletableFuture<Void> probeNow() {
    if (!running.compareAndSet(false, true)) {
      return CompletableFuture.completedFuture(null);
    }
    Instant started = Instant.now();
    probeStarted = started;
    CompletableFuture<Health> call =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                backend.ping();
                Capacity c = backend.capacity();
                return new Health(null, conditions(), c, Instant.now());
              } catch (Exception | Error e) {
                String m = e.getMessage() == null ? e.toString() : e.getMessage();
                return new Health(
                    backend.name() + " backend unreachable: " + m,
                    conditions(),
                    last.capacity(),
                    Instant.now());
              } finally {
                running.set(false);
              }
            },
            worker);
    return call.completeOnTimeout(null, timeout.toMillis(), TimeUnit.MILLISECONDS)
        .thenAccept(
            h ->
                update(
                    h != null
                        ? h
                        : new Health(
                            hung(started), last.conditions(), last.capacity(), Instant.now())));
  }

  private List<BackendCondition> conditions() {
    try {
      return List.copyOf(backend.conditions());
    } catch (RuntimeException e) {
      log.warn("backend conditions failed: {}", e.toString());
      return last.conditions(); // keep the last ones
    }
  }

  private synchronized void update(Health h) {
    Health before = last;
    last = h;
    if (h.differsFrom(before)) {
      if (!Objects.equals(before.problem(), h.problem())) {
        log.info("backend health changed: {}", h.ready() ? "ready" : h.problem());
      }
      try {
        onChange.run();
      } catch (RuntimeException e) {
        log.warn("node update after a backend health change failed: {}", e.toString());
      }
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    worker.shutdownNow();
  }
}
