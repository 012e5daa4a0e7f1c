package io.hpcbridge.bridge.config;

import static io.hpcbridge.backend.SettingsBinder.invalid;

import io.hpcbridge.bridge.policy.Policy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The bridge's configuration: the YAML file (and {@code HPC_BRIDGE_*} overrides) bound by {@link
 * ConfigLoader} to these records, immutable afterwards. Each record sets its defaults and checks
 * its values in its constructor.
 *
 * @param nodeName the Kubernetes node this bridge registers
 * @param backend the backend every pod of this node runs on
 * @param stateFile the SQLite file with the pod to job mapping
 * @param dataDir where backends keep their files
 * @param kubeconfig an explicit kubeconfig, or null for the usual rules
 * @param node node registration
 * @param pods pod controller
 * @param kubelet kubelet HTTPS API
 * @param policy what pods may ask for (every door closed by default)
 * @param backends each backend's own settings, by backend name (each backend binds its own)
 * @param kubeApi how hard the bridge may press the API server
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
    Policy policy,
    Map<String, Map<String, Object>> backends,
    KubeApi kubeApi) {

  public BridgeConfig {
    nodeName = nodeName == null || nodeName.isEmpty() ? "hpc-bridge" : nodeName;
    backend = backend == null || backend.isEmpty() ? "local" : backend;
    if (!nodeName.matches("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")) {
      throw invalid(
          "nodeName",
          "must be a DNS subdomain (lower case, digits, '-', '.'), got '" + nodeName + "'");
    }
    if (!backend.matches("[a-z][a-z0-9-]*")) {
      throw invalid("backend", "not a backend name: '" + backend + "'");
    }
    node = node == null ? new Node(null, null, null, null, null, null, null) : node;
    pods = pods == null ? new Pods(null, null, null, null, null, null, null) : pods;
    kubelet =
        kubelet == null
            ? new Kubelet(null, null, null, null, null, null, null, null, null, null, null)
            : kubelet;
    policy = policy == null ? Policy.CLOSED : policy;
    kubeApi = kubeApi == null ? new KubeApi(null, null, null) : kubeApi;
    Map<String, Map<String, Object>> b = new LinkedHashMap<>();
    if (backends != null) {
      backends.forEach((k, v) -> b.put(k, v == null ? Map.of() : v));
    }
    backends = b;
  }

  /** This config with the state file and data directory defaulted under {@code home}. */
  BridgeConfig withHome(Path home) {
    return new BridgeConfig(
        nodeName,
        backend,
        stateFile != null ? stateFile : home.resolve("state.db"),
        dataDir != null ? dataDir : home.resolve("data"),
        kubeconfig,
        node,
        pods,
        kubelet,
        policy,
        backends,
        kubeApi);
  }

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
   * @param probeTimeout how long the backend may take to answer its health check before the node
   *     turns NotReady (the Lease is renewed regardless)
   */
  public record Node(
      String address,
      Map<String, String> labels,
      Boolean taint,
      Duration leaseDuration,
      Duration leaseRenewInterval,
      Duration statusUpdateInterval,
      Duration probeTimeout) {
    public Node {
      address = address == null || address.isEmpty() ? null : address;
      labels = labels == null ? Map.of() : Map.copyOf(labels);
      taint = taint == null || taint;
      leaseDuration = positive("leaseDuration", leaseDuration, Duration.ofSeconds(40));
      leaseRenewInterval =
          positive("leaseRenewInterval", leaseRenewInterval, Duration.ofSeconds(10));
      statusUpdateInterval =
          positive("statusUpdateInterval", statusUpdateInterval, Duration.ofSeconds(60));
      probeTimeout = positive("probeTimeout", probeTimeout, Duration.ofSeconds(20));
      if (leaseRenewInterval.compareTo(leaseDuration) >= 0) {
        throw invalid("leaseRenewInterval", "must be shorter than node.leaseDuration");
      }
    }
  }

  /**
   * Client-side limits on API server requests, like a kubelet's {@code kubeAPIQPS}/{@code
   * kubeAPIBurst}: they keep a runaway loop from flooding the API server; the defaults leave room
   * for thousands of pods submitted at once (about three writes each).
   *
   * @param qps sustained requests per second
   * @param burst requests allowed at once above the sustained rate
   * @param maxConcurrentRequests requests in flight at once
   */
  public record KubeApi(Double qps, Integer burst, Integer maxConcurrentRequests) {
    public KubeApi {
      if (qps == null) {
        qps = 200.0;
      }
      if (!(qps > 0) || qps > 100_000) {
        throw invalid("qps", "must be more than 0 and at most 100000, got " + qps);
      }
      burst = range("burst", burst, 400, 1, 1_000_000);
      maxConcurrentRequests = range("maxConcurrentRequests", maxConcurrentRequests, 64, 1, 4096);
    }
  }

  /**
   * @param pollInterval how often all active pods are observed (one batched backend call)
   * @param workers reconcile threads
   * @param kubernetesServiceHost the value of KUBERNETES_SERVICE_HOST in pods, null for the API
   *     server's host
   * @param kubernetesServicePort the value of KUBERNETES_SERVICE_PORT, 0 for the API server's
   * @param historyRetention how long the state file keeps a pod that is gone (its row and
   *     transitions), so {@code hpc-bridge state} can still show it
   * @param submitThreads threads that submit pods to the backend, each a batch at a time
   * @param submitBatch the most pods one backend submission and one state transaction take
   */
  public record Pods(
      Duration pollInterval,
      Integer workers,
      String kubernetesServiceHost,
      Integer kubernetesServicePort,
      Duration historyRetention,
      Integer submitThreads,
      Integer submitBatch) {
    public Pods {
      pollInterval = positive("pollInterval", pollInterval, Duration.ofSeconds(5));
      workers = range("workers", workers, 4, 1, 256);
      kubernetesServiceHost =
          kubernetesServiceHost == null || kubernetesServiceHost.isEmpty()
              ? null
              : kubernetesServiceHost;
      kubernetesServicePort = range("kubernetesServicePort", kubernetesServicePort, 0, 0, 65535);
      historyRetention = positive("historyRetention", historyRetention, Duration.ofDays(7));
      submitThreads = range("submitThreads", submitThreads, 4, 1, 64);
      submitBatch = range("submitBatch", submitBatch, 100, 1, 1000);
    }
  }

  /**
   * @param bindAddress address the kubelet API listens on
   * @param port its port (advertised as daemonEndpoints.kubeletEndpoint)
   * @param tlsCertFile serving certificate (PEM), or null for a self-signed one
   * @param tlsKeyFile its key
   * @param clientCaFile the CA that signs the API server's kubelet client certificate
   * @param allowAnonymous accept requests without credentials (they are still authorized)
   * @param authorization {@code Webhook} (the API server decides, like the kubelet) or {@code
   *     AlwaysAllow} (every authenticated client may do everything)
   * @param maxRequests requests served at once; more wait briefly, then get 503
   * @param maxFollows log follows streaming at once (each holds a thread while it streams)
   * @param maxFollowsPerNamespace log follows of one namespace's pods at once
   * @param idleTimeout how long a connection may stall while a request is read or written
   */
  public record Kubelet(
      String bindAddress,
      Integer port,
      Path tlsCertFile,
      Path tlsKeyFile,
      Path clientCaFile,
      Boolean allowAnonymous,
      String authorization,
      Integer maxRequests,
      Integer maxFollows,
      Integer maxFollowsPerNamespace,
      Duration idleTimeout) {
    public Kubelet {
      bindAddress = bindAddress == null || bindAddress.isEmpty() ? "0.0.0.0" : bindAddress;
      port = range("port", port, 10250, 1, 65535);
      allowAnonymous = allowAnonymous != null && allowAnonymous;
      authorization = authorization == null ? "Webhook" : authorization;
      if (!authorization.equals("Webhook") && !authorization.equals("AlwaysAllow")) {
        throw invalid(
            "authorization", "must be Webhook or AlwaysAllow, got '" + authorization + "'");
      }
      maxRequests = range("maxRequests", maxRequests, 128, 1, 10000);
      maxFollows = range("maxFollows", maxFollows, 256, 1, 10000);
      maxFollowsPerNamespace =
          range("maxFollowsPerNamespace", maxFollowsPerNamespace, 32, 1, 10000);
      idleTimeout = positive("idleTimeout", idleTimeout, Duration.ofSeconds(30));
    }
  }

  static Duration positive(String key, Duration d, Duration fallback) {
    if (d == null) {
      return fallback;
    }
    if (d.isNegative() || d.isZero()) {
      throw invalid(key, "must be positive, got " + d);
    }
    return d;
  }

  static int range(String key, Integer v, int fallback, int min, int max) {
    if (v == null) {
      return fallback;
    }
    if (v < min || v > max) {
      throw invalid(key, "must be between " + min + " and " + max + ", got " + v);
    }
    return v;
  }

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
          "node.probeTimeout",
          "pods.pollInterval",
          "pods.workers",
          "pods.kubernetesServiceHost",
          "pods.kubernetesServicePort",
          "pods.historyRetention",
          "pods.submitThreads",
          "pods.submitBatch",
          "kubelet.bindAddress",
          "kubelet.port",
          "kubelet.tlsCertFile",
          "kubelet.tlsKeyFile",
          "kubelet.clientCaFile",
          "kubelet.allowAnonymous",
          "kubelet.authorization",
          "kubelet.maxRequests",
          "kubelet.maxFollows",
          "kubelet.maxFollowsPerNamespace",
          "kubelet.idleTimeout",
          "kubeApi.qps",
          "kubeApi.burst",
          "kubeApi.maxConcurrentRequests");
}
