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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
  private final Map<String, CompletableFuture<ContainerView>> inflight = new ConcurrentHashMap<>();
  private final Duration timeout;

  /** Beyond the timeout, the time to hand over what a host's refresh learnt. */
  private static final long BOUND_SLACK = TimeUnit.MILLISECONDS.toNanos(200);

  private record Cached(ListStatus.Seen seen, ContainerView view) {}

  Observer(
      DockerHosts hosts,
      String nodeName,
      Duration unreachableTimeout,
      Duration timeout,
      Function<String, PodStatusMapper.PodFacts> facts,
      Executor io) {
    this.timeout = timeout;
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

  /**
   * One batched observation. Waits at most the observe timeout for any host: a host whose list has
   * not answered by then, and a pod with a container whose inspect has not, are left out of this
   * answer (no news) rather than holding up every other pod; their calls finish in the background
   * and the next observe uses what they learnt.
   */
  Map<Handle, Observed> observe(Collection<Handle> handles) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<Handle, Observed> out = new LinkedHashMap<>();
    Map<DockerHost, List<Handle>> byHost = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        byHost.computeIfAbsent(hosts.target(h).host(), k -> new ArrayList<>()).add(h);
      } catch (BackendException e) {
        out.put(h, Observed.unknown("NotFound", e.getMessage()));
      }
    }
    Map<DockerHost, CompletableFuture<HostView>> lists = new LinkedHashMap<>();
    for (DockerHost host : byHost.keySet()) {
      lists.put(host, CompletableFuture.supplyAsync(() -> refresh(host, deadline), io));
    }
    Instant now = Instant.now();
    for (var e : byHost.entrySet()) {
      DockerHost host = e.getKey();
      HostView seen;
      try {
        seen =
            lists
                .get(host)
                .get(Math.max(0, deadline - System.nanoTime()) + BOUND_SLACK, TimeUnit.NANOSECONDS);
      } catch (TimeoutException ex) {
        log.info(
            "docker host {} did not list its containers within {}: its pods are left out of this"
                + " observation",
            host.name(),
            timeout);
        continue;
      } catch (ExecutionException ex) {
        if (ex.getCause() instanceof BoundedHttpClient.Busy busy) {
          // our own connections were all in use: no news, not a host that does not answer
          log.info(
              "docker host {}: {}; its pods are left out of this observation",
              host.name(),
              busy.getMessage());
          continue;
        }
        for (Handle h : e.getValue()) {
          out.put(h, unreachable(host));
        }
        continue;
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        return out;
      }
      Map<String, List<ContainerView>> byPod =
          seen.views().stream()
              .collect(
                  Collectors.groupingBy(v -> v.labels().getOrDefault(Names.LABEL_POD_UID, "")));
      for (Handle h : e.getValue()) {
        String uid = h.id().substring(h.id().indexOf('/') + 1);
        if (seen.unsettled().contains(uid)) {
          continue; // an inspect of one of its containers is still out: no news of it yet
        }
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

  /** What one host showed: container views, and the pods some of whose views are not in yet. */
  private record HostView(List<ContainerView> views, Set<String> unsettled) {}

  /**
   * One list call; inspects (in parallel) only containers whose list entry changed since the last
   * inspect, waiting for them until {@code deadline}. A container whose inspect is late keeps its
   * previous view; one never seen before leaves its pod unsettled.
   */
  private HostView refresh(DockerHost host, long deadline) {
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
    Map<Container, CompletableFuture<ContainerView>> pending = new LinkedHashMap<>();
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
      ListStatus.Seen seenNow =
          changed ? ListStatus.seen(c.getState(), c.getStatus(), now) : prev.seen();
      pending.put(c, inspect(host, cache, c.getId(), seenNow));
    }
    cache.keySet().retainAll(seen);
    Set<String> unsettled = new HashSet<>();
    for (var e : pending.entrySet()) {
      Container c = e.getKey();
      ContainerView v;
      try {
        v = e.getValue().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException ex) {
        Cached prev = cache.get(c.getId());
        if (prev != null) {
          out.add(prev.view()); // late: what it was
        } else {
          unsettled.add(c.getLabels().getOrDefault(Names.LABEL_POD_UID, ""));
        }
        continue;
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", ex);
      }
      if (v != null) {
        out.add(v);
      }
    }
    return new HostView(out, unsettled);
  }

  /**
   * Inspects a container in the background, at most once at a time, and caches what it saw with the
   * list entry it was asked for.
   */
  private CompletableFuture<ContainerView> inspect(
      DockerHost host, Map<String, Cached> cache, String id, ListStatus.Seen seenNow) {
    CompletableFuture<ContainerView> mine = new CompletableFuture<>();
    CompletableFuture<ContainerView> running = inflight.putIfAbsent(id, mine);
    if (running != null) {
      return running;
    }
    requests.incrementAndGet();
    try {
      io.execute(
          () -> {
            try {
              ContainerView v = Containers.inspect(host, id);
              if (v == null) {
                cache.remove(id);
              } else {
                Cached prev = cache.get(id);
                v = withHistory(v, prev == null ? null : prev.view());
                cache.put(id, new Cached(seenNow, v));
              }
              inflight.remove(id, mine);
              mine.complete(v);
            } catch (RuntimeException e) {
              inflight.remove(id, mine);
              mine.completeExceptionally(e);
            }
          });
    } catch (RejectedExecutionException e) {
      inflight.remove(id, mine);
      mine.completeExceptionally(e);
    }
    return mine;
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
