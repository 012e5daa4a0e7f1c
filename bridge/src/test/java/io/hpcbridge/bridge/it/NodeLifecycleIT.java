package io.hpcbridge.bridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node registration, lease expiry and adoption, and resuming after kill -9, against a real control
 * plane (the node lifecycle controller judges our Lease).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NodeLifecycleIT {
  static final String NODE = "it-lifecycle";
  static final String NS = "it-resume-" + java.util.UUID.randomUUID().toString().substring(0, 5);
  static KubeControlPlane kube;
  static KubernetesClient client;
  static BridgeProcess bridge;
  @TempDir static Path tmp;

  @BeforeAll
  static void up() throws Exception {
    kube = KubeControlPlane.get();
    client = kube.client();
    client.nodes().withName(NODE).delete();
    bridge =
        new BridgeProcess(
            NODE,
            tmp.resolve("bridge"),
            kube.kubeconfig(),
            kube.caCert(),
            // the resume test's pods record their starts in a hostPath under tmp
            "policy:\n  hostPathPrefixes: [" + tmp.toAbsolutePath() + "]\n");
  }

  @AfterAll
  static void down() throws Exception {
    if (bridge != null) {
      bridge.stop();
      System.out.println("---- bridge log (tail) ----\n" + bridge.tail());
    }
  }

  @Test
  @Order(1)
  void registersBecomesReadyAndLosesTheNotReadyTaint() throws Exception {
    bridge.start();
    await("node Ready without not-ready taint")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                Nodes.ready(client, NODE)
                    && !Nodes.hasTaint(client, NODE, "node.kubernetes.io/not-ready"));
    Node n = client.nodes().withName(NODE).get();
    assertThat(n.getMetadata().getLabels()).containsEntry("type", "virtual-kubelet");
    assertThat(n.getSpec().getTaints())
        .anySatisfy(
            t -> {
              assertThat(t.getKey()).isEqualTo("virtual-kubelet.io/provider");
              assertThat(t.getValue()).isEqualTo("local");
              assertThat(t.getEffect()).isEqualTo("NoSchedule");
            });
    assertThat(n.getStatus().getCapacity()).containsKeys("cpu", "memory", "pods");
    assertThat(n.getStatus().getDaemonEndpoints().getKubeletEndpoint().getPort())
        .isEqualTo(bridge.kubeletPort());
    assertThat(
            client
                .leases()
                .inNamespace("kube-node-lease")
                .withName(NODE)
                .get()
                .getSpec()
                .getHolderIdentity())
        .isEqualTo(NODE);
  }

  @Test
  @Order(2)
  void aPodRunningDuringKill9IsNotStartedTwiceAndEndsWithItsExitCode() throws Exception {
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
        .createOr(x -> x.update());
    Path marker = ItPods.sharedDir(tmp.resolve("starts"));
    for (var e : Map.of("ok", 0, "three", 3).entrySet()) {
      Pod p =
          ItPods.onNode(
                  NODE,
                  NS,
                  e.getKey(),
                  "debian:bookworm",
                  "echo started >> /m/" + e.getKey() + "; sleep 10; exit " + e.getValue())
              .editSpec()
              .editFirstContainer()
              .addNewVolumeMount()
              .withName("m")
              .withMountPath("/m")
              .endVolumeMount()
              .endContainer()
              .addNewVolume()
              .withName("m")
              .withNewHostPath()
              .withPath(marker.toString())
              .endHostPath()
              .endVolume()
              .endSpec()
              .build();
      client.pods().inNamespace(NS).resource(p).create();
    }
    await("both running")
        .atMost(Duration.ofSeconds(60))
        .until(() -> "Running".equals(phase("ok")) && "Running".equals(phase("three")));
    bridge.kill9();
    bridge.start();
    await("ok Succeeded")
        .atMost(Duration.ofSeconds(90))
        .until(() -> "Succeeded".equals(phase("ok")));
    await("three Failed")
        .atMost(Duration.ofSeconds(90))
        .until(() -> "Failed".equals(phase("three")));
    assertThat(Files.readAllLines(marker.resolve("ok"))).containsExactly("started");
    assertThat(Files.readAllLines(marker.resolve("three"))).containsExactly("started");
    assertThat(exitCode("ok")).isZero();
    assertThat(exitCode("three")).isEqualTo(3);
  }

  @Test
  @Order(3)
  void aStoppedBridgeGoesNotReadyAndARestartedOneAdoptsTheNode() throws Exception {
    String uid = client.nodes().withName(NODE).get().getMetadata().getUid();
    bridge.kill9();
    await("node not Ready after the lease lapsed")
        .atMost(Duration.ofSeconds(150))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> !Nodes.ready(client, NODE));
    bridge.start();
    await("node Ready again, unreachable taint gone")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                Nodes.ready(client, NODE)
                    && !Nodes.hasTaint(client, NODE, "node.kubernetes.io/unreachable"));
    assertThat(client.nodes().withName(NODE).get().getMetadata().getUid())
        .as("the node was adopted, not recreated")
        .isEqualTo(uid);
  }

  @Test
  @Order(4)
  void aBackendThatFailsItsPingMakesTheNodeNotReadyWithAReason() throws Exception {
    // Break the local backend for real: its work directory becomes a plain file.
    Path work = bridge.dir().resolve("data/local");
    Path away = bridge.dir().resolve("data/local.away");
    Files.move(work, away);
    Files.writeString(work, "not a directory");
    try {
      await("node Ready=False, BackendUnreachable")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () ->
                  "BackendUnreachable".equals(readyReason())
                      && "False".equals(Nodes.readyStatus(client, NODE)));
      assertThat(readyMessage()).contains("not writable");
    } finally {
      Files.delete(work);
      Files.move(away, work);
    }
    await("node Ready again")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> Nodes.ready(client, NODE));
  }

  static String readyReason() {
    return client.nodes().withName(NODE).get().getStatus().getConditions().stream()
        .filter(c -> c.getType().equals("Ready"))
        .findFirst()
        .map(c -> c.getReason())
        .orElse(null);
  }

  static String readyMessage() {
    return client.nodes().withName(NODE).get().getStatus().getConditions().stream()
        .filter(c -> c.getType().equals("Ready"))
        .findFirst()
        .map(c -> c.getMessage())
        .orElse(null);
  }

  static String phase(String name) {
    Pod p = client.pods().inNamespace(NS).withName(name).get();
    return p == null || p.getStatus() == null ? null : p.getStatus().getPhase();
  }

  static int exitCode(String name) {
    Pod p = client.pods().inNamespace(NS).withName(name).get();
    return p.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode();
  }
}
