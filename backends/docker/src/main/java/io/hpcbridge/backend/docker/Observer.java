package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Observes pods: one list call per host for all of this node's containers, an inspect only of the
 * containers whose list entry changed since they were last inspected, then {@link PodStatusMapper}.
 * Reads only: it creates, starts and stops nothing (start-up and stop run on their own, see {@link
 * PodStartups} and {@link PodStopper}); what it keeps is its own cache of what it saw.
 */
final class Observer {
  private static final Logger log = LoggerFactory.getLogger(Observer.class);

  private final DockerHosts hosts;
  private final String nodeName;
  private final Duration unreachableTimeout;
  private final Function<String, PodStatusMapper.PodFacts> facts;
  private final Executor io;
  private final Map<String, Map<String, Cached>> caches = new ConcurrentHashMap<>();
  private final Map<String, String> lastPodIps = new ConcurrentHashMap<>();
  private final AtomicLong requests = new AtomicLong();

  private record Cached(ListStatus.Seen seen, ContainerView view) {}

  Observer(
      DockerHosts hosts,
      String nodeName,
      Duration unreachableTimeout,
      Function<String, PodStatusMapper.PodFacts> facts,
      Executor io) {
    this.hosts = hosts;
    this.nodeName = nodeName;
    this.unreachableTimeout = unreachableTimeout;
    this.facts = facts;
    this.io = io;
  }

  /** Engine requests made by observe so far (lists and inspects). */
  long requests() {
    return requests.get();
  }

  Map<Handle, Observed> observe(Collection<Handle> handles) {
    Map<Handle, Observed> out = new LinkedHashMap<>();
    Map<DockerHost, List<Handle>> byHost = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        byHost.computeIfAbsent(hosts.target(h).host(), k -> new ArrayList<>()).add(h);
      } catch (BackendException e) {
        out.put(h, Observed.unknown("NotFound", e.getMessage()));
      }
    }
    Map<DockerHost, CompletableFuture<List<ContainerView>>> lists = new LinkedHashMap<>();
    for (DockerHost host : byHost.keySet()) {
      lists.put(host, CompletableFuture.supplyAsync(() -> refresh(host), io));
    }
    Instant now = Instant.now();
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
          out.put(h, pod(host, uid, byPod.getOrDefault(uid, List.of()), now));
        } catch (RuntimeException ex) {
          log.warn("observing pod {} on {} failed: {}", uid, host.name(), DockerHost.describe(ex));
          out.put(h, Observed.unknown("ObserveFailed", DockerHost.describe(ex)));
        }
      }
    }
    return out;
  }

  private Observed pod(DockerHost host, String uid, List<ContainerView> views, Instant now) {
    if (views.stream().noneMatch(v -> Names.ROLE_SANDBOX.equals(v.role()))) {
      return Observed.unknown(
          "SandboxNotFound", "no containers of this pod on docker host " + host.name());
    }
    for (ContainerView v : views) {
      if (Names.ROLE_SANDBOX.equals(v.role()) && v.ip() != null && !v.ip().isEmpty()) {
        lastPodIps.put(uid, v.ip());
      }
    }
    return PodStatusMapper.observe(
        views, facts.apply(uid), host.settings.hostAddress(), now, lastPodIps.get(uid));
  }

  /** Forgets what was seen of a pod (released). */
  void forget(String uid) {
    lastPodIps.remove(uid);
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
    boolean lost = Duration.between(since, Instant.now()).compareTo(unreachableTimeout) > 0;
    return new Observed(
        lost ? Observed.Phase.FAILED : Observed.Phase.UNKNOWN,
        lost ? "HostLost" : "HostUnreachable",
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
      requests.incrementAndGet();
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
    Set<String> seen = new HashSet<>();
    for (Container c : list) {
      seen.add(c.getId());
      Cached prev = cache.get(c.getId());
      boolean changed =
          prev == null || ListStatus.changed(prev.seen(), c.getState(), c.getStatus(), now);
      if (!changed && !oomUnsettled(prev, now)) {
        out.add(prev.view());
        continue;
      }
      requests.incrementAndGet();
      ContainerView v = Containers.inspect(host, c.getId());
      if (v == null) {
        cache.remove(c.getId());
        continue;
      }
      v = withHistory(v, prev == null ? null : prev.view());
      // an unchanged entry keeps when it was first seen, so the OOM window closes
      ListStatus.Seen seenNow =
          changed ? ListStatus.seen(c.getState(), c.getStatus(), now) : prev.seen();
      cache.put(c.getId(), new Cached(seenNow, v));
      out.add(v);
    }
    cache.keySet().retainAll(seen);
    return out;
  }

  /** Carries the previous run over a restart Docker made between two inspects. */
  static ContainerView withHistory(ContainerView v, ContainerView prev) {
    if (prev == null) {
      return v;
    }
    if (v.restartCount() > prev.restartCount() && prev.exited()) {
      return v.withLastTermination(prev.termination());
    }
    if (v.restartCount() > prev.restartCount() && prev.running() && v.finishedAt() != null) {
      // it exited and was restarted between two polls: its last run ended at finishedAt
      return v.withLastTermination(
          new Observed.Termination(
              v.exitCode(), v.terminationReason(), null, prev.startedAt(), v.finishedAt()));
    }
    return v.withLastTermination(prev.lastTermination());
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
}
