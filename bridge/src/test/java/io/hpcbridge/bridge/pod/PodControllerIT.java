package io.hpcbridge.bridge.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.ContainerStatus;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.it.KubeControlPlane;
import io.hpcbridge.bridge.plan.NodeFacts;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.policy.Policy;
import io.hpcbridge.bridge.policy.PolicyChecker;
import io.hpcbridge.state.StateStore;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pod controller (observer, reconciler, status writer, object cache) against a real API server,
 * with an in-memory backend whose observations the test sets.
 */
class PodControllerIT {
  static final String NODE = "it-pods-" + UUID.randomUUID().toString().substring(0, 5);
  static final String NS = NODE;
  static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

  static KubernetesClient client;
  static FakeBackend backend = new FakeBackend();
  static StateStore state;
  static PodController controller;
  @TempDir static Path dir;

  @BeforeAll
  static void up() {
    client = KubeControlPlane.get().client();
    // A Node object, so the pod garbage collector leaves the pods bound to it alone.
    client
        .nodes()
        .resource(new NodeBuilder().withNewMetadata().withName(NODE).endMetadata().build())
        .create();
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(NS).endMetadata().build())
        .create();
    state = StateStore.open(dir.resolve("state.db"));
    controller =
        new PodController(
            client,
            NODE,
            "10.9.9.9",
            backend,
            state,
            objects ->
                new PlanBuilder(
                    objects,
                    Map.of(),
                    new NodeFacts(NODE, "10.9.9.9", 4000, 1L << 33),
                    new PolicyChecker(Policy.CLOSED, backend::choices)),
            new BridgeConfig.Pods(Duration.ofMillis(300), 2, null, null, null, 2, null),
            0.002); // tokens of 600 s are rotated after about a second
    controller.start();
  }

  @AfterAll
  static void down() {
    if (controller != null) {
      controller.close();
    }
    if (state != null) {
      state.close();
    }
    client.namespaces().withName(NS).delete();
    client.nodes().withName(NODE).delete();
  }

  static Pod create(String name, PodBuilder b) {
    return client
        .pods()
        .inNamespace(NS)
        .resource(
            b.editOrNewMetadata()
                .withName(name)
                .withNamespace(NS)
                .endMetadata()
                .editOrNewSpec()
                .withNodeName(NODE)
                .withRestartPolicy("Never")
                .endSpec()
                .build())
        .create();
  }

  static PodBuilder oneContainer() {
    return new PodBuilder()
        .withNewSpec()
        .addNewContainer()
        .withName("main")
        .withImage("busybox")
        .withCommand("true")
        .endContainer()
        .endSpec();
  }

  static Pod get(String name) {
    return client.pods().inNamespace(NS).withName(name).get();
  }

  static List<String> events(String name, String type) {
    return client.v1().events().inNamespace(NS).list().getItems().stream()
        .filter(e -> e.getInvolvedObject().getName().equals(name) && e.getType().equals(type))
        .map(Event::getReason)
        .toList();
  }

  @Test
  void aQueuedThenStartedPodShowsRunningWithoutItsPendingReason() {
    Pod p = create("queued", oneContainer());
    String uid = p.getMetadata().getUid();
    await().atMost(Duration.ofSeconds(30)).until(() -> backend.handle(uid) != null);
    assertThat(backend.submits.stream().filter(uid::equals)).hasSize(1);
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> events("queued", "Normal").contains("Submitted"));

    backend.seen.put(
        uid,
        new Observed(
            Phase.PENDING,
            "Pending",
            "Slurm job 1 is PENDING",
            null,
            null,
            T,
            List.of(),
            List.of(ContainerStatus.waiting("main", "Resources", "queued"))));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "Pending".equals(get("queued").getStatus().getReason()));

    backend.seen.put(
        uid,
        new Observed(
            Phase.RUNNING,
            null,
            null,
            "10.1.1.1",
            "10.1.1.2",
            T,
            List.of(),
            List.of(ContainerStatus.running("main", T, 0))));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "Running".equals(get("queued").getStatus().getPhase()));
    var s = get("queued").getStatus();
    assertThat(s.getReason()).isNull();
    assertThat(s.getMessage()).isNull();
    assertThat(s.getPodIP()).isEqualTo("10.1.1.2");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> events("queued", "Normal").contains("Started"));
  }

  @Test
  void aPodThatCannotRunFailsWithAReasonAndAWarning() {
    create(
        "bad",
        oneContainer()
            .editSpec()
            .addNewVolume()
            .withName("v")
            .withNewGitRepo()
            .withRepository("https://example.invalid/x.git")
            .endGitRepo()
            .endVolume()
            .endSpec());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "Failed".equals(get("bad").getStatus().getPhase()));
    assertThat(get("bad").getStatus().getReason()).isEqualTo("UnsupportedVolume");
    assertThat(get("bad").getStatus().getMessage()).contains("gitRepo");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> events("bad", "Warning").contains("UnsupportedVolume"));
  }

  @Test
  void aPodThePolicyForbidsFailsWithPolicyViolationNamingTheRule() {
    create(
        "escape",
        oneContainer()
            .editSpec()
            .addNewVolume()
            .withName("sock")
            .withNewHostPath()
            .withPath("/var/run/docker.sock")
            .endHostPath()
            .endVolume()
            .endSpec());
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "Failed".equals(get("escape").getStatus().getPhase()));
    assertThat(get("escape").getStatus().getReason()).isEqualTo("PolicyViolation");
    assertThat(get("escape").getStatus().getMessage())
        .contains("hostPath /var/run/docker.sock", "policy.hostPathPrefixes");
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> events("escape", "Warning").contains("PolicyViolation"));
    assertThat(backend.submits).as("the backend was never called").doesNotContain(uid("escape"));
  }

  static String uid(String name) {
    return get(name).getMetadata().getUid();
  }

  @Test
  void aMissingConfigMapIsWaitedForAndItsArrivalStartsThePod() {
    Pod p =
        create(
            "needs-cm",
            oneContainer()
                .editSpec()
                .editFirstContainer()
                .addNewEnv()
                .withName("X")
                .withNewValueFrom()
                .withNewConfigMapKeyRef()
                .withName("late")
                .withKey("x")
                .endConfigMapKeyRef()
                .endValueFrom()
                .endEnv()
                .endContainer()
                .endSpec());
    String uid = p.getMetadata().getUid();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> events("needs-cm", "Warning").contains("CreateContainerConfigError"));
    assertThat(backend.handle(uid)).isNull();
    client
        .configMaps()
        .inNamespace(NS)
        .resource(
            new ConfigMapBuilder()
                .withNewMetadata()
                .withName("late")
                .endMetadata()
                .withData(Map.of("x", "1"))
                .build())
        .create();
    // Sooner than the work queue's backoff alone would retry: the ConfigMap's informer says so.
    await().atMost(Duration.ofSeconds(10)).until(() -> backend.handle(uid) != null);
    assertThat(backend.plans.get(uid).containers().get(0).env()).containsEntry("X", "1");
  }

  @Test
  void aDeletedRunningPodIsCancelledThenRemovedOnceItEnded() {
    Pod p = create("doomed", oneContainer());
    String uid = p.getMetadata().getUid();
    await().atMost(Duration.ofSeconds(30)).until(() -> backend.handle(uid) != null);
    backend.seen.put(
        uid,
        new Observed(
            Phase.RUNNING,
            null,
            null,
            null,
            null,
            T,
            List.of(),
            List.of(ContainerStatus.running("main", T, 0))));
    await()
        .atMost(Duration.ofSeconds(30))
        .until(() -> "Running".equals(get("doomed").getStatus().getPhase()));
    client.pods().inNamespace(NS).withName("doomed").withGracePeriod(30).delete();
    await().atMost(Duration.ofSeconds(30)).until(() -> backend.cancels.containsKey(uid));
    assertThat(backend.cancels.get(uid)).isBetween(Duration.ofSeconds(20), Duration.ofSeconds(30));
    assertThat(get("doomed")).as("still there while the backend runs it").isNotNull();
    backend.seen.put(
        uid,
        new Observed(
            Phase.FAILED,
            null,
            null,
            null,
            null,
            T,
            List.of(),
            List.of(ContainerStatus.terminated("main", 143, "Error", T, T))));
    await().atMost(Duration.ofSeconds(30)).until(() -> get("doomed") == null);
    await().atMost(Duration.ofSeconds(30)).until(() -> state.get(uid).orElseThrow().isGone());
  }

  @Test
  void serviceAccountTokensAreBoundToThePodAndRotated() {
    await("the namespace's default service account")
        .atMost(Duration.ofSeconds(60))
        .until(() -> client.serviceAccounts().inNamespace(NS).withName("default").get() != null);
    Pod p =
        create(
            "tokened",
            oneContainer()
                .editSpec()
                .addNewVolume()
                .withName("kube-api-access")
                .withNewProjected()
                .addNewSource()
                .withNewServiceAccountToken()
                .withPath("token")
                .withExpirationSeconds(600L)
                .endServiceAccountToken()
                .endSource()
                .endProjected()
                .endVolume()
                .endSpec());
    String uid = p.getMetadata().getUid();
    await().atMost(Duration.ofSeconds(30)).until(() -> backend.handle(uid) != null);
    String first =
        new String(
            backend.plans.get(uid).volume("kube-api-access").orElseThrow().files().get(0).content(),
            java.nio.charset.StandardCharsets.UTF_8);
    assertThat(boundTo(first)).isEqualTo("tokened");
    backend.seen.put(
        uid,
        new Observed(
            Phase.RUNNING,
            null,
            null,
            null,
            null,
            T,
            List.of(),
            List.of(ContainerStatus.running("main", T, 0))));
    await("a fresh token written into the running pod's volume")
        .atMost(Duration.ofSeconds(30))
        .until(() -> backend.tokens.containsKey(uid));
    String second = backend.tokens.get(uid);
    assertThat(second).isNotEqualTo(first);
    assertThat(boundTo(second)).isEqualTo("tokened");
  }

  /** The pod a token is bound to, as the API server's TokenReview tells. */
  static String boundTo(String token) {
    var review =
        client
            .authentication()
            .v1()
            .tokenReviews()
            .create(
                new io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder()
                    .withNewSpec()
                    .withToken(token)
                    .endSpec()
                    .build());
    assertThat(review.getStatus().getAuthenticated()).isTrue();
    assertThat(review.getStatus().getUser().getUsername())
        .isEqualTo("system:serviceaccount:" + NS + ":default");
    return review
        .getStatus()
        .getUser()
        .getExtra()
        .get("authentication.kubernetes.io/pod-name")
        .get(0);
  }

  /** Runs nothing: remembers plans, returns what the test put in {@link #seen}. */
  static final class FakeBackend implements Backend {
    final Map<String, PodPlan> plans = new ConcurrentHashMap<>();
    final List<String> submits = new CopyOnWriteArrayList<>();
    final Map<String, Observed> seen = new ConcurrentHashMap<>();
    final Map<String, Duration> cancels = new ConcurrentHashMap<>();
    final Map<String, String> tokens = new ConcurrentHashMap<>();

    @Override
    public void updateVolume(Handle handle, io.hpcbridge.backend.VolumePlan volume) {
      tokens.put(
          handle.id(),
          new String(volume.files().get(0).content(), java.nio.charset.StandardCharsets.UTF_8));
    }

    Handle handle(String uid) {
      return plans.containsKey(uid) ? new Handle("fake", uid) : null;
    }

    @Override
    public String name() {
      return "fake";
    }

    @Override
    public Handle submit(PodPlan plan) {
      submits.add(plan.pod().uid());
      plans.put(plan.pod().uid(), plan);
      return new Handle("fake", plan.pod().uid());
    }

    @Override
    public Map<Handle, Observed> observe(Collection<Handle> handles) {
      Map<Handle, Observed> out = new ConcurrentHashMap<>();
      for (Handle h : handles) {
        Observed o = seen.get(h.id());
        if (o != null) {
          out.put(h, o);
        }
      }
      return out;
    }

    @Override
    public void cancel(Handle handle, Duration grace) {
      cancels.putIfAbsent(handle.id(), grace);
    }

    @Override
    public InputStream logs(Handle handle, String container, LogOptions options) {
      return InputStream.nullInputStream();
    }

    @Override
    public Capacity capacity() {
      return new Capacity(4000, 1L << 33, 0, 10, Map.of());
    }

    @Override
    public Optional<Handle> find(PodRef pod) {
      return Optional.ofNullable(handle(pod.uid()));
    }

    @Override
    public void ping() {}
  }
}
