package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Submission;
import io.hpcbridge.bridge.plan.PlanBuilder.TokenSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes the backend off the reconcile workers. Pods ready to run wait here; a few threads each take
 * what has piled up (up to {@code maxBatch} pods) and submit it with {@link Launcher#launchAll}, so
 * a burst of pods becomes a few batched backend calls and state transactions instead of one of each
 * per pod. When a pod is done its UID goes back to the work queue, where the reconciler writes its
 * event and status; while a pod waits or is being submitted here, the reconciler leaves it alone.
 */
final class SubmitQueue implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SubmitQueue.class);

  /** A pod's submission, with what the reconciler needs afterwards. */
  record Done(Submission submission, PodPlan plan, List<TokenSource> tokens) {}

  private record Request(Pod pod, PodPlan plan, List<TokenSource> tokens) {}

  private final Launcher launcher;
  private final int maxBatch;
  private final Consumer<String> finished;
  private final BlockingQueue<Request> waiting = new LinkedBlockingQueue<>();
  private final Set<String> busy = ConcurrentHashMap.newKeySet();
  private final Map<String, Done> done = new ConcurrentHashMap<>();
  private final ExecutorService threads;

  /**
   * @param finished called with a pod's UID once its {@link Done} can be taken
   */
  SubmitQueue(Launcher launcher, int threads, int maxBatch, Consumer<String> finished) {
    this.launcher = launcher;
    this.maxBatch = maxBatch;
    this.finished = finished;
    this.threads =
        Executors.newFixedThreadPool(
            threads,
            r -> {
              Thread t = new Thread(r, "pods-submit");
              t.setDaemon(true);
              return t;
            });
    for (int i = 0; i < threads; i++) {
      this.threads.execute(this::loop);
    }
  }

  /** Whether the pod waits here or is being submitted. */
  boolean busy(String uid) {
    return busy.contains(uid);
  }

  void add(Pod pod, PodPlan plan, List<TokenSource> tokens) {
    busy.add(plan.pod().uid());
    waiting.add(new Request(pod, plan, tokens));
  }

  /** The pod's finished submission, once; empty if there is none. */
  Optional<Done> take(String uid) {
    return Optional.ofNullable(done.remove(uid));
  }

  /** Forgets a finished submission nobody will take (the pod is gone). */
  void forget(String uid) {
    done.remove(uid);
  }

  private void loop() {
    try {
      while (!Thread.currentThread().isInterrupted()) {
        List<Request> batch = new ArrayList<>();
        batch.add(waiting.take());
        waiting.drainTo(batch, maxBatch - 1);
        submit(batch);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void submit(List<Request> batch) {
    List<Submission> out;
    try {
      out =
          launcher.launchAll(
              batch.stream().map(Request::pod).toList(),
              batch.stream().map(Request::plan).toList());
    } catch (RuntimeException | LinkageError e) {
      // The state file refused the batch, or a backend broke: nothing was submitted for a pod
      // whose intent is not recorded, and a pod whose handle is not recorded is found by UID on
      // the retry. Either way the pods go back to the reconciler, never stay here.
      log.warn("submitting {} pods failed: {}", batch.size(), e.toString());
      out = new ArrayList<>();
      for (Request r : batch) {
        out.add(
            Submission.failed(
                r.plan().pod(), new BackendException.Transient("submitting failed: " + e, e)));
      }
    }
    for (int i = 0; i < batch.size(); i++) {
      Request r = batch.get(i);
      String uid = r.plan().pod().uid();
      done.put(uid, new Done(out.get(i), r.plan(), r.tokens()));
      busy.remove(uid); // after done.put: the reconciler never sees neither
      finished.accept(uid);
    }
  }

  @Override
  public void close() {
    threads.shutdownNow();
  }
}
