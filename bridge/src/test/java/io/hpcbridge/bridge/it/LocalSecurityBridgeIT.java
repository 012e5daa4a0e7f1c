package io.hpcbridge.bridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tenant safety through a real control plane, on the local backend, tried as a pod author would:
 * what the default policy refuses fails with PolicyViolation and a Warning event, what it lets
 * through runs as an unprivileged user, and a namespace the operator opened a door for gets it.
 */
class LocalSecurityBridgeIT {
  static final String NODE = "it-security-local";
  static final String OPEN = "it-sec-open-" + UUID.randomUUID().toString().substring(0, 5);
  static KubeControlPlane kube;
  static KubernetesClient client;
  static BridgeProcess bridge;
  static String ns;
  @TempDir static Path tmp;

  @BeforeAll
  static void up() throws Exception {
    kube = KubeControlPlane.get();
    client = kube.client();
    ns = namespace("it-sec");
    namespace(OPEN);
    bridge =
        new BridgeProcess(
                NODE,
                tmp.resolve("bridge"),
                kube.kubeconfig(),
                kube.caCert(),
                "policy:\n  namespaces:\n    " + OPEN + ":\n      runAsRoot: true\n")
            .start();
    await("node " + NODE + " Ready")
        .atMost(Duration.ofSeconds(90))
        .until(() -> Nodes.ready(client, NODE));
  }

  @AfterAll
  static void down() throws Exception {
    if (bridge != null) {
      bridge.stop();
      System.out.println("---- bridge log (tail) ----\n" + bridge.tail());
    }
  }

  static String namespace(String name) {
    String n =
        name.startsWith(OPEN) ? name : name + "-" + UUID.randomUUID().toString().substring(0, 5);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(n).endMetadata().build())
        .createOr(x -> x.update());
    return n;
  }

  static Pod run(String namespace, String name, PodBuilder b) {
    client.pods().inNamespace(namespace).resource(b.build()).create();
    await(name + " ended")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              Pod p = client.pods().inNamespace(namespace).withName(name).get();
              String phase = p.getStatus() == null ? null : p.getStatus().getPhase();
              return "Succeeded".equals(phase) || "Failed".equals(phase);
            });
    return client.pods().inNamespace(namespace).withName(name).get();
  }

  static PodBuilder pod(String namespace, String name, String script) {
    return ItPods.onNode(NODE, namespace, name, "debian:bookworm", script);
  }

  static String logs(String namespace, String name) {
    return kube.kubectl(30, "logs", "-n", namespace, name).stdout();
  }

  static boolean warned(String namespace, String name, String reason) {
    return client.v1().events().inNamespace(namespace).list().getItems().stream()
        .filter(e -> e.getInvolvedObject().getName().equals(name))
        .filter(e -> "Warning".equals(e.getType()))
        .map(Event::getReason)
        .anyMatch(reason::equals);
  }

  @Test
  void aPlainPodRunsUnprivilegedAndCannotReadTheHostsSecrets() {
    Pod p = run(ns, "shadow", pod(ns, "shadow", "id -u; cat /etc/shadow"));
    assertThat(p.getStatus().getPhase()).isEqualTo("Failed");
    String out = logs(ns, "shadow");
    assertThat(out).startsWith("65534\n").contains("Permission denied").doesNotContain("root:");
  }

  @Test
  void theEnginesSocketAndTheHostsRootAreRefusedBeforeAnythingRuns() {
    PodBuilder b =
        pod(ns, "escape", "ls /host")
            .editSpec()
            .addNewVolume()
            .withName("host")
            .withNewHostPath()
            .withPath("/")
            .endHostPath()
            .endVolume()
            .editFirstContainer()
            .addNewVolumeMount()
            .withName("host")
            .withMountPath("/host")
            .endVolumeMount()
            .endContainer()
            .endSpec();
    Pod p = run(ns, "escape", b);
    assertThat(p.getStatus().getReason()).isEqualTo("PolicyViolation");
    assertThat(p.getStatus().getMessage()).contains("hostPath /", "policy.hostPathPrefixes");
    await().atMost(Duration.ofSeconds(30)).until(() -> warned(ns, "escape", "PolicyViolation"));
  }

  @Test
  void rootIsRefusedByDefaultAndRunsWhereTheOperatorAllowedIt() {
    PodBuilder root =
        pod(ns, "root", "id -u")
            .editSpec()
            .editFirstContainer()
            .withNewSecurityContext()
            .withRunAsUser(0L)
            .endSecurityContext()
            .endContainer()
            .endSpec();
    Pod refused = run(ns, "root", root);
    assertThat(refused.getStatus().getReason()).isEqualTo("PolicyViolation");
    assertThat(refused.getStatus().getMessage()).contains("runAsUser: 0", "policy.runAsRoot");

    PodBuilder allowed =
        pod(OPEN, "root", "id -u")
            .editSpec()
            .editFirstContainer()
            .withNewSecurityContext()
            .withRunAsUser(0L)
            .endSecurityContext()
            .endContainer()
            .endSpec();
    Pod ran = run(OPEN, "root", allowed);
    assertThat(ran.getStatus().getPhase()).isEqualTo("Succeeded");
    assertThat(logs(OPEN, "root")).isEqualTo("0\n");
  }

  @Test
  void privilegedAndUnknownSecurityFieldsAreRefused() {
    Pod privileged =
        run(
            ns,
            "privileged",
            pod(ns, "privileged", "true")
                .editSpec()
                .editFirstContainer()
                .withNewSecurityContext()
                .withPrivileged(true)
                .endSecurityContext()
                .endContainer()
                .endSpec());
    assertThat(privileged.getStatus().getReason()).isEqualTo("PolicyViolation");
    Pod selinux =
        run(
            ns,
            "selinux",
            pod(ns, "selinux", "true")
                .editSpec()
                .editFirstContainer()
                .withNewSecurityContext()
                .withNewSeLinuxOptions()
                .withLevel("s0:c1")
                .endSeLinuxOptions()
                .endSecurityContext()
                .endContainer()
                .endSpec());
    assertThat(selinux.getStatus().getReason()).isEqualTo("UnsupportedSecurityContext");
    assertThat(selinux.getStatus().getMessage()).contains("seLinuxOptions");
  }
}
