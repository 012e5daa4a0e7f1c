package io.hpcbridge.bridge.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The bridge's configuration, loaded once by {@link ConfigLoader} and immutable afterwards.
 *
 * @param nodeName the Kubernetes node this bridge registers
 * @param backend the backend every pod of this node runs on
 * @param stateFile the SQLite file with the pod to job mapping
 * @param dataDir where backends keep their files
 * @param kubeconfig an explicit kubeconfig, or null for the usual rules
 * @param node node registration
 * @param pods pod controller
 * @param kubelet kubelet HTTPS API
 * @param backends each backend's own settings, by backend name
 */
public record BridgeConfig(
    String nodeName,
    String backend,
    Path stateFile,
    Path dataDir,
    Path kubeconfig,
    Node node,
    Pods pods,
    Kubelet kubelet,
    Map<String, Map<String, Object>> backends) {

  /** The InternalIP the node advertises: {@code node.address}, else this machine's address. */
  public String nodeAddress() {
    return node.address() != null ? node.address() : io.hpcbridge.backend.HostAddress.primaryIPv4();
  }

  public Map<String, Object> backendSettings() {
    return backends.getOrDefault(backend, Map.of());
  }

  /**
   * @param address the InternalIP to advertise, or null to detect it
   * @param labels extra node labels
   * @param taint whether to add the {@code virtual-kubelet.io/provider=<backend>:NoSchedule} taint
   * @param leaseDuration the node Lease duration
   * @param leaseRenewInterval how often the Lease is renewed
   * @param statusUpdateInterval how often the node status is rewritten
   */
  public record Node(
      String address,
      Map<String, String> labels,
      boolean taint,
      Duration leaseDuration,
      Duration leaseRenewInterval,
      Duration statusUpdateInterval) {}

  /**
   * @param pollInterval how often all active pods are observed (one batched backend call)
   * @param workers reconcile threads
   * @param kubernetesServiceHost the value of KUBERNETES_SERVICE_HOST in pods, null for the API
   *     server's host
   * @param kubernetesServicePort the value of KUBERNETES_SERVICE_PORT, 0 for the API server's
   */
  public record Pods(
      Duration pollInterval,
      int workers,
      String kubernetesServiceHost,
      int kubernetesServicePort) {}

  /**
   * @param bindAddress address the kubelet API listens on
   * @param port its port (advertised as daemonEndpoints.kubeletEndpoint)
   * @param tlsCertFile serving certificate (PEM), or null for a self-signed one
   * @param tlsKeyFile its key
   * @param clientCaFile the CA that signs the API server's kubelet client certificate
   * @param allowAnonymous accept requests without a client certificate
   */
  public record Kubelet(
      String bindAddress,
      int port,
      Path tlsCertFile,
      Path tlsKeyFile,
      Path clientCaFile,
      boolean allowAnonymous) {}

  /** Keys an environment variable may override, as {@code HPC_BRIDGE_} + upper snake case. */
  public static final List<String> ENV_KEYS =
      List.of(
          "nodeName",
          "backend",
          "stateFile",
          "dataDir",
          "kubeconfig",
          "node.address",
          "node.taint",
          "node.leaseDuration",
          "node.leaseRenewInterval",
          "node.statusUpdateInterval",
          "pods.pollInterval",
          "pods.workers",
          "pods.kubernetesServiceHost",
          "pods.kubernetesServicePort",
          "kubelet.bindAddress",
          "kubelet.port",
          "kubelet.tlsCertFile",
          "kubelet.tlsKeyFile",
          "kubelet.clientCaFile",
          "kubelet.allowAnonymous");
}
