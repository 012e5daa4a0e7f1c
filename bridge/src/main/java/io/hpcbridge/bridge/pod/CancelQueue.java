package io.hpcbridge.bridge.pod;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cancels pods in batches on its own thread: what piled up is grouped by grace period (in whole
 * seconds, rounded up so no pod gets less than it asked for) and each group is one {@link
 * Backend#cancelAll}, so deleting a thousand pods is a few {@code scancel} calls, not a thousand.
 * Cancelling returns at once anyway (completion shows in the next observation); a pod whose cancel
 * failed is reported back so its deletion asks again.
 */
final class CancelQueue implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(CancelQueue.class);
  private static final int MAX_BATCH = 500;

  private record Request(String uid, Handle handle, Duration grace) {}

  private final Backend backend;
  private final Consumer<String> failed;
  private final BlockingQueue<Request> waiting = new LinkedBlockingQueue<>();
  private final ExecutorService thread =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "pods-cancel");
            t.setDaemon(true);
            return t;
          });

  /**
   * @param failed called with the UID of a pod the backend could not cancel
   */
  CancelQueue(Backend backend, Consumer<String> failed) {
    this.backend = backend;
    this.failed = failed;
    thread.execute(this::loop);
  }

  void cancel(String uid, Handle handle, Duration grace) {
    long seconds = (grace.toMillis() + 999) / 1000;
    waiting.add(new Request(uid, handle, Duration.ofSeconds(Math.max(0, seconds))));
  }

  private void loop() {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        List<Request> batch = new ArrayList<>();
        batch.add(waiting.take());
        waiting.drainTo(batch, MAX_BATCH - 1);
        Map<Duration, List<Request>> byGrace = new LinkedHashMap<>();
        for (Request r : batch) {
          byGrace.computeIfAbsent(r.grace(), g -> new ArrayList<>()).add(r);
        }
        byGrace.forEach(this::cancel);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void cancel(Duration grace, List<Request> group) {
    Map<Handle, String> uids = new LinkedHashMap<>();
    group.forEach(r -> uids.put(r.handle(), r.uid()));
    Map<Handle, BackendException> errors;
    long t0 = System.nanoTime();
    try {
      errors = backend.cancelAll(uids.keySet(), grace);
      log.info(
          "cancelled {} pods (grace {} s) in {} ms",
          uids.size(),
          grace.toSeconds(),
          (System.nanoTime() - t0) / 1_000_000);
    } catch (RuntimeException e) {
      log.warn("cancelling {} pods failed: {}", group.size(), e.toString());
      uids.values().forEach(failed);
      return;
    }
    errors.forEach(
        (h, e) -> {
          log.warn("cancelling {} failed (asked again): {}", h, e.getMessage());
          String uid = uids.get(h);
          if (uid != null) {
            failed.accept(uid);
          }
        });
  }

  @Override
  public void close() {
    thread.shutdownNow();
  }
}
