package io.hpcbridge.bridge;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.plan.NodeFacts;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.plan.PlanException;
import io.hpcbridge.bridge.policy.PolicyChecker;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "render",
    mixinStandardHelpOptions = true,
    description = {
      "Dry run: print what the backend would be given for a Pod or Job manifest",
      "(the exact sbatch script for slurm; the resolved plan otherwise). Nothing is submitted."
    })
final class RenderCommand implements Callable<Integer> {
  @Mixin ConfigOption config;

  @Parameters(paramLabel = "FILE", description = "Pod or Job manifest")
  Path file;

  @Option(
      names = "--plan",
      description = "Print the resolved plan (JSON, secrets redacted) instead.")
  boolean plan;

  @Override
  public Integer call() throws Exception {
    BridgeConfig cfg = config.load();
    Manifests manifests = Manifests.read(file);
    HasMetadata w = manifests.workload();
    Pod pod =
        w instanceof Job job
            ? new PodBuilder()
                .withMetadata(job.getSpec().getTemplate().getMetadata())
                .withSpec(job.getSpec().getTemplate().getSpec())
                .editOrNewMetadata()
                .withName(job.getMetadata().getName())
                .endMetadata()
                .build()
            : (Pod) w;
    var md = pod.getMetadata();
    if (md.getNamespace() == null) {
      md.setNamespace(
          w.getMetadata().getNamespace() == null ? "default" : w.getMetadata().getNamespace());
    }
    if (md.getUid() == null) {
      md.setUid("00000000-0000-0000-0000-000000000000");
    }
    pod.getSpec().setNodeName(cfg.nodeName());
    try (Backend backend = Backends.create(cfg)) {
      PodPlan p;
      try {
        p =
            new PlanBuilder(
                    manifests,
                    Map.of(),
                    new NodeFacts(cfg.nodeName(), "127.0.0.1", 0, 0),
                    new PolicyChecker(cfg.policy(), backend::choices))
                .build(pod)
                .plan();
      } catch (PlanException e) {
        System.err.println("error: " + e.reason() + ": " + e.getMessage());
        return 1;
      }
      String text = plan ? null : backend.render(p);
      System.out.println(
          text != null
              ? text
              : Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(p.redacted()));
      return 0;
    }
  }
}
