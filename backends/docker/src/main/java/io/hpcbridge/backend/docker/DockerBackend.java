package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendCondition;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.Submission;
import io.hpcbridge.backend.VolumePlan;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each pod as containers on one of several Docker hosts: a sandbox container holding the pod's
 * network and IPC namespaces (like the kubelet's pause container), init containers run in order,
 * then the containers, all joined to the sandbox's namespaces so they reach each other on
 * localhost.
 *
 * <p>This class only wires the parts together: {@link DockerHosts} (hosts and their health), {@link
 * Placer} (which host), {@link PodStartups} (each pod's start-up, on the backend's own threads),
 * {@link Observer} (observe, read only), {@link PodStopper} (cancel, release), {@link PodLogs}.
 * Everything needed after a bridge restart lives in Docker labels and in the backend's data
 * directory ({@link PodStore}). Handles are {@code docker:<host>/<pod uid>}.
 */
public final class DockerBackend implements Backend {
  private static final Logger log = LoggerFactory.getLogger(DockerBackend.class);
  public static final String NAME = "docker";

  /** The node condition type that reports the Docker hosts: True when every host answers. */
  public static final String HOSTS_CONDITION = DockerHosts.HOSTS_CONDITION;

  private final String nodeName;
  private final DockerSettings settings;
  private final ExecutorService io;
  private final ScheduledExecutorService timer;
  private final DockerHosts hosts;
  private final PodStore store;
  private final Placer placer;
  private final ImagePuller puller;
  private final PodStopper stopper;
  private final PodStartups startups;
  private final Observer observer;
  private final PodLogs logs;
  private final Map<String, Object> submitLocks = new ConcurrentHashMap<>();
  private final EngineSockets engineSockets;

  /** Pods of one batch started at once. */
  static final int PARALLEL_SUBMITS = 16;

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
    this.engineSockets = EngineSockets.of(settings);
    this.store = new PodStore(dataDir);
    this.placer = new Placer(hosts, settings.placement(), nodeName, store, io);
    StreamQuota quota = new StreamQuota(settings);
    this.puller = new ImagePuller(settings.imagePullTimeout(), quota);
    this.stopper = new PodStopper(nodeName, store, io, timer);
    this.startups =
        new PodStartups(
            hosts, new PodStartup.Env(nodeName, settings, store, puller, stopper), io, timer);
    this.observer =
        new Observer(
            hosts,
            nodeName,
            settings.unreachableTimeout(),
            settings.observeTimeout(),
            startups::facts,
            io);
    this.logs = new PodLogs(nodeName, quota, timer);
    startups.start();
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

  /**
   * One condition, {@value #HOSTS_CONDITION}: {@code True} (reason {@code AllHostsReachable}) when
   * every host answered the last {@link #ping()}, else {@code False} with reason {@code
   * HostUnreachable} naming each host down.
   */
  @Override
  public List<BackendCondition> conditions() {
    return DockerHosts.conditions(hostHealth());
  }

  @Override
  public Handle submit(PodPlan plan) throws BackendException {
    return submit(plan, true);
  }

  /**
   * New pods skip the look on every host for a sandbox they cannot have yet (one engine call less
   * per host and pod), and a batch's pods are started side by side, {@value #PARALLEL_SUBMITS} at a
   * time: each start is a few engine round trips, mostly waiting.
   */
  @Override
  public List<Submission> submitNew(List<PodPlan> plans) {
    Semaphore slots = new Semaphore(PARALLEL_SUBMITS);
    List<CompletableFuture<Submission>> started = new ArrayList<>(plans.size());
    for (PodPlan p : plans) {
      started.add(
          CompletableFuture.supplyAsync(
              () -> {
                slots.acquireUninterruptibly();
                try {
                  return Submission.each(List.of(p), q -> submit(q, false)).get(0);
                } finally {
                  slots.release();
                }
              },
              io));
    }
    return started.stream().map(CompletableFuture::join).toList();
  }

  private Handle submit(PodPlan plan, boolean lookFirst) throws BackendException {
    ContainerSpecs.validate(plan);
    engineSockets.withDataRoots(hosts.dataRoots()).check(plan);
    String uid = plan.pod().uid();
    synchronized (submitLocks.computeIfAbsent(uid, k -> new Object())) {
      String hostName = store.host(uid).orElse(null);
      if (hostName == null && lookFirst) {
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
        PodStartup s = startups.track(uid, host);
        if (!s.cancelled) {
          s.submitted = true;
          startups.stepNow(s);
        }
      } catch (RuntimeException e) {
        throw DockerHosts.transientOrWrap(host, "creating the sandbox of " + plan.pod(), e);
      } finally {
        if (placedNow) {
          placer.settled(uid);
        }
      }
      log.info(
          "pod {} ({}) {} docker host {}",
          plan.pod(),
          uid,
          placedNow ? "placed on" : "already on",
          hostName);
      return DockerHosts.handle(hostName, uid);
    }
  }

  @Override
  public void onChange(Runnable listener) {
    startups.onChange(listener);
  }

  @Override
  public Map<Handle, Observed> observe(Collection<Handle> handles) {
    return observer.observe(handles);
  }

  /** For tests: log follows open now. */
  int openFollows() {
    return logs.follows();
  }

  /** For tests: engine requests made by {@link #observe} so far. */
  long observeRequests() {
    return observer.requests();
  }

  @Override
  public void cancel(Handle handle, Duration grace) throws BackendException {
    DockerHosts.Target t = hosts.target(handle);
    stopper.cancel(startups.track(t.uid(), t.host()), grace);
  }

  @Override
  public void release(Handle handle) throws BackendException {
    DockerHosts.Target t = hosts.target(handle);
    stopper.release(startups.track(t.uid(), t.host()));
    startups.forget(t.uid());
    puller.forget(t.uid());
    observer.forget(t.uid());
    logs.release(t.uid());
    submitLocks.remove(t.uid());
  }

  /**
   * Replaces the files of a configMap, secret, downwardAPI or projected volume in the running pod:
   * written once into the pod's Docker volume, which every container mounting it sees at once (see
   * {@link PodVolumes} for how each file is swapped).
   */
  @Override
  public void updateVolume(Handle handle, VolumePlan volume) throws BackendException {
    DockerHosts.Target t = hosts.target(handle);
    synchronized (submitLocks.computeIfAbsent(t.uid(), k -> new Object())) {
      PodVolumes.update(t.host(), nodeName, store, t.uid(), volume);
    }
  }

  @Override
  public InputStream logs(Handle handle, String container, LogOptions options)
      throws BackendException {
    DockerHosts.Target t = hosts.target(handle);
    return logs.logs(t.host(), t.uid(), container, options);
  }

  @Override
  public Optional<Handle> find(PodRef pod) throws BackendException {
    Optional<String> recorded = store.host(pod.uid());
    if (recorded.isPresent() && hosts.get(recorded.get()) != null) {
      DockerHost h = hosts.get(recorded.get());
      try {
        boolean any =
            Containers.ofPod(h, nodeName, pod.uid()).stream().anyMatch(Containers::isSandbox);
        h.ok();
        return any ? Optional.of(DockerHosts.handle(h.name(), pod.uid())) : Optional.empty();
      } catch (RuntimeException e) {
        h.failed(e);
        // placed there, host down: the pod is there as far as we know
        return Optional.of(DockerHosts.handle(h.name(), pod.uid()));
      }
    }
    Optional<String> found = findOnHosts(pod.uid());
    if (found.isPresent()) {
      store.saveHost(pod.uid(), found.get());
      startups.wake(startups.track(pod.uid(), hosts.get(found.get())));
    }
    return found.map(h -> DockerHosts.handle(h, pod.uid()));
  }

  /**
   * Looks for the pod's sandbox on every reachable host. A host whose connections are all in use
   * makes it fail: it may hold the pod, and a pod placed again would run twice.
   */
  private Optional<String> findOnHosts(String uid) throws BackendException.Transient {
    for (DockerHost h : hosts.all()) {
      try {
        boolean any = Containers.ofPod(h, nodeName, uid).stream().anyMatch(Containers::isSandbox);
        h.ok();
        if (any) {
          return Optional.of(h.name());
        }
      } catch (BoundedHttpClient.Busy e) {
        throw new BackendException.Transient(
            "looking for pod " + uid + " on docker host " + h.name() + ": " + e.getMessage(), e);
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
    startups.close();
    io.shutdownNow();
    timer.shutdownNow();
    hosts.close();
  }

  /** For tests: the backend's node name. */
  String nodeName() {
    return nodeName;
  }
}
