package io.hpcbridge.bridge.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.it.KubeControlPlane;
import java.io.InputStream;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The node's liveness does not wait on its backend: against a real control plane, a backend whose
 * health check hangs for 120 s keeps the Lease fresh and turns the node Ready=False.
 */
class NodeControllerIT {
  static final String NODE = "it-node-hang";

  final KubernetesClient client = KubeControlPlane.get().client();
  final HangingBackend backend = new HangingBackend();
  NodeController node;

  @AfterEach
  void stop() {
    backend.release.countDown();
    if (node != null) {
      node.close();
    }
    client.nodes().withName(NODE).delete();
  }

  @Test
  void aHangingBackendLeavesTheLeaseFreshAndTheNodeNotReady() {
    BridgeConfig cfg =
        new BridgeConfig(
            NODE,
            "local",
            null,
            null,
            null,
            new BridgeConfig.Node(
                "127.0.0.1",
                Map.of(),
                true,
                Duration.ofSeconds(8),
                Duration.ofSeconds(1),
                Duration.ofSeconds(60),
                Duration.ofSeconds(2)),
            null,
            null,
            null,
            null,
            null);
    node = new NodeController(client, cfg, backend, "127.0.0.1", 10250);
    node.start();
    await("Ready").atMost(Duration.ofSeconds(30)).until(() -> "True".equals(ready().getStatus()));

    backend.hang = true; // every ping from now blocks for 120 s
    ZonedDateTime hungAt = ZonedDateTime.now();
    await("Ready=False because the backend does not answer")
        .atMost(Duration.ofSeconds(30))
        .until(() -> "False".equals(ready().getStatus()));
    assertThat(ready().getReason()).isEqualTo("BackendUnreachable");
    assertThat(ready().getMessage()).contains("did not answer its health check within 2s");

    // Well past the lease duration, the lease is still being renewed every second.
    await("lease renewed 10 s after the backend hung")
        .atMost(Duration.ofSeconds(30))
        .until(() -> renewTime().isAfter(hungAt.plusSeconds(10)));
    assertThat(backend.pingsInFlight).as("no pile-up of hanging health checks").isEqualTo(1);

    backend.hang = false;
    backend.release.countDown();
    await("Ready again")
        .atMost(Duration.ofSeconds(30))
        .until(() -> "True".equals(ready().getStatus()));
  }

  private NodeCondition ready() {
    var n = client.nodes().withName(NODE).get();
    return n.getStatus().getConditions().stream()
        .filter(c -> c.getType().equals("Ready"))
        .findFirst()
        .orElseThrow();
  }

  private ZonedDateTime renewTime() {
    return client
        .leases()
        .inNamespace("kube-node-lease")
        .withName(NODE)
        .get()
        .getSpec()
        .getRenewTime();
  }

  /** A backend whose ping blocks while {@link #hang} is set. */
  static final class HangingBackend implements Backend {
    volatile boolean hang;
    volatile int pingsInFlight;
    final CountDownLatch release = new CountDownLatch(1);

    @Override
    public String name() {
      return "hanging";
    }

    @Override
    public void ping() throws BackendException {
      if (!hang) {
        return;
      }
      synchronized (this) {
        pingsInFlight++;
      }
      try {
        release.await(120, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        synchronized (this) {
          pingsInFlight--;
        }
      }
    }

    @Override
    public Capacity capacity() {
      return new Capacity(4000, 8L << 30, 0, 10, Map.of());
    }

    @Override
    public Handle submit(PodPlan plan) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Map<Handle, Observed> observe(Collection<Handle> handles) {
      return Map.of();
    }

    @Override
    public void cancel(Handle handle, Duration grace) {}

    @Override
    public InputStream logs(Handle handle, String container, LogOptions options) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Optional<Handle> find(PodRef pod) {
      return Optional.empty();
    }

    @Override
    public List<io.hpcbridge.backend.BackendCondition> conditions() {
      return List.of();
    }
  }
}
