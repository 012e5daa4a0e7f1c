package io.hpcbridge.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.hpcbridge.bridge.Manifests;
import io.hpcbridge.bridge.config.ConfigLoader;
import io.hpcbridge.bridge.plan.NodeFacts;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.policy.Policy;
import io.hpcbridge.bridge.policy.PolicyChecker;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every example manifest parses and plans; every example config loads. */
class ExamplesTest {

  static Stream<Path> manifests() throws IOException {
    return files()
        .filter(p -> !p.startsWith(Path.of("config")) && !p.startsWith(Path.of("deploy")));
  }

  static Stream<Path> configs() throws IOException {
    return files().filter(p -> p.startsWith(Path.of("config")));
  }

  private static Stream<Path> files() throws IOException {
    List<Path> all;
    try (Stream<Path> s = Files.walk(Path.of("."))) {
      all =
          s.filter(p -> p.toString().endsWith(".yaml"))
              .filter(p -> !p.toString().contains("target"))
              .map(p -> Path.of(".").relativize(p))
              .sorted()
              .toList();
    }
    assertThat(all).isNotEmpty();
    return all.stream();
  }

  @ParameterizedTest
  @MethodSource("manifests")
  void manifestPlans(Path file) throws Exception {
    Manifests m = Manifests.read(file);
    var w = m.workload();
    Pod pod =
        w instanceof Job job
            ? new PodBuilder()
                .withSpec(job.getSpec().getTemplate().getSpec())
                .withNewMetadata()
                .withName("x")
                .withNamespace("default")
                .withUid("u")
                .endMetadata()
                .build()
            : (Pod) w;
    if (pod.getMetadata().getUid() == null) {
      pod.getMetadata().setUid("u");
      pod.getMetadata().setNamespace("default");
    }
    var plan =
        new PlanBuilder(
                m,
                Map.of(),
                new NodeFacts("n", "127.0.0.1", 1000, 1 << 30),
                // the examples need no door opened: they run under the default policy
                new PolicyChecker(Policy.CLOSED, p -> Map.of()))
            .build(pod)
            .plan();
    assertThat(plan.containers()).isNotEmpty();
  }

  @ParameterizedTest
  @MethodSource("configs")
  void configLoads(Path file) {
    var cfg = ConfigLoader.load(file, Map.of());
    assertThat(cfg.nodeName()).isNotBlank();
  }
}
