package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.BackendException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops pods and removes them: {@code docker stop} (SIGTERM, SIGKILL after the grace period) on
 * every running container of a cancelled pod, then its sandbox; again if something still runs after
 * the grace period (its host was down, a restart policy raced); and, once the pod is gone from
 * Kubernetes, its containers and volumes. Never starts anything; a cancelled pod's start-up starts
 * nothing either (both hold the pod's lock to decide).
 */
final class PodStopper {
  private static final Logger log = LoggerFactory.getLogger(PodStopper.class);

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
   * Stops every running container of the pod (in parallel, each with the grace period), then its
   * sandbox; checks again once the grace period is over.
   */
  void stop(PodStartup s) {
    if (!s.stopping.compareAndSet(false, true)) {
      return;
    }
    Duration grace = s.grace;
    int seconds = (int) Math.min(Integer.MAX_VALUE, (grace.toMillis() + 999) / 1000);
    try {
      io.execute(
          () -> {
            boolean active = true;
            try {
              active = stopNow(s.host, s.uid, seconds);
            } catch (RuntimeException e) {
              if (io.isShutdown()) {
                log.debug(
                    "stopping pod {} interrupted by close: {}", s.uid, DockerHost.describe(e));
              } else {
                log.warn(
                    "stopping pod {} on {} failed: {}",
                    s.uid,
                    s.host.name(),
                    DockerHost.describe(e));
              }
            } finally {
              s.stopping.set(false);
            }
            if (active && !s.released) {
              recheck(s, grace.toMillis() + 10_000);
            }
          });
    } catch (RejectedExecutionException e) {
      s.stopping.set(false); // closed
    }
  }

  private void recheck(PodStartup s, long delayMillis) {
    try {
      timer.schedule(() -> stop(s), delayMillis, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // closed
    }
  }

  /** One round of stops; true when something may still run (a failure, or a stop not honoured). */
  private boolean stopNow(DockerHost host, String uid, int seconds) {
    List<Container> list = Containers.ofPod(host, nodeName, uid);
    List<CompletableFuture<Void>> stops = new ArrayList<>();
    String sandboxId = null;
    for (Container c : list) {
      if (Containers.isSandbox(c)) {
        sandboxId = c.getId();
        continue;
      }
      String st = c.getState();
      if ("running".equals(st) || "restarting".equals(st) || "paused".equals(st)) {
        stops.add(CompletableFuture.runAsync(() -> stopContainer(host, c.getId(), seconds), io));
      }
    }
    CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new)).join();
    if (sandboxId != null) {
      stopContainer(host, sandboxId, 2);
    }
    log.info("pod {} stopped on docker host {}", uid, host.name());
    return Containers.ofPod(host, nodeName, uid).stream()
        .anyMatch(c -> !"exited".equals(c.getState()) && !"created".equals(c.getState()));
  }

  private static void stopContainer(DockerHost host, String id, int seconds) {
    try {
      host.streams.stopContainerCmd(id).withTimeout(seconds).exec();
    } catch (NotModifiedException | NotFoundException e) {
      // already stopped or gone
    }
  }

  /** Stops the sandbox of a pod that has ended, in the background. */
  void stopSandbox(DockerHost host, String uid, String sandboxId) {
    try {
      io.execute(
          () -> {
            try {
              stopContainer(host, sandboxId, 2);
            } catch (RuntimeException e) {
              log.debug("stopping sandbox of {}: {}", uid, DockerHost.describe(e));
            }
          });
    } catch (RejectedExecutionException e) {
      // closed
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
