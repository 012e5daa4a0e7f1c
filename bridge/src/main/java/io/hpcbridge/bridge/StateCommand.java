package io.hpcbridge.bridge;

import io.hpcbridge.backend.Handle;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.state.StateStore;
import io.hpcbridge.state.TrackedPod;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "state",
    mixinStandardHelpOptions = true,
    description = "Inspect the state file (pod to job mapping).",
    subcommands = {StateCommand.ListCmd.class, StateCommand.ShowCmd.class})
final class StateCommand {

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "All pods the state file knows.")
  static final class ListCmd implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Option(
        names = {"-o", "--output"},
        description = "table (default) or json")
    String output = "table";

    @Option(
        names = {"-a", "--all"},
        description = "Include pods already gone from Kubernetes.")
    boolean all;

    @Override
    public Integer call() throws Exception {
      BridgeConfig cfg = config.load();
      try (StateStore state = StateStore.openReadOnly(cfg.stateFile())) {
        List<TrackedPod> rows = state.list().stream().filter(r -> all || !r.isGone()).toList();
        if ("json".equals(output)) {
          System.out.println(
              Json.MAPPER
                  .writerWithDefaultPrettyPrinter()
                  .writeValueAsString(rows.stream().map(StateCommand::summary).toList()));
          return 0;
        }
        String fmt = "%-40s %-10s %-8s %-50s %s%n";
        System.out.printf(fmt, "NAMESPACE/NAME", "PHASE", "BACKEND", "HANDLE", "CREATED");
        for (TrackedPod r : rows) {
          System.out.printf(
              fmt,
              r.key(),
              r.phase().toKubernetes(),
              r.backend(),
              r.handle().map(Handle::toString).orElse("-"),
              r.created());
        }
        return 0;
      }
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "One pod: its row and transition log.")
  static final class ShowCmd implements Callable<Integer> {
    @Mixin ConfigOption config;

    @Parameters(paramLabel = "NS/NAME", description = "namespace/name (or a pod UID)")
    String target;

    @Option(
        names = {"-o", "--output"},
        description = "table (default) or json")
    String output = "table";

    @Override
    public Integer call() throws Exception {
      BridgeConfig cfg = config.load();
      try (StateStore state = StateStore.openReadOnly(cfg.stateFile())) {
        var rec =
            target.contains("/")
                ? state.findByName(
                    target.substring(0, target.indexOf('/')),
                    target.substring(target.indexOf('/') + 1))
                : state.get(target);
        if (rec.isEmpty()) {
          System.err.println("error: no pod " + target + " in " + cfg.stateFile());
          return 1;
        }
        TrackedPod r = rec.get();
        var transitions = state.transitions(r.uid());
        if ("json".equals(output)) {
          Map<String, Object> m = summary(r);
          m.put("plan", r.planJson() == null ? null : Json.MAPPER.readTree(r.planJson()));
          m.put("observed", r.observed().orElse(null));
          m.put("transitions", transitions);
          System.out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(m));
          return 0;
        }
        summary(r).forEach((k, v) -> System.out.printf("%-10s %s%n", k + ":", v == null ? "" : v));
        System.out.println("transitions:");
        for (var t : transitions) {
          System.out.printf(
              "  %s  %-10s -> %-10s %s%n",
              t.at(),
              t.from() == null ? "-" : t.from().toKubernetes(),
              t.to().toKubernetes(),
              nz(t.detail()));
        }
        return 0;
      }
    }
  }

  static Map<String, Object> summary(TrackedPod r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("uid", r.uid());
    m.put("pod", r.key());
    m.put("node", r.node());
    m.put("backend", r.backend());
    m.put("handle", r.handle().map(Handle::toString).orElse(null));
    m.put("phase", r.phase().toKubernetes());
    m.put("reason", r.reason());
    m.put("message", r.message());
    m.put("created", str(r.created()));
    m.put("submitted", str(r.submitted()));
    m.put("finished", str(r.finished()));
    m.put("deleting", str(r.deleting()));
    m.put("gone", str(r.gone()));
    return m;
  }

  private static String str(Instant t) {
    return t == null ? null : t.toString();
  }

  private static String nz(String s) {
    return s == null ? "-" : s;
  }
}
