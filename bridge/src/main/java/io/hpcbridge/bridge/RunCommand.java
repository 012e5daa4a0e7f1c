package io.hpcbridge.bridge;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.plan.NodeFacts;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.policy.PolicyChecker;
import io.hpcbridge.bridge.run.Runner;
import io.hpcbridge.state.StateStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Run a Pod or Job manifest on the configured backend, without a cluster.",
      "ConfigMaps and Secrets in the same file are used for env and volumes.",
      "Prints status transitions to stderr and the logs to stdout; exits with the pod's exit code."
    })
final class RunCommand implements Callable<Integer> {
  @Mixin ConfigOption config;

  @Parameters(
      paramLabel = "FILE",
      description = "Pod or Job manifest (YAML, may hold several documents)")
  Path file;

  @Override
  public Integer call() throws Exception {
    BridgeConfig cfg = config.load();
    Manifests manifests = Manifests.read(file);
    var workload = manifests.workload();
    try (Backend backend = Backends.create(cfg);
        StateStore state = StateStore.open(cfg.stateFile())) {
      var cap = backend.capacity();
      String ip = cfg.nodeAddress();
      PlanBuilder plans =
          new PlanBuilder(
              manifests,
              Map.of(),
              new NodeFacts(cfg.nodeName(), ip, cap.cpuMillis(), cap.memoryBytes()),
              new PolicyChecker(cfg.policy(), backend::choices));
      Duration poll =
          cfg.pods().pollInterval().compareTo(Duration.ofMillis(500)) > 0
              ? Duration.ofMillis(500)
              : cfg.pods().pollInterval();
      return new Runner(backend, state, plans, cfg.nodeName(), System.out, System.err, poll)
          .run(workload);
    }
  }
}
