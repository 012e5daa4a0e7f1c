package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Invalid.printable;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.PodPlan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What a pod asks for itself through its {@code slurm.hpc-bridge.io/} annotations, each value
 * checked against a strict pattern (they end up in {@code #SBATCH} lines). Absent annotations are
 * null. Nothing here comes from the operator's settings, except which raw flags are allowed.
 *
 * @param typed the typed annotations by name ({@code partition}, {@code time}, …), values checked
 * @param exclusive {@code true}, {@code false}, {@code user}, {@code mcs}, {@code topo}, or null
 * @param flavor the flavor the pod names, or null
 * @param runtime the runtime the pod names, or null
 * @param flags the raw flags of the {@code flags} annotation, in order
 */
record PodOptions(
    Map<String, String> typed,
    String exclusive,
    String flavor,
    ContainerRuntime runtime,
    List<SbatchFlag> flags) {

  /** The annotations a pod may set, after {@link SlurmConfig#PREFIX}. */
  static final List<String> ANNOTATIONS =
      List.of(
          "partition",
          "account",
          "qos",
          "constraint",
          "reservation",
          "time",
          "nodes",
          "ntasks",
          "exclusive",
          "flags",
          "flavor",
          "runtime");

  private static final Pattern NAME_VALUE = Pattern.compile("[A-Za-z0-9_.+,-]+");
  private static final Pattern CONSTRAINT = Pattern.compile("[A-Za-z0-9_.,:&|\\[\\]*()!-]+");
  static final Pattern TIME =
      Pattern.compile("\\d+(:\\d{1,2}){0,2}|\\d+-\\d{1,2}(:\\d{1,2}){0,2}|UNLIMITED|INFINITE");
  private static final Pattern NODES = Pattern.compile("[1-9]\\d*(-[1-9]\\d*)?");
  private static final Pattern COUNT = Pattern.compile("[1-9]\\d*");

  /** Typed annotations in the order they are applied (later ones win over earlier ones). */
  private static final List<String> TYPED =
      List.of(
          "partition", "account", "qos", "reservation", "constraint", "time", "nodes", "ntasks");

  PodOptions {
    typed = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(typed));
    flags = List.copyOf(flags);
  }

  String get(String key) {
    return typed.get(key);
  }

  /** Reads and checks the pod's annotations; {@code config} says which raw flags are allowed. */
  static PodOptions of(PodPlan plan, SlurmConfig config) throws BackendException.InvalidPod {
    Map<String, String> ann = annotations(plan);
    ContainerRuntime runtime = null;
    if (ann.containsKey("runtime")) {
      runtime =
          ContainerRuntime.parse(ann.get("runtime"))
              .orElseThrow(
                  () ->
                      Invalid.pod(
                          "UnknownRuntime",
                          "annotation "
                              + SlurmConfig.PREFIX
                              + "runtime: unknown runtime '"
                              + printable(ann.get("runtime"))
                              + "' (known: "
                              + ContainerRuntime.names()
                              + ")"));
    }
    List<SbatchFlag> flags = rawFlags(ann.get("flags"), config);
    Map<String, String> typed = new LinkedHashMap<>();
    for (String k : TYPED) {
      String v = ann.get(k);
      if (v != null) {
        typed.put(k, check(k, v));
      }
    }
    String exclusive = null;
    if (ann.containsKey("exclusive")) {
      exclusive = ann.get("exclusive").toLowerCase(Locale.ROOT);
      if (!List.of("true", "false", "user", "mcs", "topo").contains(exclusive)) {
        throw Invalid.pod(
            "InvalidAnnotation",
            SlurmConfig.PREFIX
                + "exclusive: expected true, false, user, mcs or topo, got '"
                + printable(ann.get("exclusive"))
                + "'");
      }
    }
    return new PodOptions(typed, exclusive, ann.get("flavor"), runtime, flags);
  }

  private static Map<String, String> annotations(PodPlan plan) throws BackendException.InvalidPod {
    Map<String, String> out = new LinkedHashMap<>();
    for (var e : new TreeMap<>(plan.annotations()).entrySet()) {
      if (!e.getKey().startsWith(SlurmConfig.PREFIX)) {
        continue;
      }
      String key = e.getKey().substring(SlurmConfig.PREFIX.length());
      if (!ANNOTATIONS.contains(key)) {
        throw Invalid.pod(
            "UnknownAnnotation",
            "unknown annotation "
                + printable(e.getKey())
                + " (known: "
                + String.join(", ", ANNOTATIONS.stream().map(a -> SlurmConfig.PREFIX + a).toList())
                + ")");
      }
      out.put(key, e.getValue() == null ? "" : e.getValue().trim());
    }
    return out;
  }

  private static String check(String key, String value) throws BackendException.InvalidPod {
    return switch (key) {
      case "constraint" -> checked(key, value, CONSTRAINT, "a Slurm feature expression");
      case "time" ->
          time(checked(key, value, TIME, "minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"));
      case "nodes" -> checked(key, value, NODES, "a count N or a range MIN-MAX");
      case "ntasks" -> checked(key, value, COUNT, "a positive whole number");
      default -> checked(key, value, NAME_VALUE, "letters, digits and _ . + , -");
    };
  }

  /** A time whose seconds overflow (the policy compares them) is refused, not wrapped around. */
  private static String time(String value) throws BackendException.InvalidPod {
    try {
      OptionResolver.seconds(value);
    } catch (ArithmeticException e) {
      throw Invalid.pod(
          "InvalidAnnotation",
          SlurmConfig.PREFIX
              + "time: too long, more seconds than fit a 64-bit number: '"
              + printable(value)
              + "'");
    }
    return value;
  }

  private static String checked(String key, String value, Pattern p, String expected)
      throws BackendException.InvalidPod {
    if (!p.matcher(value).matches()) {
      throw Invalid.pod(
          "InvalidAnnotation",
          SlurmConfig.PREFIX + key + ": expected " + expected + ", got '" + printable(value) + "'");
    }
    return value;
  }

  private static List<SbatchFlag> rawFlags(String raw, SlurmConfig config)
      throws BackendException.InvalidPod {
    List<SbatchFlag> out = new ArrayList<>();
    if (raw == null || raw.isBlank()) {
      return out;
    }
    String key = SlurmConfig.PREFIX + "flags";
    for (String token : raw.trim().split("[ \\t]+")) {
      if (token.indexOf('\n') >= 0 || token.indexOf('\r') >= 0) {
        throw Invalid.pod("InvalidSlurmFlag", key + ": flags must be on one line");
      }
      SbatchFlag f =
          SbatchFlag.parse(token)
              .orElseThrow(
                  () ->
                      Invalid.pod(
                          "InvalidSlurmFlag",
                          key
                              + ": '"
                              + printable(token)
                              + "' is not --name or --name=value with a value of letters, digits"
                              + " and _.,:=+@%/[]&|*()!~^-"));
      if (SlurmConfig.MANAGED_FLAGS.contains(f.name())) {
        throw Invalid.pod(
            "ForbiddenSlurmFlag",
            key + ": --" + f.name() + " is set by the bridge and cannot be overridden");
      }
      if (ANNOTATIONS.contains(f.name())) {
        throw Invalid.pod(
            "ForbiddenSlurmFlag",
            key
                + ": use the annotation "
                + SlurmConfig.PREFIX
                + f.name()
                + " instead of --"
                + f.name());
      }
      if (!config.allows(f.name())) {
        throw Invalid.pod(
            "ForbiddenSlurmFlag",
            key
                + ": --"
                + f.name()
                + " is not allowed (allowed: "
                + String.join(", ", new TreeSet<>(config.allowedFlags().values()))
                + ")");
      }
      out.add(f);
    }
    return out;
  }
}
