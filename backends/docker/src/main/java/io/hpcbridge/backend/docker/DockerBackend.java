package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendCondition;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.VolumePlan;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each pod as containers on one of several Docker hosts: a sandbox container holding the pod's
 * network and IPC namespaces (like the kubelet's pause container), init containers run in order,
 * then the containers, all joined to the sandbox's namespaces so they reach each other on
 * localhost.
 *
 * <p>Everything needed after a bridge restart lives in Docker labels and in the backend's data
 * directory ({@link PodStore}); containers have fixed names, so creating one twice is impossible.
 * Handles are {@code docker:<host>/<pod uid>}.
 */
public final class DockerBackend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(DockerBackend.class);
  public static final String NAME = "docker";

  private final String nodeName;
  private final DockerSettings settings;
  private final DockerHosts hosts;
  private final PodStore store;
  private final ExecutorService io;
  private final ScheduledExecutorService timer;
  private final Placer placer;
  private final ImagePuller puller;
  private final PodLogs logs;
  private final ConcurrentHashMap<String, Object> podLocks = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, PodRuntime> pods = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Map<String, Cached>> caches = new ConcurrentHashMap<>();

  /** What this instance knows of a pod beyond Docker's own state. */
  private static final class PodRuntime {
    final Map<String, PodStatusMapper.Waiting> waiting = new ConcurrentHashMap<>();
    final Map<String, String> startErrors = new ConcurrentHashMap<>();
    final Map<String, Long> nextStartNanos = new ConcurrentHashMap<>();
    final AtomicBoolean creating = new AtomicBoolean();
    final AtomicBoolean stopping = new AtomicBoolean();
    final AtomicBoolean sandboxStopping = new AtomicBoolean();
    volatile boolean allCreated;
    volatile boolean cancelled;
    volatile boolean deadlineExceeded;
    volatile long nextCreateNanos = System.nanoTime();
    volatile long cancelNanos;
    volatile Duration grace = Duration.ZERO;
    volatile String lastPodIp;
  }

  private record Cached(ListStatus.Seen seen, ContainerView view) {}

  public DockerBackend(String nodeName, Path dataDir, DockerSettings settings) {
    this.nodeName = nodeName;
    this.settings = settings;
    AtomicInteger n = new AtomicInteger();
    this.io =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "docker-backend-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "docker-backend-timer");
              t.setDaemon(true);
              return t;
            });
    try {
      this.hosts = new DockerHosts(settings, io);
    } catch (RuntimeException e) {
      io.shutdownNow();
      timer.shutdownNow();
      throw e;
    }
    this.store = new PodStore(dataDir);
    this.placer = new Placer(hosts, settings.placement(), nodeName, store, io);
    this.puller = new ImagePuller(settings.imagePullTimeout());
    this.logs = new PodLogs(nodeName);
  }

  @Override
  public String name() {
    return NAME;
  }

  public DockerSettings settings() {
    return settings;
  }

  /** Per-host health, for node conditions: one entry per configured host, in config order. */
  public List<HostHealth> hostHealth() {
    return hosts.health();
  }

  /** The node condition type that reports the Docker hosts: True when every host answers. */
  public static final String HOSTS_CONDITION = DockerHosts.HOSTS_CONDITION;

  /**
   * One condition, {@value #HOSTS_CONDITION}: {@code True} (reason {@code AllHostsReachable}) when
   * every host answered the last {@link #ping()}, else {@code False} with reason {@code
   * HostUnreachable} naming each host down.
   */
  @Override
  public List<BackendCondition> conditions() {
    return DockerHosts.conditions(hostHealth());
  }

  // ---------------------------------------------------------------- handles

  static Handle handle(String host, String uid) {
    return DockerHosts.handle(host, uid);
  }

  private DockerHosts.Target target(Handle h) throws BackendException {
    return hosts.target(h);
  }

  private Object lock(String uid) {
    return podLocks.computeIfAbsent(uid, k -> new Object());
  }

  private PodRuntime runtime(String uid) {
    return pods.computeIfAbsent(
        uid,
        k -> {
          PodRuntime r = new PodRuntime();
          r.cancelled = store.cancelled(k);
          r.deadlineExceeded = store.deadlineExceeded(k);
          return r;
        });
  }

  // ---------------------------------------------------------------- submit

  @Override
  public Handle submit(PodPlan plan) throws BackendException {
    ContainerSpecs.validate(plan);
    String uid = plan.pod().uid();
    synchronized (lock(uid)) {
      String hostName = store.host(uid).orElse(null);
      if (hostName == null) {
        hostName = findOnHosts(uid).orElse(null);
        if (hostName != null) {
          store.saveHost(uid, hostName);
        }
      }
      boolean placedNow = false;
      if (hostName == null) {
        hostName = placer.place(plan);
        placedNow = true;
      }
      DockerHost host = hosts.get(hostName);
      if (host == null) {
        throw new BackendException.InvalidPod(
            "HostRemoved",
            "the pod was placed on docker host " + hostName + ", which is no longer configured");
      }
      try {
        if (store.plan(uid).isEmpty() || placedNow) {
          store.savePlan(plan);
        }
        PodRuntime rt = runtime(uid);
        if (!rt.cancelled) {
          ensureSandbox(host, plan);
        }
      } catch (RuntimeException e) {
        throw DockerHosts.transientOrWrap(host, "creating the sandbox of " + plan.pod(), e);
      } finally {
        if (placedNow) {
          placer.settled(uid);
        }
      }
      if (placedNow) {
        log.info("pod {} ({}) placed on docker host {}", plan.pod(), uid, hostName);
      } else {
        log.info("pod {} ({}) already on docker host {}", plan.pod(), uid, hostName);
      }
      scheduleCreate(uid, 0);
      return handle(hostName, uid);
    }
  }

  /** Creates (if missing) the pod's emptyDir volumes and its sandbox, and starts the sandbox. */
  private void ensureSandbox(DockerHost host, PodPlan plan) throws BackendException {
    try {
      String status =
          host.client.inspectContainerCmd(Names.sandbox(plan.pod())).exec().getState().getStatus();
      if (!"created".equals(status)) {
        return; // started before: Docker's restart policy and observe take it from here
      }
    } catch (NotFoundException e) {
      // not there yet
    }
    for (var v : plan.volumes()) {
      if (v.type() == VolumePlan.Type.EMPTY_DIR) {
        host.client
            .createVolumeCmd()
            .withName(Names.volume(plan.pod(), v.name()))
            .withLabels(Map.of(Names.LABEL_POD_UID, plan.pod().uid(), Names.LABEL_NODE, nodeName))
            .exec();
      }
    }
    try {
      puller.ensure(host, settings.sandboxImage(), "IfNotPresent");
    } catch (ImagePuller.PullFailure e) {
      throw new BackendException.Transient(
          "sandbox image "
              + settings.sandboxImage()
              + " on docker host "
              + host.name()
              + ": "
              + e.getMessage());
    }
    ContainerSpecs.Spec spec = ContainerSpecs.sandbox(plan, nodeName, settings);
    String id = Containers.create(host, spec);
    Containers.start(host, id);
  }

  // ---------------------------------------------------------------- creating containers

  private void scheduleCreate(String uid, long delayMillis) {
    if (io.isShutdown()) {
      return;
    }
    Runnable task =
        () -> {
          try {
            createRemaining(uid);
          } catch (RuntimeException e) {
            if (!io.isShutdown()) {
              log.warn(
                  "creating containers of pod {} failed, retrying: {}",
                  uid,
                  DockerHost.describe(e));
              scheduleCreate(uid, 5_000);
            }
          }
        };
    try {
      if (delayMillis <= 0) {
        io.execute(task);
      } else {
        timer.schedule(() -> io.execute(task), delayMillis, TimeUnit.MILLISECONDS);
      }
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed
    }
  }

  /**
   * Creates the pod's missing containers in order (pulling images as the policy says), copies
   * volume files into those never started, then starts what may start. Runs on a worker; one at a
   * time per pod.
   */
  private void createRemaining(String uid) {
    if (io.isShutdown()) {
      return;
    }
    PodRuntime rt = runtime(uid);
    if (!rt.creating.compareAndSet(false, true)) {
      return;
    }
    try {
      if (rt.cancelled) {
        return;
      }
      Optional<String> hostName = store.host(uid);
      Optional<PodPlan> maybePlan = store.plan(uid);
      if (hostName.isEmpty() || hosts.get(hostName.get()) == null) {
        return;
      }
      if (maybePlan.isEmpty()) {
        // found by label with the data directory lost: run what exists, say what cannot be made
        DockerHost host = hosts.get(hostName.get());
        for (Container c : listPod(host, uid)) {
          if (Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE))) {
            List<String> names =
                new ArrayList<>(splitNames(c.getLabels().get(Names.LABEL_INIT_CONTAINERS)));
            names.addAll(splitNames(c.getLabels().get(Names.LABEL_CONTAINERS)));
            for (String n : names) {
              rt.waiting.putIfAbsent(
                  n,
                  new PodStatusMapper.Waiting(
                      "CreateContainerConfigError",
                      "the backend's record of this pod is gone (data directory lost); submit the"
                          + " pod again"));
            }
          }
        }
        rt.allCreated = true;
        return;
      }
      DockerHost host = hosts.get(hostName.get());
      PodPlan plan = maybePlan.get();
      Map<String, Container> existing = new HashMap<>();
      String sandboxId = null;
      for (Container c : listPod(host, uid)) {
        String name = c.getLabels().get(Names.LABEL_CONTAINER_NAME);
        if (Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE))) {
          sandboxId = c.getId();
        } else {
          existing.put(name, c);
        }
      }
      if (sandboxId == null) {
        return; // removed, or released: nothing to do
      }
      List<ContainerPlan> all = plan.allContainers().toList();
      long retry = Long.MAX_VALUE; // millis until the next pull is due, when one failed
      for (int i = 0; i < all.size(); i++) {
        ContainerPlan c = all.get(i);
        int initIndex = i < plan.initContainers().size() ? i : -1;
        Container have = existing.get(c.name());
        if (have != null && !"created".equals(have.getState())) {
          continue;
        }
        if (rt.cancelled) {
          return;
        }
        String id;
        if (have == null) {
          // each container pulls on its own back-off, like the kubelet
          ImagePuller.Outcome pulled = puller.pull(host, uid, c, true);
          if (!pulled.present()) {
            rt.waiting.put(c.name(), pulled.waiting());
            retry = Math.min(retry, pulled.retryMillis());
            continue;
          }
          rt.waiting.remove(c.name());
          id =
              Containers.create(
                  host, ContainerSpecs.container(plan, nodeName, c, initIndex, sandboxId));
        } else {
          id = have.getId();
        }
        List<ContainerSpecs.CopyFile> files = ContainerSpecs.filesFor(plan, c);
        if (!files.isEmpty()) {
          host.client
              .copyArchiveToContainerCmd(id)
              .withRemotePath("/")
              .withTarInputStream(new ByteArrayInputStream(Tar.of(files)))
              .exec();
        }
      }
      if (retry != Long.MAX_VALUE) {
        rt.nextCreateNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(retry);
        scheduleCreate(uid, retry);
        return;
      }
      rt.allCreated = true;
    } finally {
      rt.creating.set(false);
    }
    if (rt.allCreated) {
      String hostName = store.host(uid).orElse(null);
      DockerHost host = hostName == null ? null : hosts.get(hostName);
      if (host != null) {
        Map<String, ContainerView> views = new HashMap<>();
        for (Container c : listPod(host, uid)) {
          views.put(c.getId(), inspect(host, c.getId(), null));
        }
        advance(host, uid, views.values().stream().filter(v -> v != null).toList());
      }
    }
  }

  private List<Container> listPod(DockerHost host, String uid) {
    return Containers.ofPod(host, nodeName, uid);
  }

  /**
   * Starts the next init container once the previous one succeeded, and the containers once all
   * init containers succeeded. Never after cancel.
   */
  private java.util.Set<String> advance(DockerHost host, String uid, List<ContainerView> views) {
    PodRuntime rt = runtime(uid);
    java.util.Set<String> started = new java.util.HashSet<>();
    synchronized (lock(uid)) {
      if (rt.cancelled || !rt.allCreated) {
        return started;
      }
      ContainerView sandbox =
          views.stream().filter(v -> Names.ROLE_SANDBOX.equals(v.role())).findFirst().orElse(null);
      // a sandbox that is not running is either being restarted by Docker or stopped because
      // the pod ended: nothing may start in it now
      if (sandbox == null || !sandbox.running()) {
        return started;
      }
      List<ContainerView> inits =
          views.stream()
              .filter(v -> Names.ROLE_INIT.equals(v.role()))
              .sorted(
                  java.util.Comparator.comparingLong(
                      v -> Names.number(v.labels().get(Names.LABEL_INIT_INDEX))))
              .toList();
      int expectedInits = splitNames(sandbox.labels().get(Names.LABEL_INIT_CONTAINERS)).size();
      if (inits.size() < expectedInits) {
        return started;
      }
      // with restartPolicy Never a container that could not start has failed for good
      boolean never = "Never".equals(sandbox.labels().get(Names.LABEL_RESTART_POLICY));
      for (ContainerView v : inits) {
        if (v.notStarted()) {
          if (!(never && rt.startErrors.containsKey(v.name())) && tryStart(host, rt, v)) {
            started.add(v.id());
          }
          return started;
        }
        if (v.active() || v.exitCode() != 0) {
          return started;
        }
      }
      for (ContainerView v : views) {
        if (Names.ROLE_CONTAINER.equals(v.role())
            && v.notStarted()
            && !(never && rt.startErrors.containsKey(v.name()))
            && tryStart(host, rt, v)) {
          started.add(v.id());
        }
      }
    }
    return started;
  }

  private boolean tryStart(DockerHost host, PodRuntime rt, ContainerView v) {
    Long next = rt.nextStartNanos.get(v.name());
    if (next != null && System.nanoTime() < next) {
      return false;
    }
    try {
      Containers.start(host, v.id());
      rt.startErrors.remove(v.name());
      rt.nextStartNanos.remove(v.name());
      return true;
    } catch (DockerException e) {
      String m = e.getMessage() == null ? e.toString() : e.getMessage().trim();
      log.warn("starting container {} on {} failed: {}", v.name(), host.name(), m);
      rt.startErrors.put(v.name(), m);
      rt.nextStartNanos.put(v.name(), System.nanoTime() + TimeUnit.SECONDS.toNanos(10));
    }
    return false;
  }

  // ---------------------------------------------------------------- observe

  @Override
  public Map<Handle, Observed> observe(Collection<Handle> handles) throws BackendException {
    Map<Handle, Observed> out = new LinkedHashMap<>();
    Map<DockerHost, List<Handle>> byHost = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        byHost.computeIfAbsent(target(h).host(), k -> new ArrayList<>()).add(h);
      } catch (BackendException e) {
        out.put(h, Observed.unknown("NotFound", e.getMessage()));
      }
    }
    Map<DockerHost, CompletableFuture<List<ContainerView>>> lists = new LinkedHashMap<>();
    for (DockerHost host : byHost.keySet()) {
      lists.put(host, CompletableFuture.supplyAsync(() -> refresh(host), io));
    }
    for (var e : byHost.entrySet()) {
      DockerHost host = e.getKey();
      List<ContainerView> views;
      try {
        views = lists.get(host).join();
      } catch (RuntimeException ex) {
        for (Handle h : e.getValue()) {
          out.put(h, unreachable(host));
        }
        continue;
      }
      Map<String, List<ContainerView>> byPod =
          views.stream()
              .collect(
                  Collectors.groupingBy(v -> v.labels().getOrDefault(Names.LABEL_POD_UID, "")));
      for (Handle h : e.getValue()) {
        String uid = h.id().substring(h.id().indexOf('/') + 1);
        try {
          out.put(h, observePod(host, uid, byPod.getOrDefault(uid, List.of())));
        } catch (RuntimeException ex) {
          log.warn("observing pod {} on {} failed: {}", uid, host.name(), DockerHost.describe(ex));
          out.put(h, Observed.unknown("ObserveFailed", DockerHost.describe(ex)));
        }
      }
    }
    return out;
  }

  private Observed unreachable(DockerHost host) {
    Instant since = host.unreachableSince() == null ? Instant.now() : host.unreachableSince();
    String msg =
        "docker host "
            + host.name()
            + " ("
            + host.settings.uri()
            + ") unreachable since "
            + since
            + ": "
            + host.lastError();
    if (Duration.between(since, Instant.now()).compareTo(settings.unreachableTimeout()) > 0) {
      return new Observed(
          Observed.Phase.FAILED,
          "HostLost",
          msg,
          host.settings.hostAddress(),
          null,
          null,
          List.of(),
          List.of());
    }
    return new Observed(
        Observed.Phase.UNKNOWN,
        "HostUnreachable",
        msg,
        host.settings.hostAddress(),
        null,
        null,
        List.of(),
        List.of());
  }

  /** One list call; inspects only containers whose list entry changed since the last inspect. */
  private List<ContainerView> refresh(DockerHost host) {
    List<Container> list;
    try {
      list =
          host.client
              .listContainersCmd()
              .withShowAll(true)
              .withLabelFilter(Map.of(Names.LABEL_NODE, nodeName))
              .exec();
      host.ok();
    } catch (RuntimeException e) {
      host.failed(e);
      throw e;
    }
    Map<String, Cached> cache = caches.computeIfAbsent(host.name(), k -> new ConcurrentHashMap<>());
    long now = System.nanoTime();
    List<ContainerView> out = new ArrayList<>();
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (Container c : list) {
      seen.add(c.getId());
      Cached prev = cache.get(c.getId());
      boolean changed =
          prev == null || ListStatus.changed(prev.seen(), c.getState(), c.getStatus(), now);
      if (!changed && !oomUnsettled(prev, now)) {
        out.add(prev.view());
        continue;
      }
      ContainerView v = inspect(host, c.getId(), prev == null ? null : prev.view());
      if (v == null) {
        cache.remove(c.getId());
        continue;
      }
      // an unchanged entry keeps when it was first seen, so the OOM window closes
      ListStatus.Seen seenNow =
          changed ? ListStatus.seen(c.getState(), c.getStatus(), now) : prev.seen();
      cache.put(c.getId(), new Cached(seenNow, v));
      out.add(v);
    }
    cache.keySet().retainAll(seen);
    return out;
  }

  /**
   * Docker records an OOM kill from an event that may arrive after the exit: a container killed by
   * SIGKILL (137) is inspected again for up to 30 s (the event lags on a loaded host) before its
   * reason is trusted.
   */
  private static boolean oomUnsettled(Cached c, long nowNanos) {
    ContainerView v = c.view();
    return v.exited()
        && v.exitCode() == 137
        && !v.oomKilled()
        && nowNanos - c.seen().seenAtNanos() < TimeUnit.SECONDS.toNanos(30);
  }

  /** Inspects one container; null when it is gone. */
  private ContainerView inspect(DockerHost host, String id, ContainerView prev) {
    ContainerView v = Containers.inspect(host, id);
    if (v == null) {
      return null;
    }
    if (prev != null) {
      if (v.restartCount() > prev.restartCount() && prev.exited()) {
        v = v.withLastTermination(prev.termination());
      } else if (v.restartCount() > prev.restartCount()
          && prev.running()
          && v.finishedAt() != null) {
        // it exited and was restarted between two polls: its last run ended at finishedAt
        v =
            v.withLastTermination(
                new Observed.Termination(
                    v.exitCode(), v.terminationReason(), null, prev.startedAt(), v.finishedAt()));
      } else {
        v = v.withLastTermination(prev.lastTermination());
      }
    }
    return v;
  }

  private Observed observePod(DockerHost host, String uid, List<ContainerView> views) {
    PodRuntime rt = runtime(uid);
    ContainerView sandbox =
        views.stream().filter(v -> Names.ROLE_SANDBOX.equals(v.role())).findFirst().orElse(null);
    if (sandbox == null) {
      return Observed.unknown(
          "SandboxNotFound", "no containers of this pod on docker host " + host.name());
    }
    if (!rt.cancelled
        && !rt.allCreated
        && !rt.creating.get()
        && System.nanoTime() - rt.nextCreateNanos >= 0) {
      // e.g. after a bridge restart; a pull in back-off waits for its own retry
      scheduleCreate(uid, 0);
    }
    if (!rt.cancelled && rt.allCreated) {
      boolean needsStart =
          views.stream().anyMatch(v -> !Names.ROLE_SANDBOX.equals(v.role()) && v.notStarted());
      if (needsStart) {
        java.util.Set<String> started = advance(host, uid, views);
        List<ContainerView> fresh = new ArrayList<>();
        for (ContainerView v : views) {
          ContainerView n = started.contains(v.id()) ? inspect(host, v.id(), v) : v;
          if (n != null) {
            fresh.add(n);
          }
        }
        views = fresh;
      }
    }
    if (sandbox.ip() != null && !sandbox.ip().isEmpty()) {
      rt.lastPodIp = sandbox.ip();
    }
    Map<String, ContainerView> byName = new HashMap<>();
    for (ContainerView v : views) {
      if (Names.ROLE_SANDBOX.equals(v.role())) {
        continue;
      }
      String err = rt.startErrors.get(v.name());
      if (err != null && v.notStarted()) {
        v =
            new ContainerView(
                v.id(),
                v.name(),
                v.role(),
                "exited",
                128,
                false,
                null,
                null,
                v.restartCount(),
                err,
                null,
                v.labels(),
                v.lastTermination());
      }
      byName.put(v.name(), v);
    }
    PodPlan.RestartPolicy policy;
    try {
      policy =
          PodPlan.RestartPolicy.fromKubernetes(sandbox.labels().get(Names.LABEL_RESTART_POLICY));
    } catch (IllegalArgumentException e) {
      policy = PodPlan.RestartPolicy.ALWAYS;
    }
    ContainerView sb = sandbox;
    if ((sb.ip() == null || sb.ip().isEmpty()) && rt.lastPodIp != null) {
      sb =
          new ContainerView(
              sb.id(),
              sb.name(),
              sb.role(),
              sb.status(),
              sb.exitCode(),
              sb.oomKilled(),
              sb.startedAt(),
              sb.finishedAt(),
              sb.restartCount(),
              sb.error(),
              rt.lastPodIp,
              sb.labels(),
              null);
    }
    if (!rt.cancelled
        && ContainerSpecs.deadlineExceeded(sandbox.labels(), sandbox.startedAt(), Instant.now())) {
      synchronized (lock(uid)) {
        store.markDeadlineExceeded(uid);
        store.markCancelled(uid);
        rt.deadlineExceeded = true;
        rt.cancelled = true;
        rt.cancelNanos = System.nanoTime();
        rt.grace = Duration.ofSeconds(Names.number(sandbox.labels().get(Names.LABEL_GRACE)));
      }
      log.info("pod {} ran past its activeDeadlineSeconds; stopping it", uid);
      stopAsync(host, uid, rt.grace);
    }
    Observed o =
        PodStatusMapper.map(
            new PodStatusMapper.PodView(
                policy,
                splitNames(sandbox.labels().get(Names.LABEL_INIT_CONTAINERS)),
                splitNames(sandbox.labels().get(Names.LABEL_CONTAINERS)),
                sb,
                byName,
                Map.copyOf(rt.waiting),
                rt.cancelled,
                host.settings.hostAddress()));
    if (rt.deadlineExceeded) {
      // like the kubelet: the pod fails at once, its containers are being stopped
      o =
          new Observed(
              Observed.Phase.FAILED,
              "DeadlineExceeded",
              "Pod was active on the node longer than the specified deadline",
              o.hostIP(),
              o.podIP(),
              o.startTime(),
              o.initContainers(),
              o.containers());
    }
    if (o.phase().terminal()
        && sandbox.running()
        && rt.sandboxStopping.compareAndSet(false, true)) {
      // the pod is done: its sandbox only holds resources now
      io.execute(
          () -> {
            try {
              host.streams.stopContainerCmd(sandbox.id()).withTimeout(2).exec();
            } catch (RuntimeException ex) {
              log.debug("stopping sandbox of {}: {}", uid, DockerHost.describe(ex));
            } finally {
              rt.sandboxStopping.set(false);
            }
          });
    }
    if (rt.cancelled
        && o.phase() == Observed.Phase.RUNNING
        && !rt.stopping.get()
        && System.nanoTime() - rt.cancelNanos > rt.grace.toNanos() + TimeUnit.SECONDS.toNanos(10)) {
      stopAsync(host, uid, rt.grace);
    }
    return o;
  }

  static List<String> splitNames(String s) {
    if (s == null || s.isEmpty()) {
      return List.of();
    }
    return Arrays.stream(s.split(",")).filter(x -> !x.isEmpty()).toList();
  }

  // ---------------------------------------------------------------- cancel, release

  @Override
  public void cancel(Handle handle, Duration grace) throws BackendException {
    DockerHosts.Target t = target(handle);
    PodRuntime rt = runtime(t.uid());
    synchronized (lock(t.uid())) {
      if (!rt.cancelled) {
        store.markCancelled(t.uid());
        rt.cancelled = true;
      }
      rt.cancelNanos = System.nanoTime();
      rt.grace = grace == null || grace.isNegative() ? Duration.ZERO : grace;
    }
    if (!t.host().reachable()) {
      throw new BackendException.Transient(
          "docker host " + t.host().name() + " is unreachable: " + t.host().lastError());
    }
    stopAsync(t.host(), t.uid(), rt.grace);
  }

  /**
   * docker stop (SIGTERM, SIGKILL after the grace period) on every running container of the pod.
   */
  private void stopAsync(DockerHost host, String uid, Duration grace) {
    PodRuntime rt = runtime(uid);
    if (!rt.stopping.compareAndSet(false, true)) {
      return;
    }
    int seconds = (int) Math.min(Integer.MAX_VALUE, (grace.toMillis() + 999) / 1000);
    io.execute(
        () -> {
          try {
            List<Container> list = listPod(host, uid);
            List<CompletableFuture<Void>> stops = new ArrayList<>();
            String sandboxId = null;
            for (Container c : list) {
              if (Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE))) {
                sandboxId = c.getId();
                continue;
              }
              String s = c.getState();
              if ("running".equals(s) || "restarting".equals(s) || "paused".equals(s)) {
                stops.add(
                    CompletableFuture.runAsync(
                        () -> {
                          try {
                            host.streams.stopContainerCmd(c.getId()).withTimeout(seconds).exec();
                          } catch (NotModifiedException | NotFoundException e) {
                            // already stopped or gone
                          }
                        },
                        io));
              }
            }
            CompletableFuture.allOf(stops.toArray(CompletableFuture[]::new)).join();
            if (sandboxId != null) {
              try {
                host.streams.stopContainerCmd(sandboxId).withTimeout(2).exec();
              } catch (NotModifiedException | NotFoundException e) {
                // already stopped
              }
            }
            log.info("pod {} stopped on docker host {}", uid, host.name());
          } catch (RuntimeException e) {
            if (io.isShutdown()) {
              log.debug("stopping pod {} interrupted by close: {}", uid, DockerHost.describe(e));
            } else {
              log.warn(
                  "stopping pod {} on {} failed: {}", uid, host.name(), DockerHost.describe(e));
            }
          } finally {
            rt.stopping.set(false);
          }
        });
  }

  @Override
  public void release(Handle handle) throws BackendException {
    DockerHosts.Target t = target(handle);
    DockerHost host = t.host();
    synchronized (lock(t.uid())) {
      try {
        List<Container> list = listPod(host, t.uid());
        list.sort(
            java.util.Comparator.comparing(
                c -> Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE))));
        for (Container c : list) {
          try {
            host.client
                .removeContainerCmd(c.getId())
                .withForce(true)
                .withRemoveVolumes(true)
                .exec();
          } catch (NotFoundException e) {
            // gone already
          }
        }
        var vols =
            host.client
                .listVolumesCmd()
                .withFilter("label", List.of(Names.LABEL_POD_UID + "=" + t.uid()))
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
        throw DockerHosts.transientOrWrap(host, "releasing pod " + t.uid(), e);
      }
      store.forget(t.uid());
      pods.remove(t.uid());
    }
    podLocks.remove(t.uid());
  }

  // ---------------------------------------------------------------- logs

  @Override
  public InputStream logs(Handle handle, String container, LogOptions options)
      throws BackendException {
    DockerHosts.Target t = target(handle);
    return logs.logs(t.host(), t.uid(), container, options);
  }

  // ---------------------------------------------------------------- find, capacity, ping

  @Override
  public Optional<Handle> find(PodRef pod) throws BackendException {
    Optional<String> recorded = store.host(pod.uid());
    if (recorded.isPresent() && hosts.get(recorded.get()) != null) {
      DockerHost h = hosts.get(recorded.get());
      try {
        boolean any =
            listPod(h, pod.uid()).stream()
                .anyMatch(c -> Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE)));
        h.ok();
        return any ? Optional.of(handle(h.name(), pod.uid())) : Optional.empty();
      } catch (RuntimeException e) {
        h.failed(e);
        // placed there, host down: the pod is there as far as we know
        return Optional.of(handle(h.name(), pod.uid()));
      }
    }
    Optional<String> found = findOnHosts(pod.uid());
    if (found.isPresent()) {
      store.saveHost(pod.uid(), found.get());
    }
    return found.map(h -> handle(h, pod.uid()));
  }

  /** Looks for the pod's sandbox on every reachable host. */
  private Optional<String> findOnHosts(String uid) {
    for (DockerHost h : hosts.all()) {
      try {
        boolean any =
            listPod(h, uid).stream()
                .anyMatch(c -> Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE)));
        h.ok();
        if (any) {
          return Optional.of(h.name());
        }
      } catch (RuntimeException e) {
        h.failed(e);
        log.debug(
            "cannot look for pod {} on unreachable docker host {}: {}",
            uid,
            h.name(),
            DockerHost.describe(e));
      }
    }
    return Optional.empty();
  }

  @Override
  public Capacity capacity() throws BackendException {
    return hosts.capacity();
  }

  /**
   * Pings every host. Throws only when no host answers; a single unreachable host shows in {@link
   * #hostHealth()} and in {@link #capacity()}'s node info.
   */
  @Override
  public void ping() throws BackendException {
    hosts.ping();
  }

  @Override
  public void close() {
    io.shutdownNow();
    timer.shutdownNow();
    hosts.close();
  }

  /** For tests: the backend's node name. */
  String nodeName() {
    return nodeName;
  }
}
