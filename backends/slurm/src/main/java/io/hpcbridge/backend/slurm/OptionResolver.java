package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The one place that decides a job's effective options. Precedence of sbatch flags, lowest first:
 * the {@code partition} setting, the flavor (the pod's or the default), what the pod spec implies
 * (resources, {@code activeDeadlineSeconds}), the raw {@code flags} annotation, the typed
 * annotations; {@code --nodes=1} when none of them set a node count. The runtime: the setting, the
 * flavor's, the pod's annotation; runtime options follow the runtime, replaced by the flavor's when
 * the flavor sets them for that runtime.
 */
final class OptionResolver {
  private final SlurmConfig config;

  OptionResolver(SlurmConfig config) {
    this.config = config;
  }

  JobOptions resolve(PodPlan plan) throws BackendException.InvalidPod {
    PodOptions pod = PodOptions.of(plan, config);
    String flavorName = pod.flavor() != null ? pod.flavor() : config.defaultFlavor();
    Flavor flavor = flavor(flavorName);

    ContainerRuntime runtime = config.runtime();
    if (flavor != null && flavor.runtime() != null) {
      runtime = flavor.runtime();
    }
    if (pod.runtime() != null) {
      runtime = pod.runtime();
    }
    List<String> runtimeOptions = config.options(runtime);
    if (flavor != null
        && flavor.options() != null
        && (flavor.runtime() == null || flavor.runtime() == runtime)) {
      runtimeOptions = flavor.options();
    }

    // Flags, lowest precedence first; later puts replace earlier ones.
    Map<String, String> flags = new LinkedHashMap<>();
    if (config.partition() != null) {
      flags.put("partition", config.partition());
    }
    if (flavor != null) {
      for (SbatchFlag f : flavor.flags().values()) {
        flags.put(f.name(), f.value());
      }
    }
    podSpecFlags(plan, flags);
    for (SbatchFlag f : pod.flags()) {
      flags.put(f.name(), f.value());
    }
    flags.putAll(pod.typed());
    if (pod.exclusive() != null) {
      switch (pod.exclusive()) {
        case "true" -> flags.put("exclusive", null);
        case "false" -> flags.remove("exclusive");
        default -> flags.put("exclusive", pod.exclusive());
      }
    }
    // A pod is one node unless it (within the node's policy) or a preset asks for more: without
    // --nodes, Slurm may spread many tasks over many nodes.
    flags.putIfAbsent("nodes", "1");
    String cpus = flags.remove("cpus-per-task");
    String mem = flags.remove("mem");
    return new JobOptions(
        flavor == null ? null : flavorName,
        runtime,
        runtimeOptions,
        cpus,
        mem,
        new java.util.TreeMap<>(flags));
  }

  /**
   * What the pod chose itself (see {@link Backend#choices}): its annotations and its deadline,
   * never the settings' defaults or the flags a flavor sets. The runtime is the pod's annotation,
   * else the runtime of the flavor the pod names (choosing a flavor chooses its runtime; the
   * default flavor's is the operator's). {@code time} is in seconds ({@link Long#MAX_VALUE} for
   * {@code UNLIMITED}), {@code nodes} the largest count asked for.
   */
  Map<String, String> choices(PodPlan plan) throws BackendException.InvalidPod {
    PodOptions pod = PodOptions.of(plan, config);
    Flavor named = flavor(pod.flavor());
    Map<String, String> out = new LinkedHashMap<>();
    if (pod.runtime() != null) {
      out.put(Backend.CHOICE_RUNTIME, pod.runtime().configName());
    } else if (named != null && named.runtime() != null) {
      out.put(Backend.CHOICE_RUNTIME, named.runtime().configName());
    }
    for (String k : List.of("partition", "account", "qos", "reservation")) {
      if (pod.get(k) != null) {
        out.put(k, pod.get(k));
      }
    }
    if (pod.get("nodes") != null) {
      String n = pod.get("nodes");
      out.put(Backend.CHOICE_NODES, n.substring(n.indexOf('-') + 1));
    }
    if (pod.exclusive() != null) {
      out.put(Backend.CHOICE_EXCLUSIVE, String.valueOf(!pod.exclusive().equals("false")));
    }
    if (pod.get("time") != null) {
      out.put(Backend.CHOICE_TIME, String.valueOf(seconds(pod.get("time"))));
    } else if (plan.activeDeadline().isPresent()) {
      out.put(Backend.CHOICE_TIME, String.valueOf(roundUp(plan.activeDeadline().get())));
    }
    if (pod.flavor() != null) {
      out.put(Backend.CHOICE_PRESET, pod.flavor());
    }
    return out;
  }

  private Flavor flavor(String name) throws BackendException.InvalidPod {
    if (name == null) {
      return null;
    }
    Flavor f = config.flavors().get(name);
    if (f == null) {
      throw Invalid.pod(
          "UnknownFlavor",
          "annotation "
              + SlurmConfig.PREFIX
              + "flavor: no flavor named '"
              + Invalid.printable(name)
              + "' (known: "
              + String.join(", ", config.flavors().keySet())
              + ")");
    }
    return f;
  }

  private static void podSpecFlags(PodPlan plan, Map<String, String> flags) {
    long cpuInit = 0, memInit = 0, gpuInit = 0, cpu = 0, mem = 0, gpu = 0;
    for (ContainerPlan c : plan.initContainers()) {
      cpuInit = Math.max(cpuInit, cpu(c));
      memInit = Math.max(memInit, mem(c));
      gpuInit = Math.max(gpuInit, c.resources().gpus());
    }
    for (ContainerPlan c : plan.containers()) {
      cpu += cpu(c);
      mem += mem(c);
      gpu += c.resources().gpus();
    }
    cpu = Math.max(cpu, cpuInit);
    mem = Math.max(mem, memInit);
    gpu = Math.max(gpu, gpuInit);
    if (cpu > 0) {
      flags.put("cpus-per-task", String.valueOf((cpu + 999) / 1000));
    }
    if (mem > 0) {
      flags.put("mem", ((mem + (1 << 20) - 1) >> 20) + "M");
    }
    if (gpu > 0) {
      flags.put("gres", "gpu:" + gpu);
    }
    plan.activeDeadline().ifPresent(d -> flags.put("time", slurmTime(d)));
  }

  /** A container's CPU: the limit when set (a Slurm allocation is a hard cap), else the request. */
  private static long cpu(ContainerPlan c) {
    return c.resources().cpuLimitMillis() > 0
        ? c.resources().cpuLimitMillis()
        : c.resources().cpuRequestMillis();
  }

  /** A container's memory: the limit when set, else the request. */
  private static long mem(ContainerPlan c) {
    return c.resources().memoryLimitBytes() > 0
        ? c.resources().memoryLimitBytes()
        : c.resources().memoryRequestBytes();
  }

  private static long roundUp(Duration d) {
    return Math.max(1, d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0));
  }

  /** {@code D-HH:MM:SS}, rounded up to whole seconds. */
  static String slurmTime(Duration d) {
    long s = roundUp(d);
    return String.format(
        Locale.ROOT, "%d-%02d:%02d:%02d", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
  }

  /**
   * Seconds of a Slurm time ({@link PodOptions#TIME}): {@code M}, {@code M:S}, {@code H:M:S},
   * {@code D-H}, {@code D-H:M}, {@code D-H:M:S}; {@link Long#MAX_VALUE} for UNLIMITED/INFINITE.
   *
   * @throws ArithmeticException when the time does not fit in a long number of seconds
   */
  static long seconds(String time) {
    if (time.equals("UNLIMITED") || time.equals("INFINITE")) {
      return Long.MAX_VALUE;
    }
    long days = 0;
    String rest = time;
    int dash = time.indexOf('-');
    if (dash >= 0) {
      days = number(time.substring(0, dash));
      rest = time.substring(dash + 1);
    }
    String[] p = rest.split(":");
    long[] v = new long[p.length];
    for (int i = 0; i < p.length; i++) {
      v[i] = number(p[i]);
    }
    // Units of each part, most significant first: D-H[:M[:S]], else M, M:S or H:M:S.
    long[] units =
        dash >= 0
            ? new long[] {3600, 60, 1}
            : p.length == 1
                ? new long[] {60}
                : p.length == 2 ? new long[] {60, 1} : new long[] {3600, 60, 1};
    long s = Math.multiplyExact(days, 86400);
    for (int i = 0; i < p.length; i++) {
      s = Math.addExact(s, Math.multiplyExact(v[i], units[i]));
    }
    return s;
  }

  private static long number(String digits) {
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new ArithmeticException("too many digits: " + digits);
    }
  }
}
