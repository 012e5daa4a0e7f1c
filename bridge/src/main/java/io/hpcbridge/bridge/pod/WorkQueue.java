package io.hpcbridge.bridge.pod;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A controller work queue: keys are deduplicated while waiting, a key is never processed by two
 * workers at once (a key added while it runs is processed again afterwards), and failures are
 * retried with exponential backoff.
 */
public final class WorkQueue implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkQueue.class);

  /** What a handler returns. */
  public sealed interface Outcome {}

  /** Done; forget any backoff. */
  public record Done() implements Outcome {}

  /** Try again after the key's next backoff step. */
  public record Retry(String why) implements Outcome {}

  /** Look again after a fixed delay (not an error). */
  public record After(Duration delay) implements Outcome {}

  public static final Outcome DONE = new Done();

  public interface Handler {
    Outcome handle(String key) throws Exception;
  }

  private final Handler handler;
  private final ExecutorService workers;
  private final ScheduledExecutorService timer;
  private final Duration baseDelay;
  private final Duration maxDelay;
  private final Object lock = new Object();
  private final LinkedHashSet<String> queued = new LinkedHashSet<>();
  private final Set<String> running = new HashSet<>();
  private final Set<String> dirty = new HashSet<>();
  private final Map<String, Integer> failures = new HashMap<>();
  private final int size;
  private int busy;
  private volatile boolean closed;

  public WorkQueue(
      String name, int workers, Duration baseDelay, Duration maxDelay, Handler handler) {
    this.handler = handler;
    this.size = workers;
    this.baseDelay = baseDelay;
    this.maxDelay = maxDelay;
    this.workers = Executors.newFixedThreadPool(workers, r -> daemon(r, name + "-worker"));
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, name + "-timer"));
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  public void add(String key) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      if (running.contains(key)) {
        dirty.add(key);
        return;
      }
      queued.add(key);
      dispatch();
    }
  }

  public void addAfter(String key, Duration delay) {
    if (!closed) {
      timer.schedule(() -> add(key), delay.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** How many keys wait or run; for metrics and tests. */
  public int depth() {
    synchronized (lock) {
      return queued.size() + running.size();
    }
  }

  private void dispatch() {
    while (!closed && busy < size && !queued.isEmpty()) {
      String key = null;
      for (String k : queued) {
        if (!running.contains(k)) {
          key = k;
          break;
        }
      }
      if (key == null) {
        return;
      }
      queued.remove(key);
      running.add(key);
      busy++;
      String k = key;
      workers.execute(() -> run(k));
    }
  }

  private void run(String key) {
    Outcome outcome;
    try {
      outcome = handler.handle(key);
    } catch (Throwable e) {
      // Whatever the handler throws, the key must leave "running" and the worker slot be freed,
      // or the key is never reconciled again and the pool shrinks.
      log.warn("reconcile {} failed: {}", key, e.toString(), e);
      outcome = new Retry(e.toString());
    }
    synchronized (lock) {
      running.remove(key);
      busy--;
      if (dirty.remove(key)) {
        queued.add(key);
      }
      if (outcome instanceof Retry) {
        int n = failures.merge(key, 1, Integer::sum);
        long delay = Math.min(maxDelay.toMillis(), baseDelay.toMillis() << Math.min(20, n - 1));
        addAfter(key, Duration.ofMillis(delay));
      } else {
        failures.remove(key);
        if (outcome instanceof After a) {
          addAfter(key, a.delay());
        }
      }
      dispatch();
    }
  }

  @Override
  public void close() {
    synchronized (lock) {
      closed = true; // under the lock: no dispatch hands a key to the pool being shut down
    }
    timer.shutdownNow();
    workers.shutdownNow();
  }
}
