package io.hpcbridge.bridge.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bridge against a real API server, scheduler and controller-manager, running pods on the local
 * backend: Jobs, kubectl logs, env and volumes, graceful deletion, invalid pods, and the kubelet
 * API's client authentication.
 */
class BridgeIT {
  static final String NODE = "it-bridge";
  static KubeControlPlane kube;
  static KubernetesClient client;
  static BridgeProcess bridge;
  @TempDir static Path tmp;

  @BeforeAll
  static void up() throws Exception {
    kube = KubeControlPlane.get();
    client = kube.client();
    bridge =
        new BridgeProcess(
                NODE,
                tmp.resolve("bridge"),
                kube.kubeconfig(),
                kube.caCert(),
                // the SIGTERM test's pod leaves a marker in a hostPath under tmp
                "policy:\n  hostPathPrefixes: [" + tmp.toAbsolutePath() + "]\n")
            .start();
    await("node " + NODE + " Ready")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                Nodes.ready(client, NODE)
                    && !Nodes.hasTaint(client, NODE, "node.kubernetes.io/not-ready"));
  }

  @AfterAll
  static void down() throws Exception {
    if (bridge != null) {
      bridge.stop();
      System.out.println("---- bridge log (tail) ----\n" + bridge.tail());
    }
  }

  /** A fresh namespace per run, so runs against a reused control plane do not collide. */
  static String namespace(String prefix) {
    String name = prefix + "-" + java.util.UUID.randomUUID().toString().substring(0, 5);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(name).endMetadata().build())
        .createOr(n -> n.update());
    return name;
  }

  static PodBuilder pod(String ns, String name, String script) {
    return ItPods.onNode(NODE, ns, name, "debian:bookworm", script);
  }

  static Pod get(String ns, String name) {
    return client.pods().inNamespace(ns).withName(name).get();
  }

  static String phase(String ns, String name) {
    Pod p = get(ns, name);
    return p == null || p.getStatus() == null ? null : p.getStatus().getPhase();
  }

  @Test
  void jobCompletesAndKubectlLogsWork() throws Exception {
    String ns = namespace("it-job");
    Job job =
        new JobBuilder()
            .withNewMetadata()
            .withName("count")
            .withNamespace(ns)
            .endMetadata()
            .withNewSpec()
            .withBackoffLimit(0)
            .withTemplate(
                new io.fabric8.kubernetes.api.model.PodTemplateSpecBuilder()
                    .withSpec(
                        pod(ns, null, "for i in 1 2 3 4 5; do echo line $i; sleep 1; done")
                            .build()
                            .getSpec())
                    .build())
            .endSpec()
            .build();
    client.batch().v1().jobs().inNamespace(ns).resource(job).create();

    String podName = ItPods.runningPodOfJob(client, ns, "count", Duration.ofSeconds(60));

    // -f follows the running container through the API server and our kubelet API, and ends
    // when the container ends.
    var follow = kube.kubectl(60, "logs", "-f", "-n", ns, podName);
    assertThat(follow.exitCode()).as(follow.toString()).isZero();
    assertThat(follow.stdout()).contains("line 1", "line 5");

    var tail = kube.kubectl(30, "logs", "--tail=2", "-n", ns, podName);
    assertThat(tail.exitCode()).as(tail.toString()).isZero();
    assertThat(tail.stdout().strip()).isEqualTo("line 4\nline 5");

    var stamped = kube.kubectl(30, "logs", "--timestamps", "--tail=1", "-n", ns, podName);
    assertThat(stamped.stdout().strip())
        .matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+Z line 5");

    await("job complete")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              Job j = client.batch().v1().jobs().inNamespace(ns).withName("count").get();
              return j.getStatus() != null
                  && Integer.valueOf(1).equals(j.getStatus().getSucceeded());
            });
    Pod done = get(ns, podName);
    assertThat(done.getStatus().getPhase()).isEqualTo("Succeeded");
    assertThat(
            done.getStatus().getContainerStatuses().get(0).getState().getTerminated().getExitCode())
        .isZero();
    assertThat(done.getStatus().getConditions())
        .anySatisfy(c -> assertThat(c.getType()).isEqualTo("Initialized"));
  }

  @Test
  void configMapSecretEnvVolumesAndFieldRefsReachTheProcess() throws Exception {
    String ns = namespace("it-env");
    client
        .configMaps()
        .inNamespace(ns)
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName("cfg")
                .endMetadata()
                .addToData("color", "blue")
                .addToData("app.conf", "mode=fast\n")
                .build())
        .createOr(x -> x.update());
    client
        .secrets()
        .inNamespace(ns)
        .resource(
            new SecretBuilder()
                .withNewMetadata()
                .withName("sec")
                .endMetadata()
                .addToStringData("token", "s3cr3t")
                .build())
        .createOr(x -> x.update());
    Pod p =
        pod(
                ns,
                "env",
                "echo color=$COLOR token=$TOKEN name=$MY_NAME ip=$MY_IP node=$MY_NODE; cat"
                    + " /etc/cfg/app.conf; cat /etc/sec/token; echo; stat -c %a /etc/sec/token")
            .editSpec()
            .editFirstContainer()
            .addNewEnv()
            .withName("COLOR")
            .withNewValueFrom()
            .withNewConfigMapKeyRef("color", "cfg", false)
            .endValueFrom()
            .endEnv()
            .addNewEnv()
            .withName("TOKEN")
            .withNewValueFrom()
            .withNewSecretKeyRef("token", "sec", false)
            .endValueFrom()
            .endEnv()
            .addNewEnv()
            .withName("MY_NAME")
            .withNewValueFrom()
            .withNewFieldRef()
            .withFieldPath("metadata.name")
            .endFieldRef()
            .endValueFrom()
            .endEnv()
            .addNewEnv()
            .withName("MY_IP")
            .withNewValueFrom()
            .withNewFieldRef()
            .withFieldPath("status.podIP")
            .endFieldRef()
            .endValueFrom()
            .endEnv()
            .addNewEnv()
            .withName("MY_NODE")
            .withNewValueFrom()
            .withNewFieldRef()
            .withFieldPath("spec.nodeName")
            .endFieldRef()
            .endValueFrom()
            .endEnv()
            .addNewVolumeMount()
            .withName("cfg")
            .withMountPath("/etc/cfg")
            .endVolumeMount()
            .addNewVolumeMount()
            .withName("sec")
            .withMountPath("/etc/sec")
            .endVolumeMount()
            .endContainer()
            .addNewVolume()
            .withName("cfg")
            .withNewConfigMap()
            .withName("cfg")
            .endConfigMap()
            .endVolume()
            .addNewVolume()
            .withName("sec")
            .withNewSecret()
            .withSecretName("sec")
            .endSecret()
            .endVolume()
            .endSpec()
            .build();
    client.pods().inNamespace(ns).resource(p).create();
    await("pod env Succeeded")
        .atMost(Duration.ofSeconds(60))
        .until(() -> "Succeeded".equals(phase(ns, "env")));
    var logs = kube.kubectl(30, "logs", "-n", ns, "env");
    assertThat(logs.stdout())
        .contains("color=blue token=s3cr3t name=env ip=127.0.0.1 node=" + NODE)
        .contains("mode=fast")
        .contains("s3cr3t")
        .contains("600");
    assertThat(get(ns, "env").getStatus().getPodIP()).isEqualTo("127.0.0.1");
  }

  @Test
  void deletingARunningPodSendsSigtermAndRemovesItWhenItExits() throws Exception {
    String ns = namespace("it-delete");
    Path marker = ItPods.sharedDir(tmp.resolve("marker"));
    Pod p =
        pod(
                ns,
                "graceful",
                "trap 'echo got TERM > /marker/term; exit 0' TERM; echo ready; while true; do sleep"
                    + " 0.2; done")
            .editSpec()
            .withTerminationGracePeriodSeconds(30L)
            .editFirstContainer()
            .addNewVolumeMount()
            .withName("marker")
            .withMountPath("/marker")
            .endVolumeMount()
            .endContainer()
            .addNewVolume()
            .withName("marker")
            .withNewHostPath()
            .withPath(marker.toString())
            .endHostPath()
            .endVolume()
            .endSpec()
            .build();
    client.pods().inNamespace(ns).resource(p).create();
    await("pod running")
        .atMost(Duration.ofSeconds(60))
        .until(() -> "Running".equals(phase(ns, "graceful")));
    await("ready printed")
        .atMost(Duration.ofSeconds(30))
        .until(() -> kube.kubectl(20, "logs", "-n", ns, "graceful").stdout().contains("ready"));

    long t0 = System.nanoTime();
    client.pods().inNamespace(ns).withName("graceful").delete();
    await("pod gone").atMost(Duration.ofSeconds(60)).until(() -> get(ns, "graceful") == null);
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
    assertThat(Files.readString(marker.resolve("term"))).contains("got TERM");
    // It exited on TERM, so the bridge must not have waited out the 30 s grace period.
    assertThat(seconds).isLessThan(25);
  }

  @Test
  void anInvalidPodFailsWithAReasonAndAWarningAndOthersStillRun() {
    String ns = namespace("it-invalid");
    Pod bad =
        pod(ns, "bad", "echo never")
            .editSpec()
            .addNewVolume()
            .withName("data")
            .withNewNfs()
            .withServer("127.0.0.1")
            .withPath("/exports")
            .endNfs()
            .endVolume()
            .endSpec()
            .build();
    client.pods().inNamespace(ns).resource(bad).create();
    client.pods().inNamespace(ns).resource(pod(ns, "good", "echo fine").build()).create();

    await("bad pod Failed")
        .atMost(Duration.ofSeconds(60))
        .until(() -> "Failed".equals(phase(ns, "bad")));
    Pod failed = get(ns, "bad");
    assertThat(failed.getStatus().getReason()).isEqualTo("UnsupportedVolume");
    assertThat(failed.getStatus().getMessage()).contains("nfs");
    await("warning event")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () -> {
              List<Event> events = client.v1().events().inNamespace(ns).list().getItems();
              assertThat(events)
                  .anySatisfy(
                      e -> {
                        assertThat(e.getInvolvedObject().getName()).isEqualTo("bad");
                        assertThat(e.getType()).isEqualTo("Warning");
                        assertThat(e.getReason()).isEqualTo("UnsupportedVolume");
                      });
            });
    await("good pod Succeeded")
        .atMost(Duration.ofSeconds(60))
        .until(() -> "Succeeded".equals(phase(ns, "good")));
  }

  @Test
  void kubeletApiRejectsRequestsWithoutAValidClientCertificate() throws Exception {
    String url = "https://127.0.0.1:" + bridge.kubeletPort() + "/pods";
    var anonymous =
        Shell.run(30, "curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}", url);
    assertThat(anonymous.output()).doesNotContain("200");
    var other =
        Shell.run(
            30,
            "curl",
            "-sS",
            "-k",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cert",
            kube.foreignClientCert().toString(),
            "--key",
            kube.foreignClientKey().toString(),
            url);
    assertThat(other.output()).doesNotContain("200");
    var authorized =
        Shell.run(
            30,
            "curl",
            "-sS",
            "-k",
            "--cert",
            kube.kubeletClientCert().toString(),
            "--key",
            kube.kubeletClientKey().toString(),
            url);
    assertThat(authorized.exit()).as(authorized.output()).isZero();
    assertThat(authorized.output()).contains("\"kind\":\"PodList\"");
  }

  /** Like the kubelet in webhook mode: the API server decides who may read what. */
  @Test
  void kubeletApiAsksTheApiServerWhoMayDoWhat() throws Exception {
    String url = "https://127.0.0.1:" + bridge.kubeletPort() + "/pods";
    // A certificate of the cluster CA for a user RBAC grants nothing: authenticated, forbidden.
    Path intruder = kube.clusterClientCert("/CN=intruder/O=students");
    var forbidden =
        Shell.run(
            30,
            "curl",
            "-sS",
            "-k",
            "-w",
            "\n%{http_code}",
            "--cert",
            intruder.toString(),
            "--key",
            intruder.resolveSibling("client.key").toString(),
            url);
    assertThat(forbidden.output()).endsWith("403").contains("user \"intruder\" cannot get");

    // A service account's bearer token: checked with a TokenReview, then RBAC decides.
    String ns = "it-kubelet-auth-" + UUID.randomUUID().toString().substring(0, 5);
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
        .create();
    client
        .serviceAccounts()
        .inNamespace(ns)
        .resource(
            new io.fabric8.kubernetes.api.model.ServiceAccountBuilder()
                .withNewMetadata()
                .withName("reader")
                .endMetadata()
                .build())
        .create();
    String token =
        client
            .serviceAccounts()
            .inNamespace(ns)
            .withName("reader")
            .tokenRequest(
                new io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder()
                    .withNewSpec()
                    .withExpirationSeconds(600L)
                    .endSpec()
                    .build())
            .getStatus()
            .getToken();
    var denied =
        Shell.run(
            30,
            "curl",
            "-sS",
            "-k",
            "-w",
            "\n%{http_code}",
            "-H",
            "Authorization: Bearer " + token,
            url);
    assertThat(denied.output()).endsWith("403").contains("system:serviceaccount:" + ns + ":reader");
    var bogus =
        Shell.run(
            30,
            "curl",
            "-sS",
            "-k",
            "-w",
            "\n%{http_code}",
            "-H",
            "Authorization: Bearer not-a-token",
            url);
    assertThat(bogus.output()).endsWith("401");
    client
        .rbac()
        .clusterRoles()
        .resource(
            new io.fabric8.kubernetes.api.model.rbac.ClusterRoleBuilder()
                .withNewMetadata()
                .withName(ns)
                .endMetadata()
                .addNewRule()
                .withApiGroups("")
                .withResources("nodes/proxy")
                .withVerbs("get")
                .endRule()
                .build())
        .create();
    client
        .rbac()
        .clusterRoleBindings()
        .resource(
            new io.fabric8.kubernetes.api.model.rbac.ClusterRoleBindingBuilder()
                .withNewMetadata()
                .withName(ns)
                .endMetadata()
                .withNewRoleRef("rbac.authorization.k8s.io", "ClusterRole", ns)
                .addNewSubject()
                .withKind("ServiceAccount")
                .withName("reader")
                .withNamespace(ns)
                .endSubject()
                .build())
        .create();
    try {
      // Denials are cached for 30 s, like the kubelet's.
      await("the token's user is allowed once RBAC says so")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofSeconds(2))
          .until(
              () ->
                  Shell.run(30, "curl", "-sS", "-k", "-H", "Authorization: Bearer " + token, url)
                      .output()
                      .contains("\"kind\":\"PodList\""));
    } finally {
      client.rbac().clusterRoleBindings().withName(ns).delete();
      client.rbac().clusterRoles().withName(ns).delete();
      client.namespaces().withName(ns).delete();
    }
  }
}
