package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.github.dockerjava.api.command.InspectContainerResponse;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodRef;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the integration tests on the two real engines share: a backend of a node of its own per test
 * (both hosts, spread), swept from the engines afterwards, and small helpers.
 */
abstract class EngineTest {
  @TempDir Path data;
  String node;
  DockerSettings settings;
  DockerBackend backend;
  final List<DockerBackend> others = new ArrayList<>();

  @BeforeEach
  void setUp() {
    node = DockerEngines.uniqueNode();
    settings = DockerSettings.parse(DockerEngines.settings("spread", Map.of()));
    backend = new DockerBackend(node, data, settings);
  }

  @AfterEach
  void tearDown() {
    if (backend == null) {
      return; // engines missing: skipped
    }
    backend.close();
    others.forEach(DockerBackend::close);
    DockerEngines.sweep(settings, node);
  }

  Observed observe(DockerBackend b, Handle h) throws Exception {
    return b.observe(List.of(h)).get(h);
  }

  Observed awaitPhase(DockerBackend b, Handle h, Set<Phase> phases, Duration max) {
    Observed[] last = new Observed[1];
    await()
        .atMost(max)
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              last[0] = observe(b, h);
              assertThat(last[0].phase()).as("%s", last[0]).isIn(phases);
            });
    return last[0];
  }

  Observed awaitPhase(Handle h, Phase... phases) {
    return awaitPhase(backend, h, Set.of(phases), Duration.ofSeconds(60));
  }

  static String read(InputStream in) throws Exception {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** A client of the host the pod was placed on (close it). */
  DockerHost host(Handle h) {
    return new DockerHost(settings.hosts().get(DockerEngines.hostOf(h).equals("h1") ? 0 : 1));
  }

  /** What the engine says of one container of a pod. */
  InspectContainerResponse inspect(Handle h, PodRef pod, String container) {
    try (DockerHost host = host(h)) {
      String id =
          DockerEngines.containers(host, node).stream()
              .filter(x -> pod.uid().equals(x.getLabels().get(Names.LABEL_POD_UID)))
              .filter(x -> container.equals(x.getLabels().get(Names.LABEL_CONTAINER_NAME)))
              .findFirst()
              .orElseThrow()
              .getId();
      return host.client.inspectContainerCmd(id).exec();
    }
  }
}
