package io.hpcbridge.bridge.node;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.NodeConditionBuilder;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.TaintBuilder;
import io.hpcbridge.backend.BackendCondition;
import io.hpcbridge.backend.Capacity;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** The Node object and its status as this bridge advertises them. Pure: no API calls. */
final class AdvertisedNode {
  static final String KUBELET_VERSION = "v1.20.0-hpc-bridge";
  static final String PROVIDER_TAINT = "virtual-kubelet.io/provider";

  private AdvertisedNode() {}

  /** What this node should look like: {@code existing} with our labels and taint (or a new one). */
  static Node desired(
      Node existing,
      String nodeName,
      String backend,
      Map<String, String> extraLabels,
      boolean taint) {
    Map<String, String> labels = new LinkedHashMap<>();
    if (existing != null && existing.getMetadata().getLabels() != null) {
      labels.putAll(existing.getMetadata().getLabels());
    }
    labels.put("type", "virtual-kubelet");
    labels.put("kubernetes.io/role", "agent");
    labels.put("kubernetes.io/hostname", nodeName);
    labels.put("kubernetes.io/os", "linux");
    labels.put("kubernetes.io/arch", "amd64");
    labels.put("hpc-bridge.io/backend", backend);
    labels.putAll(extraLabels);

    List<Taint> taints = new ArrayList<>();
    if (existing != null && existing.getSpec().getTaints() != null) {
      for (Taint t : existing.getSpec().getTaints()) {
        if (!t.getKey().equals(PROVIDER_TAINT)) {
          taints.add(t); // keep taints others manage (not-ready, unreachable, cordon)
        }
      }
    }
    if (taint) {
      taints.add(
          new TaintBuilder()
              .withKey(PROVIDER_TAINT)
              .withValue(backend)
              .withEffect("NoSchedule")
              .build());
    }
    NodeBuilder b =
        existing == null
            ? new NodeBuilder()
                .withNewMetadata()
                .withName(nodeName)
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

  /** The node status for what the backend probe last learnt. */
  static NodeStatus status(
      String nodeName,
      String backend,
      String hostIP,
      int kubeletPort,
      BackendProbe.Health health,
      String now) {
    Capacity c = health.capacity();
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
    Map<String, String> info = c.nodeInfo();
    return new NodeStatusBuilder()
        .withCapacity(res)
        .withAllocatable(res)
        .withConditions(conditions(backend, health.problem(), health.conditions(), now))
        .withAddresses(new NodeAddress(hostIP, "InternalIP"), new NodeAddress(nodeName, "Hostname"))
        .withNewDaemonEndpoints()
        .withNewKubeletEndpoint(kubeletPort)
        .endDaemonEndpoints()
        .withNewNodeInfo()
        .withArchitecture(info.getOrDefault("architecture", "amd64"))
        .withOperatingSystem("linux")
        .withOsImage(info.getOrDefault("osImage", backend))
        .withKernelVersion(info.getOrDefault("kernelVersion", ""))
        .withKubeletVersion(KUBELET_VERSION)
        .withKubeProxyVersion("")
        .withContainerRuntimeVersion(backend + "://" + info.getOrDefault("runtimeVersion", "0"))
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
}
