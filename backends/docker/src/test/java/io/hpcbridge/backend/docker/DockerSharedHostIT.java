package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
}
