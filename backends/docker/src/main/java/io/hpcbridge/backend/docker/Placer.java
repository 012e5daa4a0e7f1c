package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Info;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.PodPlan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Chooses the Docker host of a new pod ({@link Placement} decides from the hosts' loads) and
 * records the choice before anything is created there. One placement at a time: the hosts are
 * listed inside the lock, and pods placed whose sandbox is not listed yet count as pending, so
 * concurrent submits see each other.
 */
final class Placer {
  private final DockerHosts hosts;
  private final Placement.Policy policy;
  private final String nodeName;
  private final PodStore store;
  private final Executor io;
  private final Object lock = new Object();
  private final Map<String, Placement.Request> pendingRequests = new HashMap<>();
  private final Map<String, String> pendingHosts = new HashMap<>();

  Placer(DockerHosts hosts, Placement.Policy policy, String nodeName, PodStore store, Executor io) {
    this.hosts = hosts;
    this.policy = policy;
    this.nodeName = nodeName;
    this.store = store;
    this.io = io;
  }

  /** A host's load as listed, and which pods (uids) it counted. */
  private record Listed(Placement.HostLoad load, Set<String> uids) {}

  /**
   * The chosen host's name, already saved for the pod. Call {@link #settled} once the pod's sandbox
   * exists (or creating it failed).
   *
   * @throws BackendException.Transient when no host is reachable or none has room now
   * @throws BackendException.InvalidPod when the pod is larger than every host
   */
  String place(PodPlan plan) throws BackendException {
    Placement.Request req = Placement.Request.of(plan);
    List<DockerHost> candidates =
        hosts.all().stream()
            .filter(h -> plan.allowedHosts().isEmpty() || plan.allowedHosts().contains(h.name()))
            .toList();
    if (candidates.isEmpty()) {
      // like a pod no host has room for: it waits (the hosts may be configured later)
      throw new BackendException.Transient(
          "none of the docker hosts the pod may use ("
              + String.join(", ", plan.allowedHosts())
              + ") is configured");
    }
    synchronized (lock) {
      Map<String, CompletableFuture<Listed>> loads = new LinkedHashMap<>();
      for (DockerHost h : candidates) {
        loads.put(h.name(), CompletableFuture.supplyAsync(() -> load(h), io));
      }
      List<Placement.HostLoad> reachable = new ArrayList<>();
      List<String> errors = new ArrayList<>();
      for (var e : loads.entrySet()) {
        Listed l;
        try {
          l = e.getValue().join();
        } catch (RuntimeException ex) {
          errors.add(e.getKey() + ": " + DockerHost.describe(ex));
          continue;
        }
        reachable.add(withPending(l));
      }
      if (reachable.isEmpty()) {
        throw new BackendException.Transient(
            "no docker host "
                + (plan.allowedHosts().isEmpty() ? "" : "the pod may use ")
                + "is reachable: "
                + String.join("; ", errors));
      }
      Optional<String> chosen = Placement.choose(policy, reachable, req);
      if (chosen.isEmpty()) {
        String msg =
            "no docker host has room for "
                + req.cpuMillis()
                + "m CPU and "
                + req.memoryBytes()
                + " bytes of memory";
        if (errors.isEmpty() && !Placement.couldEverFit(reachable, req)) {
          throw new BackendException.InvalidPod(
              "OutOfResources", msg + " (larger than every host)");
        }
        throw new BackendException.Transient(msg);
      }
      String uid = plan.pod().uid();
      pendingRequests.put(uid, req);
      pendingHosts.put(uid, chosen.get());
      store.saveHost(uid, chosen.get());
      return chosen.get();
    }
  }

  /**
   * The pod's sandbox is listed from now on (or was never made): it no longer counts as pending.
   */
  void settled(String uid) {
    synchronized (lock) {
      pendingRequests.remove(uid);
      pendingHosts.remove(uid);
    }
  }

  /** Adds what was placed on the host but is not listed there yet. */
  private Placement.HostLoad withPending(Listed l) {
    Placement.HostLoad hl = l.load();
    long cpu = hl.usedCpuMillis();
    long mem = hl.usedMemoryBytes();
    int n = hl.pods();
    for (var p : pendingHosts.entrySet()) {
      if (p.getValue().equals(hl.name()) && !l.uids().contains(p.getKey())) {
        Placement.Request r = pendingRequests.get(p.getKey());
        cpu += r.cpuMillis();
        mem += r.memoryBytes();
        n++;
      }
    }
    return new Placement.HostLoad(
        hl.name(), hl.cpuMillis(), hl.memoryBytes(), hl.maxPods(), cpu, mem, n);
  }

  /** A host's totals and what its active pods requested, from one list call. */
  private Listed load(DockerHost h) {
    List<Container> list;
    Info info;
    try {
      info = h.info() != null && h.reachable() ? h.info() : h.refresh();
      list =
          h.client
              .listContainersCmd()
              .withShowAll(true)
              .withLabelFilter(
                  Map.of(Names.LABEL_NODE, nodeName, Names.LABEL_ROLE, Names.ROLE_SANDBOX))
              .exec();
      h.ok();
    } catch (RuntimeException e) {
      h.failed(e);
      throw e;
    }
    long cpu = 0;
    long mem = 0;
    int pods = 0;
    Set<String> uids = new HashSet<>();
    for (Container c : list) {
      uids.add(c.getLabels().get(Names.LABEL_POD_UID));
      String s = c.getState();
      if (!"running".equals(s) && !"created".equals(s) && !"restarting".equals(s)) {
        continue;
      }
      pods++;
      cpu += Names.number(c.getLabels().get(Names.LABEL_CPU_REQUEST));
      mem += Names.number(c.getLabels().get(Names.LABEL_MEMORY_REQUEST));
    }
    return new Listed(
        new Placement.HostLoad(
            h.name(), h.cpuMillis(info), h.memoryBytes(info), h.settings.maxPods(), cpu, mem, pods),
        uids);
  }
}
