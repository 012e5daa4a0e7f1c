package io.hpcbridge.bridge.node;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.TaintBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendCondition;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.status.StatusSynth;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Registers this bridge as a Node, renews its Lease in {@code kube-node-lease}, and keeps the node
 * status (capacity, conditions) current. Ready follows the backend's {@link Backend#ping()}; the
 * backend's {@link Backend#conditions()} are published as further node conditions. Both are checked
 * with every lease renewal and written at once when they change.
 */
public final class NodeController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeController.class);
  public static final String KUBELET_VERSION = "v1.20.0-hpc-bridge";
  private static final String LEASE_NS = "kube-node-lease";

  private final KubernetesClient client;
  private final BridgeConfig cfg;
  private final Backend backend;
  private final String hostIP;
  private final int kubeletPort;
  private final ScheduledExecutorService timer;
  private volatile Capacity capacity;
  private volatile String notReady; // null when ready, else the reason message
  private volatile List<BackendCondition> backendConditions = List.of();
  private volatile Health written; // what the last successful status write showed
  private volatile String nodeUid;

  public NodeController(
      KubernetesClient client, BridgeConfig cfg, Backend backend, String hostIP, int kubeletPort) {
    this.client = client;
    this.cfg = cfg;
    this.backend = backend;
    this.hostIP = hostIP;
    this.kubeletPort = kubeletPort;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "node");
              t.setDaemon(true);
              return t;
            });
  }

  /** Registers (or adopts) the node and starts the lease and status loops. */
  public void start() throws BackendException {
    checkBackend();
    register();
    renewLease();
    long renew = cfg.node().leaseRenewInterval().toMillis();
    timer.scheduleWithFixedDelay(this::renewLeaseSafely, renew, renew, TimeUnit.MILLISECONDS);
    long status = cfg.node().statusUpdateInterval().toMillis();
    timer.scheduleWithFixedDelay(this::updateStatusSafely, status, status, TimeUnit.MILLISECONDS);
  }

  public Capacity capacity() {
    return capacity;
  }

  private void checkBackend() {
    try {
      backend.ping();
      capacity = backend.capacity();
      notReady = null;
    } catch (BackendException | RuntimeException e) {
      notReady = backend.name() + " backend unreachable: " + e.getMessage();
      log.warn("backend ping failed: {}", e.getMessage());
      if (capacity == null) {
        capacity = new Capacity(0, 0, 0, 0, Map.of());
      }
    }
    try {
      backendConditions = List.copyOf(backend.conditions());
    } catch (RuntimeException e) {
      log.warn("backend conditions failed: {}", e.toString()); // keep the last ones
    }
  }

  /** What decides whether the node status must be written now: readiness and extra conditions. */
  private record Health(String notReady, List<BackendCondition> conditions) {}

  private Health health() {
    return new Health(notReady, backendConditions);
  }

  private static void logChanges(Health before, Health after) {
    if (before == null) {
      before = new Health(null, List.of()); // first write: log the backend's conditions once
    }
    if (!Objects.equals(before.notReady(), after.notReady())) {
      log.info("node readiness changed: {}", after.notReady() == null ? "Ready" : after.notReady());
    }
    for (BackendCondition c : after.conditions()) {
      if (!before.conditions().contains(c)) {
        log.info(
            "node condition {}={} ({}): {}",
            c.type(),
            c.status().toKubernetes(),
            c.reason(),
            c.message());
      }
    }
  }

  private void register() {
    Node saved = null;
    // The node lifecycle controller edits an existing node (taints) while we adopt it: a conflict
    // means "read again", not "fail to start".
    for (int attempt = 1; saved == null; attempt++) {
      Node existing = client.nodes().withName(cfg.nodeName()).get();
      Node desired = desiredNode(existing);
      try {
        if (existing == null) {
          saved = client.nodes().resource(desired).create();
          log.info("registered node {}", cfg.nodeName());
        } else {
          saved = client.nodes().resource(desired).update();
          log.info("adopted existing node {}", cfg.nodeName());
        }
      } catch (KubernetesClientException e) {
        if ((e.getCode() != 409) || attempt >= 10) {
          throw e;
        }
        log.debug("node {} changed while registering ({}), retrying", cfg.nodeName(), e.getCode());
      }
    }
    nodeUid = saved.getMetadata().getUid();
    writeStatus();
  }

  private Node desiredNode(Node existing) {
    Map<String, String> labels = new LinkedHashMap<>();
    if (existing != null && existing.getMetadata().getLabels() != null) {
      labels.putAll(existing.getMetadata().getLabels());
    }
    labels.put("type", "virtual-kubelet");
    labels.put("kubernetes.io/role", "agent");
    labels.put("kubernetes.io/hostname", cfg.nodeName());
    labels.put("kubernetes.io/os", "linux");
    labels.put("kubernetes.io/arch", "amd64");
    labels.put("hpc-bridge.io/backend", backend.name());
    labels.putAll(cfg.node().labels());

    List<Taint> taints = new ArrayList<>();
    if (existing != null && existing.getSpec().getTaints() != null) {
      for (Taint t : existing.getSpec().getTaints()) {
        if (!t.getKey().equals("virtual-kubelet.io/provider")) {
          taints.add(t); // keep taints others manage (not-ready, unreachable, cordon)
        }
      }
    }
    if (cfg.node().taint()) {
      taints.add(
          new TaintBuilder()
              .withKey("virtual-kubelet.io/provider")
              .withValue(backend.name())
              .withEffect("NoSchedule")
              .build());
    }
    NodeBuilder b =
        existing == null
            ? new NodeBuilder()
                .withNewMetadata()
                .withName(cfg.nodeName())
                .endMetadata()
                .withNewSpec()
                .endSpec()
            : new NodeBuilder(existing);
    return b.editMetadata()
        .withLabels(labels)
        .endMetadata()
        .editSpec()
        .withTaints(taints)
        .endSpec()
        .withStatus(null)
        .build();
  }

  private NodeStatus status(Health h) {
    Capacity c = capacity;
    Map<String, Quantity> res = new LinkedHashMap<>();
    res.put(
        "cpu",
        new Quantity(
            c.cpuMillis() % 1000 == 0
                ? String.valueOf(c.cpuMillis() / 1000)
                : c.cpuMillis() + "m"));
    res.put("memory", new Quantity(String.valueOf(c.memoryBytes())));
    res.put("pods", new Quantity(String.valueOf(c.pods())));
    res.put("ephemeral-storage", new Quantity("100Gi"));
    if (c.gpus() > 0) {
      res.put("nvidia.com/gpu", new Quantity(String.valueOf(c.gpus())));
    }
    List<NodeCondition> conds =
        conditions(backend.name(), h.notReady(), h.conditions(), StatusSynth.ts(Instant.now()));
    Map<String, String> info = c.nodeInfo();
    return new NodeStatusBuilder()
        .withCapacity(res)
        .withAllocatable(res)
        .withConditions(conds)
        .withAddresses(
            new NodeAddress(hostIP, "InternalIP"), new NodeAddress(cfg.nodeName(), "Hostname"))
        .withNewDaemonEndpoints()
        .withNewKubeletEndpoint(kubeletPort)
        .endDaemonEndpoints()
        .withNewNodeInfo()
        .withArchitecture(info.getOrDefault("architecture", "amd64"))
        .withOperatingSystem("linux")
        .withOsImage(info.getOrDefault("osImage", backend.name()))
        .withKernelVersion(info.getOrDefault("kernelVersion", ""))
        .withKubeletVersion(KUBELET_VERSION)
        .withKubeProxyVersion("")
        .withContainerRuntimeVersion(
            backend.name() + "://" + info.getOrDefault("runtimeVersion", "0"))
        .withMachineID("")
        .withSystemUUID("")
        .withBootID("")
        .endNodeInfo()
        .build();
  }

  /**
   * The node's conditions: Ready (False with reason {@code BackendUnreachable} and {@code notReady}
   * as message when the backend does not answer), the kubelet's pressure conditions, then each of
   * the backend's own conditions as it reported them. A backend condition cannot replace one of the
   * standard types.
   */
  static List<NodeCondition> conditions(
      String backendName, String notReady, List<BackendCondition> extra, String now) {
    boolean ready = notReady == null;
    List<NodeCondition> conds = new ArrayList<>();
    conds.add(
        cond(
            "Ready",
            ready ? "True" : "False",
            ready ? "KubeletReady" : "BackendUnreachable",
            ready ? "hpc-bridge is ready, backend " + backendName + " reachable" : notReady,
            now));
    for (String t : List.of("MemoryPressure", "DiskPressure", "PIDPressure")) {
      conds.add(
          cond(
              t,
              "False",
              "KubeletHasNo" + t.replace("Pressure", "") + "Pressure",
              "no pressure",
              now));
    }
    conds.add(
        cond(
            "NetworkUnavailable", "False", "RouteCreated", "the bridge needs no pod network", now));
    for (BackendCondition c : extra) {
      if (conds.stream().noneMatch(x -> x.getType().equals(c.type()))) {
        conds.add(cond(c.type(), c.status().toKubernetes(), c.reason(), c.message(), now));
      }
    }
    return conds;
  }

  /**
   * Keeps the {@code lastTransitionTime} of each condition whose status did not change since {@code
   * current} (the node as the API server has it); a changed status keeps the new time.
   */
  static void keepTransitionTimes(List<NodeCondition> desired, List<NodeCondition> current) {
    if (current == null) {
      return;
    }
    for (NodeCondition c : desired) {
      for (NodeCondition old : current) {
        if (old.getType().equals(c.getType())
            && Objects.equals(old.getStatus(), c.getStatus())
            && old.getLastTransitionTime() != null) {
          c.setLastTransitionTime(old.getLastTransitionTime());
        }
      }
    }
  }

  private static NodeCondition cond(
      String type, String status, String reason, String message, String now) {
    return new NodeConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(reason)
        .withMessage(message)
        .withLastHeartbeatTime(now)
        .withLastTransitionTime(now)
        .build();
  }

  private void writeStatus() {
    Health h = health();
    NodeStatus s = status(h);
    // Keep transition times of conditions whose status did not change.
    Node current = client.nodes().withName(cfg.nodeName()).get();
    if (current != null && current.getStatus() != null) {
      keepTransitionTimes(s.getConditions(), current.getStatus().getConditions());
    }
    client
        .nodes()
        .withName(cfg.nodeName())
        .subresource("status")
        .patch(
            PatchContext.of(PatchType.STRATEGIC_MERGE),
            "{\"status\":" + Serialization.asJson(s) + "}");
    logChanges(written, h);
    written = h;
  }

  private void updateStatusSafely() {
    try {
      checkBackend();
      if (client.nodes().withName(cfg.nodeName()).get() == null) {
        register(); // someone deleted the node: register it again
      } else {
        writeStatus();
      }
    } catch (RuntimeException e) {
      log.warn("node status update failed: {}", e.toString());
    }
  }

  private void renewLeaseSafely() {
    try {
      // A backend that stops answering (or reports a condition change) shows on the node
      // quickly, not after a minute.
      checkBackend();
      if (!health().equals(written)) {
        try {
          writeStatus();
        } catch (RuntimeException e) {
          // retried with the next renewal; the lease is renewed regardless
          log.warn("node status update failed: {}", e.toString());
        }
      }
      renewLease();
    } catch (RuntimeException e) {
      log.warn("lease renewal failed: {}", e.toString());
    }
  }

  void renewLease() {
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    var leases = client.leases().inNamespace(LEASE_NS);
    Lease lease = leases.withName(cfg.nodeName()).get();
    int seconds = (int) cfg.node().leaseDuration().toSeconds();
    if (lease == null) {
      Lease fresh =
          new LeaseBuilder()
              .withNewMetadata()
              .withName(cfg.nodeName())
              .withNamespace(LEASE_NS)
              .withOwnerReferences(
                  new OwnerReferenceBuilder()
                      .withApiVersion("v1")
                      .withKind("Node")
                      .withName(cfg.nodeName())
                      .withUid(nodeUid)
                      .build())
              .endMetadata()
              .withNewSpec()
              .withHolderIdentity(cfg.nodeName())
              .withLeaseDurationSeconds(seconds)
              .withRenewTime(now)
              .endSpec()
              .build();
      try {
        leases.resource(fresh).create();
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        lease = leases.withName(cfg.nodeName()).get();
      }
    }
    lease.getSpec().setRenewTime(now);
    lease.getSpec().setHolderIdentity(cfg.nodeName());
    lease.getSpec().setLeaseDurationSeconds(seconds);
    leases.resource(lease).update();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
