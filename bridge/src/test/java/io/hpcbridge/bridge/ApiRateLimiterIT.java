package io.hpcbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.it.KubeControlPlane;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The limits hold against a real API server: requests past the burst wait their turn. */
class ApiRateLimiterIT {

  @Test
  void requestsPastTheBurstGoAtTheConfiguredRate() throws Exception {
    KubeControlPlane kube = KubeControlPlane.get();
    Config kc = Config.fromKubeconfig(null, Files.readString(kube.kubeconfig()), null);
    try (KubernetesClient client =
        ApiRateLimiter.client(kc, new BridgeConfig.KubeApi(10.0, 5, null))) {
      Instant start = Instant.now();
      for (int i = 0; i < 5; i++) {
        client.namespaces().withName("default").get();
      }
      Duration burst = Duration.between(start, Instant.now());
      for (int i = 0; i < 20; i++) {
        client.namespaces().withName("default").get();
      }
      Duration all = Duration.between(start, Instant.now());
      // 5 at once, then 20 more at 10/s: about 2 s
      assertThat(burst).isLessThan(Duration.ofMillis(1500));
      assertThat(all).isBetween(Duration.ofMillis(1800), Duration.ofSeconds(10));
    }
  }
}
