package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.PodPhaseRules;
import io.hpcbridge.backend.PodPlan;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up of one pod on its host, a small state machine run by {@link PodStartups} whenever
 * something may have moved it on (submit, a container event, a timer):
 *
 * <pre>
 * PREPARING     volumes, sandbox image, sandbox created, volume files written, sandbox started
 * CREATING      each container created in order, its image pulled as its policy says ({@link
 *               PodCreator})
 * INITIALIZING  init containers started one after the other, each once the previous exited 0
 * STARTING      the containers started together
 * RUNNING       Docker's restart policies run the pod; once it ended, its sandbox is stopped
 * STOPPING      cancelled: {@link PodStopper} owns the pod
 * DONE          nothing left to do
 * </pre>
 *
 * Each step reads the pod's containers from Docker (one list call) and does what the state allows,
 * so a step after a bridge restart picks up where the last one stopped; containers have fixed
 * names, so none is created or started twice. What the step learnt that Docker does not keep
 * (failed pulls, failed starts) is published for {@link Observer} through {@link #facts()}.
 */
final class PodStartup {
  private static final Logger log = LoggerFactory.getLogger(PodStartup.class);

  /** Without an event, a pod still starting is looked at again this often. */
  static final long FALLBACK_MILLIS = 10_000;

  enum Stage {
    PREPARING,
    CREATING,
    INITIALIZING,
    STARTING,
    RUNNING,
    STOPPING,
    DONE
  }

  /** What every pod's start-up uses. */
  record Env(
      String nodeName,
      DockerSettings settings,
      PodStore store,
      ImagePuller puller,
      PodStopper stopper) {}

  final String uid;
  final DockerHost host;
  private final Env env;
  private volatile Stage stage = Stage.PREPARING;
  volatile boolean cancelled;
  volatile boolean deadlineExceeded;
  volatile boolean released;

  /** Set by submit: only then may a missing sandbox be created. */
  volatile boolean submitted;

  volatile Duration grace = Duration.ZERO;
  private final PodCreator creator;
  private final Map<String, String> startErrors = new ConcurrentHashMap<>();
  private final Map<String, Long> nextStartNanos = new ConcurrentHashMap<>();

  // driven by PodStartups: one step at a time, a wake during a step runs another
  final AtomicBoolean running = new AtomicBoolean();
  volatile boolean again;
  final AtomicBoolean stopping = new AtomicBoolean();
  final java.util.concurrent.atomic.AtomicLong timerDue =
      new java.util.concurrent.atomic.AtomicLong();

  PodStartup(String uid, DockerHost host, Env env) {
    this.uid = uid;
    this.host = host;
    this.env = env;
    this.creator = new PodCreator(this, env);
    this.cancelled = env.store().cancelled(uid);
    this.deadlineExceeded = env.store().deadlineExceeded(uid);
    if (cancelled) {
      stage = Stage.STOPPING;
    }
  }

  Stage stage() {
    return stage;
  }

  void stage(Stage s) {
    stage = s;
  }

  /** What observe needs to know beyond Docker's state. */
  PodStatusMapper.PodFacts facts() {
    return new PodStatusMapper.PodFacts(
        cancelled, deadlineExceeded, creator.waiting(), startErrors);
  }

  /** One container of the pod as the list showed it. */
  record Entry(String id, String name, String state, Integer exitCode) {
    boolean active() {
      return "running".equals(state)
          || "restarting".equals(state)
          || "paused".equals(state)
          || "removing".equals(state);
    }
  }

  /**
   * Moves the pod on as far as it can now. Returns the milliseconds after which it must run again
   * even without an event, or -1 when only an event (or nothing) can move it on.
   *
   * @param mayPull false when the caller cannot wait for an image pull (submit): a container whose
   *     image must be pulled is left for a later step
   */
  long step(boolean mayPull) {
    if (stage == Stage.DONE || released) {
      return -1;
    }
    if (cancelled) {
      stage = Stage.STOPPING;
      return -1;
    }
    Optional<PodPlan> plan = env.store().plan(uid);
    Entry sandbox = null;
    Map<String, Entry> byName = new HashMap<>();
    for (Container c : Containers.ofPod(host, env.nodeName(), uid)) {
      Entry e =
          new Entry(
              c.getId(),
              c.getLabels().getOrDefault(Names.LABEL_CONTAINER_NAME, ""),
              c.getState(),
              ListStatus.exitCode(c.getStatus()));
      if (Containers.isSandbox(c)) {
        sandbox = e;
      } else {
        byName.put(e.name(), e);
      }
    }
    if (sandbox == null) {
      if (!submitted || stage != Stage.PREPARING || plan.isEmpty()) {
        // removed (released, pruned by hand) or never made: only a submit makes a sandbox, so a
        // pod whose containers are gone is never started again by a resumed start-up
        stage = Stage.DONE;
        return -1;
      }
      sandbox = new Entry(creator.createSandbox(plan.get()), Names.SANDBOX, "created", null);
    }
    if ("created".equals(sandbox.state())) {
      synchronized (this) {
        if (cancelled) {
          return -1;
        }
        if (plan.isPresent()) {
          PodVolumes.write(
              host, sandbox.id(), PodVolumes.initial(plan.get(), PodVolumes.FIRST_VERSION));
        }
        Containers.start(host, sandbox.id());
      }
    } else if ("exited".equals(sandbox.state()) || "dead".equals(sandbox.state())) {
      stage = Stage.DONE; // stopped because the pod ended: nothing may start in it now
      return -1;
    } else if ("restarting".equals(sandbox.state())) {
      return FALLBACK_MILLIS;
    }
    PodLabels labels = plan.map(PodLabels::of).orElse(null);
    if (labels == null) {
      labels = PodLabels.of(Containers.inspect(host, sandbox.id()));
      if (labels == null) {
        return FALLBACK_MILLIS;
      }
    }
    long next = deadline(sandbox, labels);
    if (next == 0) {
      return -1;
    }
    long retry =
        plan.isPresent()
            ? creator.createMissing(plan.get(), sandbox.id(), byName, mayPull)
            : creator.lost(labels, byName);
    if (retry == 0) {
      return 0; // a pull is due: run again where pulls may wait
    }
    next = min(next, retry);
    boolean never = labels.policy() == PodPlan.RestartPolicy.NEVER;
    if (!labels.inits().isEmpty()) {
      stage = Stage.INITIALIZING;
    }
    for (String name : labels.inits()) {
      Entry e = byName.get(name);
      if (e == null) {
        return min(next, FALLBACK_MILLIS); // waiting for its image
      }
      e = live(e);
      if ("created".equals(e.state())) {
        if (never && startErrors.containsKey(name)) {
          return finish(sandbox); // it could not start: the pod failed for good
        }
        return min(next, min(tryStart(e), FALLBACK_MILLIS));
      }
      if (e.active()) {
        return min(next, FALLBACK_MILLIS);
      }
      int code = e.exitCode() == null ? -1 : e.exitCode();
      if (code == 0) {
        continue;
      }
      if (!PodPhaseRules.restarts(labels.policy(), true, code)) {
        return finish(sandbox);
      }
      return min(next, FALLBACK_MILLIS); // Docker restarts it
    }
    stage = Stage.STARTING;
    boolean allStarted = true;
    for (String name : labels.names()) {
      Entry e = byName.get(name);
      if (e == null) {
        allStarted = false;
      } else if ("created".equals(e.state()) && !(never && startErrors.containsKey(name))) {
        long d = tryStart(e);
        if (d > 0) {
          next = min(next, d);
          allStarted = false;
        }
      }
    }
    if (!allStarted) {
      return min(next, FALLBACK_MILLIS);
    }
    stage = Stage.RUNNING;
    if (byName.values().stream().map(this::live).noneMatch(Entry::active)
        && ended(sandbox.id(), byName)) {
      return finish(sandbox);
    }
    return next;
  }

  /**
   * The container's state from an inspect when the list shows it active: Docker announces an exit
   * (the event that woke this step) before its list shows it.
   */
  private Entry live(Entry e) {
    if (!e.active()) {
      return e;
    }
    ContainerView v = Containers.inspect(host, e.id());
    if (v == null) {
      return new Entry(e.id(), e.name(), "removing", null);
    }
    return new Entry(e.id(), e.name(), v.status(), v.exited() ? v.exitCode() : null);
  }

  static long min(long a, long b) {
    if (a < 0) {
      return b;
    }
    return b < 0 ? a : Math.min(a, b);
  }

  /**
   * Past the pod's activeDeadlineSeconds (counted from the sandbox's start) the pod is stopped:
   * returns 0. Otherwise the milliseconds until the deadline, or -1 without one.
   */
  private long deadline(Entry sandbox, PodLabels labels) {
    if (labels.activeDeadline() == null) {
      return -1;
    }
    ContainerView sb = Containers.inspect(host, sandbox.id());
    if (sb == null || sb.startedAt() == null) {
      return FALLBACK_MILLIS;
    }
    Instant end = sb.startedAt().plus(labels.activeDeadline());
    long left = Duration.between(Instant.now(), end).toMillis();
    if (left >= 0) {
      return left + 1;
    }
    log.info("pod {} ran past its activeDeadlineSeconds; stopping it", uid);
    env.stopper().deadline(this, labels.grace());
    stage = Stage.STOPPING;
    return 0;
  }

  /**
   * Starts the container, unless it waits for a retry after a failed start. Returns 0 when started,
   * else the milliseconds until the next attempt.
   */
  private long tryStart(Entry e) {
    Long next = nextStartNanos.get(e.name());
    long now = System.nanoTime();
    if (next != null && now - next < 0) {
      return TimeUnit.NANOSECONDS.toMillis(next - now) + 1;
    }
    try {
      synchronized (this) {
        if (cancelled) {
          return -1;
        }
        Containers.start(host, e.id());
      }
      startErrors.remove(e.name());
      nextStartNanos.remove(e.name());
      return 0;
    } catch (DockerException ex) {
      if (DockerHost.isConnectionFailure(ex)) {
        throw ex;
      }
      String m = ex.getMessage() == null ? ex.toString() : ex.getMessage().trim();
      log.warn("starting container {} of pod {} on {} failed: {}", e.name(), uid, host.name(), m);
      startErrors.put(e.name(), m);
      nextStartNanos.put(e.name(), now + TimeUnit.SECONDS.toNanos(10));
      return 10_000;
    }
  }

  /** Whether the pod has ended by the kubelet's rules (nothing runs, nothing will be restarted). */
  private boolean ended(String sandboxId, Map<String, Entry> byName) {
    List<ContainerView> views = new ArrayList<>();
    ContainerView sb = Containers.inspect(host, sandboxId);
    if (sb == null) {
      return true;
    }
    views.add(sb);
    for (Entry e : byName.values()) {
      ContainerView v = Containers.inspect(host, e.id());
      if (v != null) {
        views.add(v);
      }
    }
    return PodStatusMapper.observe(views, facts(), null, Instant.now(), null).phase().terminal();
  }

  /** The pod is over: its sandbox only holds resources now. */
  private long finish(Entry sandbox) {
    stage = Stage.DONE;
    env.stopper().stopSandbox(host, uid, sandbox.id());
    return -1;
  }
}
