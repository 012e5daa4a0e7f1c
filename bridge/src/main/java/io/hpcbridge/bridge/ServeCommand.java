package io.hpcbridge.bridge;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.kubelet.KubeletServer;
import io.hpcbridge.bridge.kubelet.KubeletServerConfig;
import io.hpcbridge.bridge.kubelet.PodLogSource;
import io.hpcbridge.bridge.node.NodeController;
import io.hpcbridge.bridge.plan.NodeFacts;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.pod.PodController;
import io.hpcbridge.bridge.policy.PolicyChecker;
import io.hpcbridge.state.StateStore;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description =
        "Register as a Kubernetes node and run the pods bound to it on the configured backend.")
final class ServeCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

  @Mixin ConfigOption config;

  @Override
  public Integer call() throws Exception {
    BridgeConfig cfg = config.load();
    Config kc =
        cfg.kubeconfig() != null
            ? Config.fromKubeconfig(
                null, Files.readString(cfg.kubeconfig()), cfg.kubeconfig().toString())
            : Config.autoConfigure(null);
    String hostIP = cfg.nodeAddress();
    List<AutoCloseable> open = new ArrayList<>();
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  log.info("stopping");
                  for (int i = open.size() - 1; i >= 0; i--) {
                    try {
                      open.get(i).close();
                    } catch (Exception e) {
                      log.debug("close failed", e);
                    }
                  }
                  stop.countDown();
                },
                "shutdown"));

    KubernetesClient client = ApiRateLimiter.client(kc, cfg.kubeApi());
    open.add(client);
    StateStore state = StateStore.open(cfg.stateFile());
    open.add(state);
    Backend backend = Backends.create(cfg);
    open.add(backend);

    PodController[] pods = new PodController[1];
    KubeletServer kubelet =
        KubeletServer.withApiServer(
            new KubeletServerConfig(
                cfg.kubelet().bindAddress(),
                cfg.kubelet().port(),
                cfg.kubelet().tlsCertFile(),
                cfg.kubelet().tlsKeyFile(),
                cfg.kubelet().clientCaFile(),
                cfg.kubelet().allowAnonymous(),
                List.of(hostIP, "127.0.0.1", cfg.nodeName()),
                cfg.kubelet().authorization().equals("AlwaysAllow")
                    ? KubeletServerConfig.Authorization.ALWAYS_ALLOW
                    : KubeletServerConfig.Authorization.WEBHOOK,
                cfg.kubelet().maxRequests(),
                cfg.kubelet().maxFollows(),
                cfg.kubelet().maxFollowsPerNamespace(),
                cfg.kubelet().idleTimeout()),
            new PodLogSource() {
              @Override
              public InputStream open(
                  String namespace, String pod, String container, LogOptions options)
                  throws Exception {
                Handle h =
                    pods[0]
                        .handle(namespace, pod)
                        .orElseThrow(
                            () ->
                                new NoSuchElementException(
                                    "pod " + namespace + "/" + pod + " not found on this node"));
                return backend.logs(h, container, options);
              }

              @Override
              public List<Pod> pods() {
                return pods[0] == null ? List.of() : pods[0].pods();
              }
            },
            client,
            cfg.nodeName());

    NodeController node = new NodeController(client, cfg, backend, hostIP, cfg.kubelet().port());
    node.start();
    open.add(node);
    var cap = node.capacity();
    Map<String, String> serviceEnv = serviceEnv(cfg, kc);
    NodeFacts facts = new NodeFacts(cfg.nodeName(), hostIP, cap.cpuMillis(), cap.memoryBytes());
    pods[0] =
        new PodController(
            client,
            cfg.nodeName(),
            hostIP,
            backend,
            state,
            objects ->
                new PlanBuilder(
                    objects, serviceEnv, facts, new PolicyChecker(cfg.policy(), backend::choices)),
            cfg.pods());
    pods[0].purgeGoneAfter(cfg.pods().historyRetention());
    kubelet.start();
    open.add(kubelet);
    pods[0].start();
    open.add(pods[0]);
    log.info(
        "node {} serving on backend {} (kubelet API on {}:{}, state {})",
        cfg.nodeName(),
        backend.name(),
        cfg.kubelet().bindAddress(),
        kubelet.port(),
        cfg.stateFile());
    stop.await();
    return 0;
  }

  /** KUBERNETES_SERVICE_* as the kubelet sets them, pointing at the API server pods can reach. */
  static Map<String, String> serviceEnv(BridgeConfig cfg, Config kc) {
    URI api = URI.create(kc.getMasterUrl());
    String host =
        cfg.pods().kubernetesServiceHost() != null
            ? cfg.pods().kubernetesServiceHost()
            : api.getHost();
    int port =
        cfg.pods().kubernetesServicePort() != 0
            ? cfg.pods().kubernetesServicePort()
            : (api.getPort() > 0 ? api.getPort() : 443);
    Map<String, String> env = new TreeMap<>();
    env.put("KUBERNETES_SERVICE_HOST", host);
    env.put("KUBERNETES_SERVICE_PORT", String.valueOf(port));
    env.put("KUBERNETES_SERVICE_PORT_HTTPS", String.valueOf(port));
    env.put("KUBERNETES_PORT", "tcp://" + host + ":" + port);
    env.put("KUBERNETES_PORT_" + port + "_TCP", "tcp://" + host + ":" + port);
    env.put("KUBERNETES_PORT_" + port + "_TCP_PROTO", "tcp");
    env.put("KUBERNETES_PORT_" + port + "_TCP_PORT", String.valueOf(port));
    env.put("KUBERNETES_PORT_" + port + "_TCP_ADDR", host);
    return env;
  }
}
