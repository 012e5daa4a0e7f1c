package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.BackendException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops pods and removes them, with short calls only, so that a long grace period holds no
 * connection to the host: every running container of a cancelled pod gets its stop signal (its
 * image's STOPSIGNAL, else SIGTERM; like {@code docker stop}, this also keeps Docker from
 * restarting it), and SIGKILL once the grace period is over if it still runs; then the sandbox,
 * with 2 s; again if something still runs after that (its host was down, a restart policy raced);
 * and, once the pod is gone from Kubernetes, its containers and volumes are removed. Never starts
 * anything; a cancelled pod's start-up starts nothing either (both hold the pod's lock to decide).
 */
final class PodStopper {
  private static final Logger log = LoggerFactory.getLogger(PodStopper.class);

  /** The sandbox only sleeps: it gets this long to end on its stop signal. */
  static final Duration SANDBOX_GRACE = Duration.ofSeconds(2);

  private final String nodeName;
  private final PodStore store;
  private final ExecutorService io;
  private final ScheduledExecutorService timer;

  PodStopper(String nodeName, PodStore store, ExecutorService io, ScheduledExecutorService timer) {
    this.nodeName = nodeName;
    this.store = store;
    this.io = io;
    this.timer = timer;
  }

  /** Asks the pod to stop; returns at once. Calling it again restarts the grace period. */
  void cancel(PodStartup s, Duration grace) throws BackendException {
    synchronized (s) {
      if (!s.cancelled) {
        store.markCancelled(s.uid);
        s.cancelled = true;
      }
      s.grace = grace == null || grace.isNegative() ? Duration.ZERO : grace;
    }
    if (!s.host.reachable()) {
      throw new BackendException.Transient(
          "docker host " + s.host.name() + " is unreachable: " + s.host.lastError());
    }
    stop(s);
  }

  /** The pod ran past its activeDeadlineSeconds: it fails and is stopped with its grace period. */
  void deadline(PodStartup s, Duration grace) {
    synchronized (s) {
      store.markDeadlineExceeded(s.uid);
      store.markCancelled(s.uid);
      s.deadlineExceeded = true;
      s.cancelled = true;
      s.grace = grace;
    }
    stop(s);
  }

  /**
   * Stops every running container of the pod (each with the grace period), then its sandbox; checks
   * again 10 s later when something still runs.
   */
  void stop(PodStartup s) {
    if (!s.stopping.compareAndSet(false, true)) {
      return;
    }
    Round r =
        new Round(
            s.host,
            s.uid,
            s.grace,
            active -> {
              s.stopping.set(false);
              if (active && !s.released) {
                schedule(() -> stop(s), 10_000);
              }
            });
    if (!execute(r::begin)) {
      s.stopping.set(false); // closed
    }
  }

  /** Stops the sandbox of a pod that has ended, in the background. */
  void stopSandbox(DockerHost host, String uid, String sandboxId) {
    Round r = new Round(host, uid, Duration.ZERO, null);
    execute(() -> r.sandbox(sandboxId));
  }

  private boolean execute(Runnable task) {
    try {
      io.execute(task);
      return true;
    } catch (RejectedExecutionException e) {
      return false;
    }
  }

  private void schedule(Runnable task, long delayMillis) {
    try {
      timer.schedule(() -> execute(task), delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  private static boolean active(Container c) {
    String st = c.getState();
    return "running".equals(st) || "restarting".equals(st) || "paused".equals(st);
  }

  /**
   * One round of stops on the backend's threads: signal, look again (after 250 ms, doubling up to 5
   * s) until what was signalled has ended or its grace period is over, SIGKILL what still runs,
   * then the same for the sandbox. {@code done} learns whether anything of the pod still runs
   * (null: only the sandbox is stopped, nothing more is asked).
   */
  private final class Round {
    private final DockerHost host;
    private final String uid;
    private final Duration grace;
    private final Consumer<Boolean> done;
    private List<String> waiting = List.of();
    private String sandboxId;
    private boolean sandboxTurn;
    private long deadlineNanos;
    private long pollMillis;

    Round(DockerHost host, String uid, Duration grace, Consumer<Boolean> done) {
      this.host = host;
      this.uid = uid;
      this.grace = grace;
      this.done = done;
    }

    void begin() {
      guarded(
          () -> {
            List<String> ids = new ArrayList<>();
            for (Container c : Containers.ofPod(host, nodeName, uid)) {
              if (Containers.isSandbox(c)) {
                sandboxId = c.getId();
              } else if (active(c)) {
                ids.add(c.getId());
              }
            }
            signal(ids, grace);
          });
    }

    void sandbox(String id) {
      guarded(
          () -> {
            sandboxId = id;
            sandboxTurn = true;
            signal(List.of(id), SANDBOX_GRACE);
          });
    }

    private void signal(List<String> ids, Duration g) {
      ids.forEach(id -> stopSignal(host, id));
      waiting = ids;
      deadlineNanos = System.nanoTime() + g.toNanos();
      pollMillis = 250;
      look();
    }

    private void look() {
      if (!waiting.isEmpty()) {
        waiting = stillActive(waiting);
      }
      long left = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
      if (!waiting.isEmpty() && left > 0) {
        long delay = Math.min(pollMillis, left);
        pollMillis = Math.min(5_000, pollMillis * 2);
        schedule(() -> guarded(this::look), delay);
        return;
      }
      waiting.forEach(id -> kill(host, id));
      if (!sandboxTurn && sandboxId != null) {
        sandboxTurn = true;
        signal(stillActive(List.of(sandboxId)), SANDBOX_GRACE);
        return;
      }
      if (done == null) {
        return;
      }
      boolean active = Containers.ofPod(host, nodeName, uid).stream().anyMatch(PodStopper::active);
      log.info("pod {} stopped on docker host {}", uid, host.name());
      done.accept(active);
    }

    private List<String> stillActive(List<String> ids) {
      return Containers.ofPod(host, nodeName, uid).stream()
          .filter(c -> ids.contains(c.getId()) && active(c))
          .map(Container::getId)
          .toList();
    }

    /** Runs a step; a failure ends the round as "something may still run". */
    private void guarded(Runnable step) {
      try {
        step.run();
      } catch (RuntimeException e) {
        if (io.isShutdown()) {
          log.debug("stopping pod {} interrupted by close: {}", uid, DockerHost.describe(e));
        } else {
          log.warn("stopping pod {} on {} failed: {}", uid, host.name(), DockerHost.describe(e));
        }
        if (done != null) {
          done.accept(true);
        }
      }
    }
  }

  /** Sends the container's stop signal, as {@code docker stop} would. */
  private static void stopSignal(DockerHost host, String id) {
    try {
      String sig = Containers.stopSignal(host, id);
      if (sig != null) {
        host.client.killContainerCmd(id).withSignal(sig).exec();
      }
    } catch (NotFoundException | ConflictException e) {
      // gone, or not running any more
    }
  }

  private static void kill(DockerHost host, String id) {
    try {
      host.client.killContainerCmd(id).exec(); // SIGKILL
    } catch (NotFoundException | ConflictException e) {
      // gone, or not running any more
    }
  }

  /** Removes the pod's containers (sandbox last) and volumes, and forgets it. */
  void release(PodStartup s) throws BackendException {
    synchronized (s) {
      s.released = true;
    }
    DockerHost host = s.host;
    try {
      List<Container> list = new ArrayList<>(Containers.ofPod(host, nodeName, s.uid));
      list.sort(Comparator.comparing(Containers::isSandbox));
      for (Container c : list) {
        try {
          host.client.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
        } catch (NotFoundException e) {
          // gone already
        }
      }
      var vols =
          host.client
              .listVolumesCmd()
              .withFilter("label", List.of(Names.LABEL_POD_UID + "=" + s.uid))
              .exec();
      if (vols.getVolumes() != null) {
        for (var v : vols.getVolumes()) {
          try {
            host.client.removeVolumeCmd(v.getName()).exec();
          } catch (NotFoundException e) {
            // gone already
          }
        }
      }
      host.ok();
    } catch (RuntimeException e) {
      throw DockerHosts.transientOrWrap(host, "releasing pod " + s.uid, e);
    }
    store.forget(s.uid);
  }
}
