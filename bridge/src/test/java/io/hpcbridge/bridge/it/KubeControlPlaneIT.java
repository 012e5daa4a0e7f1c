package io.hpcbridge.bridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeCondition;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.Taint;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The test control plane is real: apiserver, scheduler, Job controller, node lifecycle. */
class KubeControlPlaneIT {

  private static KubeControlPlane kube;
  private static KubernetesClient client;
  private static final String NS = "it-smoke-" + UUID.randomUUID().toString().substring(0, 8);

  // Per test rather than @BeforeAll: an abort there (no control plane outside CI) is reported
  // by failsafe as an error, an abort here as skipped tests.
  @BeforeEach
  void start() {
    if (kube == null) {
      kube = KubeControlPlane.get();
      client = kube.client();
      Namespace ns = new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build();
      client.namespaces().resource(ns).create();
    }
  }

  @AfterAll
  static void cleanUp() {
    if (client != null) {
      client.namespaces().withName(NS).delete();
    }
  }

  @Test
  void apiserverIsReadyAndServesTheSystemNamespaces() {
    KubeControlPlane.KubectlResult readyz = kube.kubectl("get", "--raw", "/readyz");
    assertThat(readyz.ok()).as(readyz.toString()).isTrue();
    assertThat(readyz.stdout().strip()).isEqualTo("ok");

    List<String> names =
        client.namespaces().list().getItems().stream().map(n -> n.getMetadata().getName()).toList();
    assertThat(names).contains("default", "kube-system", "kube-public", "kube-node-lease", NS);
    assertThat(client.getKubernetesVersion().getGitVersion()).startsWith("v1.20.");
  }

  @Test
  void certificatesAndKubectlAreWhereTheFixtureSays() {
    assertThat(kube.caCert()).isRegularFile();
    assertThat(kube.caKey()).isRegularFile();
    assertThat(Files.isExecutable(kube.kubectlPath())).isTrue();
    KubeControlPlane.KubectlResult version = kube.kubectl("version", "--client", "--short");
    assertThat(version.stdout()).contains("v1.20.");
  }

  @Test
  void jobControllerCreatesThePodAndTheSchedulerReportsItUnschedulable() {
    Job job =
        new JobBuilder()
            .withNewMetadata()
            .withName("smoke")
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(0)
            .withNewTemplate()
            .withNewSpec()
            .withRestartPolicy("Never")
            // No node carries this label, so the scheduler must say why it cannot place the pod.
            .addToNodeSelector("hpc-bridge.io/it-no-such-node", "true")
            .addNewContainer()
            .withName("main")
            .withImage("local/busybox:1")
            .withCommand("true")
            .endContainer()
            .endSpec()
            .endTemplate()
            .endSpec()
            .build();
    // Pods are admitted only once the service account controller created "default" in NS.
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> client.serviceAccounts().inNamespace(NS).withName("default").get() != null);
    client.batch().v1().jobs().inNamespace(NS).resource(job).create();

    await()
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              List<Pod> pods =
                  client.pods().inNamespace(NS).withLabel("job-name", "smoke").list().getItems();
              assertThat(pods).hasSize(1);
              assertThat(pods.get(0).getMetadata().getOwnerReferences())
                  .anySatisfy(o -> assertThat(o.getKind()).isEqualTo("Job"));
              Optional<PodCondition> scheduled =
                  pods.get(0).getStatus().getConditions().stream()
                      .filter(c -> "PodScheduled".equals(c.getType()))
                      .findFirst();
              assertThat(scheduled).isPresent();
              assertThat(scheduled.get().getStatus()).isEqualTo("False");
              assertThat(scheduled.get().getReason()).isEqualTo("Unschedulable");
            });
  }

  /**
   * A node that reports Ready and renews its Lease loses the not-ready taint; once the Lease
   * lapses, the node lifecycle controller marks it Unknown and taints it unreachable, within the
   * short grace period kube-up.sh configures (20 s instead of the default 40 s).
   */
  @Test
  void nodeLifecycleFollowsTheLease() {
    String name = "it-smoke-node-" + UUID.randomUUID().toString().substring(0, 8);
    try {
      client
          .nodes()
          .resource(new NodeBuilder().withNewMetadata().withName(name).endMetadata().build())
          .create();
      Instant lastRenew = reportReady(name);

      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(() -> assertThat(readyStatus(name)).isEqualTo("True"));
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> assertThat(taintKeys(name)).doesNotContain("node.kubernetes.io/not-ready"));

      // Stop renewing: the lease lapses.
      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofSeconds(1))
          .untilAsserted(
              () -> {
                assertThat(readyStatus(name)).isEqualTo("Unknown");
                assertThat(taintKeys(name)).contains("node.kubernetes.io/unreachable");
              });
      assertThat(Duration.between(lastRenew, Instant.now()))
          .as("grace period shorter than the 40 s default")
          .isLessThan(Duration.ofSeconds(38));
    } finally {
      client.leases().inNamespace("kube-node-lease").withName(name).delete();
      client.nodes().withName(name).delete();
    }
  }

  private Instant reportReady(String name) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    String ts = DateTimeFormatter.ISO_INSTANT.format(now);
    // A merge patch of the status, not a read-modify-write: the node lifecycle controller changes
    // the new node (taints) concurrently, and a PUT would then conflict.
    var status =
        new io.fabric8.kubernetes.api.model.NodeStatusBuilder()
            .addNewCondition()
            .withType("Ready")
            .withStatus("True")
            .withReason("KubeletReady")
            .withMessage("smoke test")
            .withLastHeartbeatTime(ts)
            .withLastTransitionTime(ts)
            .endCondition()
            .build();
    client
        .nodes()
        .withName(name)
        .subresource("status")
        .patch(
            io.fabric8.kubernetes.client.dsl.base.PatchContext.of(
                io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
            "{\"status\":" + io.fabric8.kubernetes.client.utils.Serialization.asJson(status) + "}");
    Lease lease =
        new LeaseBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace("kube-node-lease")
            .endMetadata()
            .withNewSpec()
            .withHolderIdentity(name)
            .withLeaseDurationSeconds(40)
            .withRenewTime(ZonedDateTime.ofInstant(now, ZoneOffset.UTC))
            .endSpec()
            .build();
    client.leases().inNamespace("kube-node-lease").resource(lease).create();
    return now;
  }

  private String readyStatus(String name) {
    Node node = client.nodes().withName(name).get();
    if (node.getStatus() == null || node.getStatus().getConditions() == null) {
      return null;
    }
    return node.getStatus().getConditions().stream()
        .filter(c -> "Ready".equals(c.getType()))
        .map(NodeCondition::getStatus)
        .findFirst()
        .orElse(null);
  }

  private List<String> taintKeys(String name) {
    Node node = client.nodes().withName(name).get();
    if (node.getSpec() == null || node.getSpec().getTaints() == null) {
      return List.of();
    }
    return node.getSpec().getTaints().stream().map(Taint::getKey).toList();
  }
}
