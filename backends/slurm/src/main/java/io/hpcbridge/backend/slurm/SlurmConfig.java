package io.hpcbridge.backend.slurm;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The Slurm backend's settings, validated once at start. See the module README for every key.
 *
 * @param transport {@code ssh} or {@code local}
 * @param ssh SSH settings, null for the local transport
 * @param workRoot the per-pod directories' parent on the shared file system; {@code ~/} is the
 *     remote user's home
 * @param partition the default partition (also the one whose capacity is reported), or null
 * @param runtime the default container runtime
 * @param runtimeBinaries the executable of each runtime
 * @param runtimeOptions extra options of each runtime (e.g. {@code --cleanenv})
 * @param flavors operator-defined flag sets by name
 * @param defaultFlavor the flavor of pods that select none, or null
 * @param allowedFlags sbatch flags a pod may set through the raw-flags annotation
 * @param accounting whether {@code sacct} works on this cluster
 * @param retention how long a released pod's directory is kept
 * @param commandTimeout how long one remote command may take
 * @param restartBackoff first delay before a container is restarted (doubles, at most 5 min)
 * @param maxPods pods the node advertises
 * @param capacityRefresh how often {@code sinfo} totals are refreshed
 */
public record SlurmConfig(
    String transport,
    SshConfig ssh,
    String workRoot,
    String partition,
    ContainerRuntime runtime,
    Map<ContainerRuntime, String> runtimeBinaries,
    Map<ContainerRuntime, List<String>> runtimeOptions,
    Map<String, Flavor> flavors,
    String defaultFlavor,
    Set<String> allowedFlags,
    boolean accounting,
    Duration retention,
    Duration commandTimeout,
    Duration restartBackoff,
    int maxPods,
    Duration capacityRefresh) {

  /** The annotation prefix every Slurm option of a pod uses. */
  public static final String PREFIX = "slurm.hpc-bridge.io/";

  /** Flags the bridge sets itself; neither flavors nor pods may set them. */
  public static final Set<String> MANAGED_FLAGS =
      Set.of(
          "job-name",
          "output",
          "error",
          "input",
          "comment",
          "chdir",
          "parsable",
          "wrap",
          "signal",
          "open-mode",
          "export",
          "export-file",
          "array",
          "requeue",
          "no-requeue",
          "hold",
          "dependency",
          "kill-on-invalid-dep",
          "wait",
          "test-only",
          "uid",
          "gid",
          "get-user-env",
          "batch",
          "container",
          "propagate",
          "cpus-per-task",
          "mem");

  /**
   * Flags a pod may set through {@code slurm.hpc-bridge.io/flags} unless the operator says
   * otherwise.
   */
  public static final Set<String> DEFAULT_ALLOWED_FLAGS =
      Set.of(
          "begin",
          "mail-type",
          "mail-user",
          "nice",
          "licenses",
          "hint",
          "ntasks-per-node",
          "threads-per-core",
          "cores-per-socket",
          "sockets-per-node",
          "tmp",
          "distribution",
          "wckey",
          "switches",
          "gpus-per-node",
          "gpus-per-task",
          "cpus-per-gpu",
          "mem-per-gpu",
          "gpus",
          "network",
          "exclude",
          "nodelist",
          "deadline",
          "prefer",
          "spread-job",
          "profile",
          "gres-flags",
          "mem-bind",
          "cpu-freq",
          "priority");

  private static final Pattern ROOT = Pattern.compile("(~/)?[A-Za-z0-9_./-]+");

  public SlurmConfig {
    runtimeBinaries = Map.copyOf(runtimeBinaries);
    runtimeOptions = Map.copyOf(runtimeOptions);
    flavors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(flavors));
    allowedFlags = Set.copyOf(allowedFlags);
  }

  /** SSH settings. */
  public record SshConfig(
      String host,
      int port,
      String user,
      Path identityFile,
      String passphrase,
      Path knownHosts,
      boolean strictHostKeyChecking,
      String jumpHost,
      boolean useAgent,
      Duration connectTimeout) {}

  public String binary(ContainerRuntime r) {
    return runtimeBinaries.getOrDefault(r, r.defaultBinary());
  }

  public List<String> options(ContainerRuntime r) {
    return runtimeOptions.getOrDefault(r, List.of());
  }

  /** Defaults everywhere: local transport, apptainer, {@code ~/.hpc-bridge/pods}. */
  public static SlurmConfig defaults() {
    return parse(Map.of());
  }

  /** Parses and validates; throws {@link IllegalArgumentException} naming the key. */
  public static SlurmConfig parse(Map<String, Object> map) {
    Settings s = new Settings(map);
    String sshHost = s.string("ssh.host", null);
    String transport = s.string("transport", sshHost == null ? "local" : "ssh");
    SshConfig ssh = null;
    switch (transport) {
      case "local" -> {}
      case "ssh" -> {
        if (sshHost == null || sshHost.isBlank()) {
          throw Settings.bad("ssh.host", "required when transport is ssh");
        }
        String home = System.getProperty("user.home");
        String identity = s.string("ssh.identityFile", null);
        String passphrase = s.string("ssh.passphrase", null);
        String passFile = s.string("ssh.passphraseFile", null);
        if (passFile != null) {
          try {
            passphrase = java.nio.file.Files.readString(Path.of(passFile)).strip();
          } catch (java.io.IOException e) {
            throw Settings.bad(
                "ssh.passphraseFile", "cannot read " + passFile + ": " + e.getMessage());
          }
        }
        boolean agent = s.bool("ssh.useAgent", false);
        if (identity == null && !agent) {
          throw Settings.bad("ssh.identityFile", "required unless ssh.useAgent is true");
        }
        if (identity != null && !java.nio.file.Files.isReadable(Path.of(identity))) {
          throw Settings.bad("ssh.identityFile", "cannot read " + identity);
        }
        String known = s.string("ssh.knownHosts", home + "/.ssh/known_hosts");
        boolean strict = s.bool("ssh.strictHostKeyChecking", true);
        if (strict && !java.nio.file.Files.isReadable(Path.of(known))) {
          throw Settings.bad(
              "ssh.knownHosts",
              "cannot read "
                  + known
                  + " (host keys are verified; add the login node's key with ssh-keyscan)");
        }
        ssh =
            new SshConfig(
                sshHost,
                s.integer("ssh.port", 22, 1),
                s.string("ssh.user", System.getProperty("user.name")),
                identity == null ? null : Path.of(identity),
                passphrase,
                Path.of(known),
                strict,
                s.string("ssh.jumpHost", null),
                agent,
                s.duration("ssh.connectTimeout", Duration.ofSeconds(15)));
      }
      default -> throw Settings.bad("transport", "expected ssh or local, got " + transport);
    }

    String workRoot = s.string("workRoot", "~/.hpc-bridge/pods");
    if (!ROOT.matcher(workRoot).matches() || workRoot.contains("..")) {
      throw Settings.bad(
          "workRoot",
          "must be an absolute path or start with ~/, using only letters,"
              + " digits and _ . / - (it appears in #SBATCH lines): "
              + workRoot);
    }
    if (!workRoot.startsWith("/") && !workRoot.startsWith("~/")) {
      throw Settings.bad("workRoot", "must be absolute or start with ~/: " + workRoot);
    }
    String partition = s.string("partition", null);
    if (partition != null && !SbatchFlag.VALUE.matcher(partition).matches()) {
      throw Settings.bad("partition", "not a partition name: " + partition);
    }

    ContainerRuntime runtime = runtime(s.string("runtime", "apptainer"), "runtime");
    Map<ContainerRuntime, String> binaries = new EnumMap<>(ContainerRuntime.class);
    s.section("runtimeBinaries")
        .forEach((k, v) -> binaries.put(runtime(k, "runtimeBinaries." + k), String.valueOf(v)));
    Map<ContainerRuntime, List<String>> options = new EnumMap<>(ContainerRuntime.class);
    s.section("runtimeOptions")
        .forEach(
            (k, v) ->
                options.put(
                    runtime(k, "runtimeOptions." + k),
                    Settings.toStrings("runtimeOptions." + k, v)));

    Set<String> allowed =
        new LinkedHashSet<>(s.strings("allowedFlags", new ArrayList<>(DEFAULT_ALLOWED_FLAGS)));
    for (String f : allowed) {
      if (MANAGED_FLAGS.contains(f)) {
        throw Settings.bad(
            "allowedFlags", "--" + f + " is set by the bridge and cannot be allowed");
      }
      if (!SbatchFlag.NAME.matcher(f).matches()) {
        throw Settings.bad("allowedFlags", "write flag names without dashes, e.g. mail-type: " + f);
      }
    }

    Map<String, Flavor> flavors = new LinkedHashMap<>();
    for (var e : s.section("flavors").entrySet()) {
      String key = "flavors." + e.getKey();
      Settings f = new Settings(e.getValue() instanceof Map<?, ?> m ? castMap(m) : null);
      if (!(e.getValue() instanceof Map)) {
        throw Settings.bad(key, "expected a map with flags, runtime, runtimeOptions");
      }
      List<SbatchFlag> flags = new ArrayList<>();
      Object rawFlags = f.raw("flags");
      if (rawFlags instanceof Map<?, ?> fm) {
        fm.forEach(
            (k, v) ->
                flags.add(
                    flag(key + ".flags", "--" + k + (v == null || v.equals(true) ? "" : "=" + v))));
      } else if (rawFlags != null) {
        for (String t : Settings.toStrings(key + ".flags", rawFlags)) {
          flags.add(flag(key + ".flags", t));
        }
      }
      String rt = f.string("runtime", null);
      List<String> ro =
          f.raw("runtimeOptions") == null ? null : f.strings("runtimeOptions", List.of());
      flavors.put(
          e.getKey(),
          new Flavor(e.getKey(), flags, rt == null ? null : runtime(rt, key + ".runtime"), ro));
    }
    String defaultFlavor = s.string("defaultFlavor", null);
    if (defaultFlavor != null && !flavors.containsKey(defaultFlavor)) {
      throw Settings.bad(
          "defaultFlavor",
          "no flavor named " + defaultFlavor + " (known: " + flavors.keySet() + ")");
    }

    return new SlurmConfig(
        transport,
        ssh,
        workRoot,
        partition,
        runtime,
        binaries,
        options,
        flavors,
        defaultFlavor,
        allowed,
        s.bool("accounting", false),
        s.duration("retention", Duration.ofHours(24)),
        s.duration("commandTimeout", Duration.ofSeconds(60)),
        s.duration("restartBackoff", Duration.ofSeconds(10)),
        s.integer("maxPods", 1000, 1),
        s.duration("capacityRefresh", Duration.ofMinutes(5)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Map<?, ?> m) {
    return (Map<String, Object>) m;
  }

  private static SbatchFlag flag(String key, String text) {
    SbatchFlag f =
        SbatchFlag.parse(text)
            .orElseThrow(
                () ->
                    Settings.bad(
                        key, "not a long sbatch flag --name[=value] with a safe value: " + text));
    if (MANAGED_FLAGS.contains(f.name())) {
      throw Settings.bad(key, "--" + f.name() + " is set by the bridge and cannot be set here");
    }
    return f;
  }

  private static ContainerRuntime runtime(String v, String key) {
    return ContainerRuntime.parse(v)
        .orElseThrow(
            () ->
                Settings.bad(
                    key, "unknown runtime " + v + " (known: " + ContainerRuntime.names() + ")"));
  }

  /** A copy with another config key set, for tests and tools. */
  public SlurmConfig withWorkRoot(String root) {
    return new SlurmConfig(
        transport,
        ssh,
        root,
        partition,
        runtime,
        runtimeBinaries,
        runtimeOptions,
        flavors,
        defaultFlavor,
        allowedFlags,
        accounting,
        retention,
        commandTimeout,
        restartBackoff,
        maxPods,
        capacityRefresh);
  }
}
