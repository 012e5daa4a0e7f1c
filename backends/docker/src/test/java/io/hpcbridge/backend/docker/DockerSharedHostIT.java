package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One Docker host shared by several namespaces, on the real second engine: what one tenant's log
 * streams and image pulls take from the host's connections cannot stall the others' stops, starts,
 * logs and pulls.
 */
class DockerSharedHostIT extends EngineTest {

  static final LogOptions FOLLOW = new LogOptions(true, 1, false, null, null, null, false);

  /** A backend on the second engine alone, with these host and backend settings. */
  DockerBackend engine2(Map<String, Object> host, Map<String, Object> backendSettings) {
    Map<String, Object> h = new LinkedHashMap<>(host);
    h.put("name", "h2");
    h.put("uri", DockerEngines.require().get("DOCKER2_HOST_IT"));
    Map<String, Object> s = new LinkedHashMap<>(backendSettings);
    s.put("hosts", List.of(h));
    DockerBackend b = new DockerBackend(node, data.resolve("engine2"), DockerSettings.parse(s));
    others.add(b);
    return b;
  }

  static PodPlan chatty(String ns, String name) {
    return Plans.inNamespace(
        ns,
        Plans.pod(
            name,
            List.of(),
            List.of(Plans.sh("c", "i=0; while :; do i=$((i+1)); echo line$i; sleep 0.2; done"))));
  }

  /** Opens a follow and waits for its first byte. */
  static InputStream follow(DockerBackend b, Handle h) throws Exception {
    InputStream in = b.logs(h, "c", FOLLOW);
    assertThat(in.read()).isNotNegative();
    return in;
  }

  @Test
  void logFollowsOfOneNamespaceDoNotHoldUpAnotherNamespacesStop() throws Exception {
    // every connection to the host but the one its event stream holds: stops used to wait for one
    DockerBackend b = engine2(Map.of("maxConnections", 4), Map.of());
    Handle noisy = b.submit(chatty("noisy", "noisy"));
    Handle quiet =
        b.submit(
            Plans.inNamespace(
                "quiet",
                Plans.pod(
                    "quiet",
                    List.of(),
                    List.of(Plans.sh("c", "trap 'exit 0' TERM; while :; do sleep 1; done")))));
    awaitPhase(b, noisy, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
    awaitPhase(b, quiet, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
    List<InputStream> follows = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        follows.add(follow(b, noisy));
      }
      b.cancel(quiet, Duration.ofSeconds(30));
      // the container ends on SIGTERM within a second: the stop must reach it at once
      awaitPhase(b, quiet, Set.of(Phase.SUCCEEDED), Duration.ofSeconds(15));
      // and a new pod of another namespace starts and ends as usual
      Handle other =
          b.submit(
              Plans.inNamespace(
                  "other", Plans.pod("other", List.of(), List.of(Plans.sh("c", "echo done")))));
      awaitPhase(b, other, Set.of(Phase.SUCCEEDED), Duration.ofSeconds(30));
      assertThat(read(b.logs(other, "c", LogOptions.ALL))).isEqualTo("done\n");
    } finally {
      for (InputStream in : follows) {
        in.close();
      }
    }
  }

  @Test
  void logStreamsHaveCapsPerPodAndNamespaceAndAFullHostFailsFast() throws Exception {
    DockerBackend b =
        engine2(
            Map.of("maxStreams", 4, "connectionRequestTimeout", "1s"),
            Map.of("maxLogStreamsPerPod", 2, "maxLogStreamsPerNamespace", 3));
    Handle a1 = b.submit(chatty("a", "a1"));
    Handle a2 = b.submit(chatty("a", "a2"));
    Handle b1 = b.submit(chatty("b", "b1"));
    Handle c1 = b.submit(chatty("c", "c1"));
    for (Handle h : List.of(a1, a2, b1, c1)) {
      awaitPhase(b, h, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
    }
    List<InputStream> open = new ArrayList<>();
    try {
      open.add(follow(b, a1));
      open.add(follow(b, a1));
      assertThatThrownBy(() -> b.logs(a1, "c", FOLLOW))
          .isInstanceOf(BackendException.Transient.class)
          .hasMessageContaining("pod a1 already has 2 log streams open")
          .hasMessageContaining("maxLogStreamsPerPod");
      open.add(follow(b, a2));
      assertThatThrownBy(() -> b.logs(a2, "c", FOLLOW))
          .isInstanceOf(BackendException.Transient.class)
          .hasMessageContaining("namespace a already has 3 log streams open")
          .hasMessageContaining("maxLogStreamsPerNamespace");
      // a plain read holds a stream while it is open, too
      assertThatThrownBy(() -> b.logs(a2, "c", LogOptions.ALL))
          .hasMessageContaining("maxLogStreamsPerNamespace");
      // another namespace has its own share: now all 4 of the host's stream connections are taken
      open.add(follow(b, b1));
      long t0 = System.nanoTime();
      InputStream late = b.logs(c1, "c", FOLLOW);
      assertThatThrownBy(late::read)
          .isInstanceOf(IOException.class)
          .hasMessageContaining("all 4 log stream and image pull connections to docker host h2")
          .hasMessageContaining("maxStreams");
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
      late.close();
      // control calls do not wait for the streams: c1 stops at once
      b.cancel(c1, Duration.ZERO);
      awaitPhase(b, c1, Set.of(Phase.FAILED, Phase.SUCCEEDED), Duration.ofSeconds(15));
      // a stream given back is a stream to open again
      open.remove(0).close();
      open.add(follow(b, a1));
    } finally {
      for (InputStream in : open) {
        in.close();
      }
    }
  }

  @Test
  void pullsOfOneNamespaceWaitForEachOtherNotForOtherNamespaces() throws Exception {
    Path engine2 =
        Path.of(DockerEngines.require().get("DOCKER2_HOST_IT").replaceFirst("^unix://", ""));
    try (SlowEngine proxy = new SlowEngine(engine2)) {
      Map<String, Object> host = new LinkedHashMap<>();
      host.put("name", "slow");
      host.put("uri", "unix://" + proxy.socket);
      DockerSettings s =
          DockerSettings.parse(Map.of("hosts", List.of(host), "maxPullsPerNamespace", 1));
      DockerBackend b = new DockerBackend(node, data.resolve("slow"), s);
      others.add(b);
      // every pull takes 8 s before the engine even tries (and fails: there is no registry)
      proxy.slow("/images/create", Duration.ofSeconds(8));
      Handle p1 = b.submit(missing("pull", "p1", "one"));
      Handle p2 = b.submit(missing("pull", "p2", "two"));
      Handle q = b.submit(missing("other", "q", "three"));
      await()
          .atMost(Duration.ofSeconds(20))
          .pollInterval(Duration.ofMillis(300))
          .untilAsserted(
              () -> {
                Map<Handle, Observed> seen = b.observe(List.of(p1, p2, q));
                Observed.ContainerStatus first = seen.get(p1).containers().get(0);
                Observed.ContainerStatus second = seen.get(p2).containers().get(0);
                Observed.ContainerStatus other = seen.get(q).containers().get(0);
                // one of p1 and p2 pulls, the other waits for it; q pulls meanwhile
                Observed.ContainerStatus queued =
                    first.message() != null && first.message().contains("maxPullsPerNamespace")
                        ? first
                        : second;
                assertThat(queued.reason()).isEqualTo("ContainerCreating");
                assertThat(queued.message())
                    .contains("namespace pull already pulls 1 image")
                    .contains("maxPullsPerNamespace");
                assertThat(other.message()).doesNotContain("maxPullsPerNamespace");
              });
      // each pull happens in turn, and fails as it would have alone
      for (Handle h : List.of(p1, p2, q)) {
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(500))
            .untilAsserted(
                () ->
                    assertThat(b.observe(List.of(h)).get(h).containers().get(0).reason())
                        .isIn("ErrImagePull", "ImagePullBackOff"));
      }
    }
  }

  @Test
  void busyControlConnectionsAreNoNewsNotAnUnreachableHost() throws Exception {
    Path engine2 =
        Path.of(DockerEngines.require().get("DOCKER2_HOST_IT").replaceFirst("^unix://", ""));
    try (SlowEngine proxy = new SlowEngine(engine2)) {
      Map<String, Object> host = new LinkedHashMap<>();
      host.put("name", "slow");
      host.put("uri", "unix://" + proxy.socket);
      host.put("maxConnections", 1);
      host.put("connectionRequestTimeout", "200ms");
      DockerSettings s = DockerSettings.parse(Map.of("hosts", List.of(host)));
      DockerBackend b = new DockerBackend(node, data.resolve("busy"), s);
      others.add(b);
      Handle h = b.submit(Plans.pod("busy", List.of(), List.of(Plans.sh("c", "sleep 60"))));
      awaitPhase(b, h, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
      // from now on a list takes 3 s, holding the host's one control connection
      proxy.slow("/containers/json", Duration.ofSeconds(3));
      var first = CompletableFuture.supplyAsync(() -> b.observe(List.of(h)));
      Map<Handle, Observed> second = b.observe(List.of(h));
      Map<Handle, Observed> firstSeen = first.get(30, TimeUnit.SECONDS);
      // one of them listed; the other found the connection busy: no news of the pod, no alarm
      assertThat(List.of(firstSeen, second)).filteredOn(m -> m.containsKey(h)).hasSize(1);
      assertThat(List.of(firstSeen, second))
          .flatExtracting(Map::values)
          .extracting(Observed::phase)
          .containsExactly(Phase.RUNNING);
      assertThat(b.hostHealth().get(0).reachable()).isTrue();
      proxy.slow(null, Duration.ZERO);
    }
  }

  static PodPlan missing(String ns, String name, String image) {
    return Plans.inNamespace(
        ns,
        Plans.pod(
            name,
            List.of(),
            List.of(
                Plans.container(
                    "c", "hpcbridge-it-missing/" + image + ":1", List.of("true"), List.of()))));
  }
}
