package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.BackendException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs every pod's {@link PodStartup} on the backend's own threads: a step when the pod is
 * submitted, when one of its containers starts or exits (the hosts' event streams), and when a step
 * asked for a timer (a pull back-off, a deadline, a retry). One step at a time per pod. After a
 * bridge restart the pods in the data directory are resumed.
 */
final class PodStartups implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PodStartups.class);

  private final DockerHosts hosts;
  private final PodStartup.Env env;
  private final ExecutorService io;
  private final ScheduledExecutorService timer;
  private final Map<String, PodStartup> pods = new ConcurrentHashMap<>();
  private final List<EngineEvents> events = new ArrayList<>();
  private volatile Runnable changed = () -> {};

  PodStartups(
      DockerHosts hosts, PodStartup.Env env, ExecutorService io, ScheduledExecutorService timer) {
    this.hosts = hosts;
    this.env = env;
    this.io = io;
    this.timer = timer;
  }

  /** Listens to every host's container events and resumes the pods of the data directory. */
  void start() {
    for (DockerHost h : hosts.all()) {
      EngineEvents e =
          new EngineEvents(h, env.nodeName(), this::wake, () -> wakeHost(h.name()), timer);
      events.add(e);
      e.start();
    }
    for (String uid : env.store().uids()) {
      DockerHost h = env.store().host(uid).map(hosts::get).orElse(null);
      if (h != null) {
        wake(track(uid, h));
      }
    }
  }

  /** The pod's start-up, made when first needed. */
  PodStartup track(String uid, DockerHost host) {
    return pods.computeIfAbsent(uid, k -> new PodStartup(k, host, env));
  }

  PodStartup get(String uid) {
    return pods.get(uid);
  }

  /** What observe needs beyond Docker: from the start-up, or the data directory after a restart. */
  PodStatusMapper.PodFacts facts(String uid) {
    PodStartup s = pods.get(uid);
    if (s != null) {
      return s.facts();
    }
    boolean cancelled = env.store().cancelled(uid);
    boolean deadline = env.store().deadlineExceeded(uid);
    return cancelled || deadline
        ? new PodStatusMapper.PodFacts(cancelled, deadline, Map.of(), Map.of())
        : PodStatusMapper.PodFacts.NONE;
  }

  void forget(String uid) {
    pods.remove(uid);
  }

  /** Told after every step and every container that ended: the pod may look different now. */
  void onChange(Runnable listener) {
    changed = listener;
  }

  void wake(String uid) {
    changed.run();
    PodStartup s = pods.get(uid);
    if (s != null) {
      wake(s);
    }
  }

  private void wakeHost(String host) {
    for (PodStartup s : pods.values()) {
      if (s.host.name().equals(host)) {
        wake(s);
      }
    }
  }

  /** Runs a step of {@code s} on a worker, or once more after the step now running. */
  void wake(PodStartup s) {
    s.again = true;
    if (s.running.compareAndSet(false, true)) {
      try {
        io.execute(() -> drive(s, true));
      } catch (RejectedExecutionException e) {
        s.running.set(false); // closed
      }
    }
  }

  /**
   * Runs the first step in the caller's thread (submit), without waiting for image pulls, so a pod
   * whose images are present is started when submit returns. Failures to set up the sandbox are the
   * caller's; the rest is retried on the backend's threads.
   */
  void stepNow(PodStartup s) throws BackendException {
    if (!s.running.compareAndSet(false, true)) {
      wake(s);
      return;
    }
    long next;
    try {
      s.again = false;
      next = s.step(false);
      log.debug("pod {}: {} after submit, next step in {} ms", s.uid, s.stage(), next);
    } catch (PodCreator.SandboxImageMissing e) {
      release(s, 10_000);
      throw new BackendException.Transient(e.getMessage());
    } catch (RuntimeException e) {
      release(s, 5_000);
      throw DockerHosts.transientOrWrap(s.host, "starting pod " + s.uid, e);
    }
    release(s, next);
  }

  private void drive(PodStartup s, boolean mayPull) {
    long next = -1;
    try {
      do {
        s.again = false;
        if (io.isShutdown()) {
          return;
        }
        next = s.step(mayPull);
        log.debug("pod {}: {}, next step in {} ms", s.uid, s.stage(), next);
      } while (s.again);
    } catch (RuntimeException e) {
      if (io.isShutdown()) {
        return;
      }
      if (DockerHost.isConnectionFailure(e)) {
        s.host.failed(e);
      }
      log.warn(
          "starting pod {} on {} failed, retrying: {}",
          s.uid,
          s.host.name(),
          DockerHost.describe(e));
      next = 5_000;
    } finally {
      release(s, next);
    }
  }

  /** Ends a step: schedules the next one it asked for, or runs at once if woken meanwhile. */
  private void release(PodStartup s, long next) {
    s.running.set(false);
    changed.run();
    if (s.again || next == 0) {
      wake(s);
    } else if (next > 0) {
      // one timer at a time: a later step asking for a later wake keeps the earlier one
      long due = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(next);
      long pending = s.timerDue.get();
      if (pending != 0 && pending - due <= 0) {
        return;
      }
      s.timerDue.set(due);
      try {
        timer.schedule(
            () -> {
              s.timerDue.compareAndSet(due, 0);
              wake(s);
            },
            next,
            TimeUnit.MILLISECONDS);
      } catch (RejectedExecutionException e) {
        // closed
      }
    }
  }

  @Override
  public void close() {
    events.forEach(EngineEvents::close);
  }
}
