package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.SettingsBinder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The Slurm backend's settings ({@code backends.slurm}), bound with {@link SettingsBinder} and
 * checked once at start; a wrong value names its key. See the module README for every key.
 *
 * @param transport {@code ssh} or {@code local}; {@code ssh} when {@code ssh.host} is set
 * @param ssh SSH settings, null for the local transport
 * @param workRoot the per-pod directories' parent on the shared file system; {@code ~/} is the
 *     remote user's home
 * @param partition the default partition (also the one whose capacity is reported), or null
 * @param runtime the default container runtime
 * @param runtimeBinaries the executable of each runtime, by runtime name
 * @param runtimeOptions extra options of each runtime (e.g. {@code --cleanenv}), by runtime name
 * @param isolation the options that confine each runtime's containers, by runtime name: by default
 *     {@code --containall --no-home} for apptainer and singularity, {@code
 *     --no-container-mount-home} for pyxis; an operator who sets a runtime's list replaces its
 *     default (see the README for what each costs)
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
    Map<String, String> runtimeBinaries,
    Map<String, Words> runtimeOptions,
    Map<String, Words> isolation,
    Map<String, Flavor> flavors,
    String defaultFlavor,
    Words allowedFlags,
    Boolean accounting,
    Duration retention,
    Duration commandTimeout,
    Duration restartBackoff,
    Integer maxPods,
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
      // Not here by default, because they take what the node's policy and the Kubernetes quota
      // cannot see: GPUs and licenses (use nvidia.com/gpu resources), node lists, several nodes,
      // priority, another wckey, mail to anyone.
      Set.of(
          "begin",
          "mail-type",
          "nice",
          "hint",
          "ntasks-per-node",
          "threads-per-core",
          "cores-per-socket",
          "sockets-per-node",
          "tmp",
          "distribution",
          "network",
          "exclude",
          "deadline",
          "prefer",
          "profile",
          "gres-flags",
          "mem-bind",
          "cpu-freq");

  /** What confines each runtime's containers unless the operator says otherwise. */
  public static final Map<String, Words> DEFAULT_ISOLATION =
      Map.of(
          "apptainer", new Words(List.of("--containall", "--no-home")),
          "singularity", new Words(List.of("--containall", "--no-home")),
          "pyxis", new Words(List.of("--no-container-mount-home")));

  private static final String PREFIX_KEY = "backends.slurm";
  private static final Pattern ROOT = Pattern.compile("(~/)?[A-Za-z0-9_./-]+");

  public SlurmConfig {
    transport = transport != null ? transport : ssh != null && ssh.host() != null ? "ssh" : "local";
    switch (transport) {
      case "local" -> ssh = null;
      case "ssh" -> checkSsh(ssh);
      default ->
          throw SettingsBinder.invalid("transport", "expected ssh or local, got " + transport);
    }
    workRoot = workRoot == null ? "~/.hpc-bridge/pods" : workRoot;
    if (!ROOT.matcher(workRoot).matches() || workRoot.contains("..")) {
      throw SettingsBinder.invalid(
          "workRoot",
          "must be an absolute path or start with ~/, using only letters,"
              + " digits and _ . / - (it appears in #SBATCH lines): "
              + workRoot);
    }
    if (!workRoot.startsWith("/") && !workRoot.startsWith("~/")) {
      throw SettingsBinder.invalid("workRoot", "must be absolute or start with ~/: " + workRoot);
    }
    if (partition != null && !SbatchFlag.VALUE.matcher(partition).matches()) {
      throw SettingsBinder.invalid("partition", "not a partition name: " + partition);
    }
    runtime = runtime == null ? ContainerRuntime.APPTAINER : runtime;
    runtimeBinaries = byRuntime("runtimeBinaries", runtimeBinaries);
    runtimeOptions = byRuntime("runtimeOptions", runtimeOptions);
    Map<String, Words> confined = new LinkedHashMap<>(DEFAULT_ISOLATION);
    confined.putAll(byRuntime("isolation", isolation));
    isolation = java.util.Collections.unmodifiableMap(confined);
    flavors =
        java.util.Collections.unmodifiableMap(
            new LinkedHashMap<>(flavors == null ? Map.of() : flavors));
    if (defaultFlavor != null && !flavors.containsKey(defaultFlavor)) {
      throw SettingsBinder.invalid(
          "defaultFlavor",
          "no flavor named " + defaultFlavor + " (known: " + flavors.keySet() + ")");
    }
    allowedFlags =
        allowedFlags == null
            ? new Words(List.copyOf(new TreeSet<>(DEFAULT_ALLOWED_FLAGS)))
            : allowedFlags;
    for (String f : allowedFlags.values()) {
      if (MANAGED_FLAGS.contains(f)) {
        throw SettingsBinder.invalid(
            "allowedFlags", "--" + f + " is set by the bridge and cannot be allowed");
      }
      if (!SbatchFlag.NAME.matcher(f).matches()) {
        throw SettingsBinder.invalid(
            "allowedFlags", "write flag names without dashes, e.g. mail-type: " + f);
      }
    }
    accounting = accounting != null && accounting;
    retention = retention == null ? Duration.ofHours(24) : retention;
    commandTimeout = commandTimeout == null ? Duration.ofSeconds(60) : commandTimeout;
    restartBackoff = restartBackoff == null ? Duration.ofSeconds(10) : restartBackoff;
    maxPods = maxPods == null ? 1000 : maxPods;
    if (maxPods < 1) {
      throw SettingsBinder.invalid("maxPods", "must be at least 1, got " + maxPods);
    }
    capacityRefresh = capacityRefresh == null ? Duration.ofMinutes(5) : capacityRefresh;
  }

  /**
   * SSH settings ({@code ssh.*}).
   *
   * @param passphraseFile a file holding the key's passphrase (read once, at start)
   * @param maxChannels SSH channels open at once (sshd's MaxSessions is 10 by default); a quarter
   *     of them, at least one, are kept from log reads
   */
  public record SshConfig(
      String host,
      Integer port,
      String user,
      Path identityFile,
      String passphrase,
      Path passphraseFile,
      Path knownHosts,
      Boolean strictHostKeyChecking,
      String jumpHost,
      Boolean useAgent,
      Duration connectTimeout,
      Integer maxChannels) {
    public SshConfig {
      port = port == null ? 22 : port;
      if (port < 1 || port > 65535) {
        throw SettingsBinder.invalid("port", "must be between 1 and 65535, got " + port);
      }
      user = user == null ? System.getProperty("user.name") : user;
      if (passphraseFile != null) {
        try {
          passphrase = Files.readString(passphraseFile).strip();
        } catch (IOException e) {
          throw SettingsBinder.invalid(
              "passphraseFile", "cannot read " + passphraseFile + ": " + e.getMessage());
        }
      }
      knownHosts =
          knownHosts == null
              ? Path.of(System.getProperty("user.home"), ".ssh", "known_hosts")
              : knownHosts;
      strictHostKeyChecking = strictHostKeyChecking == null || strictHostKeyChecking;
      useAgent = useAgent != null && useAgent;
      connectTimeout = connectTimeout == null ? Duration.ofSeconds(15) : connectTimeout;
      maxChannels = maxChannels == null ? 8 : maxChannels;
      if (maxChannels < 2) {
        throw SettingsBinder.invalid(
            "maxChannels",
            "must be at least 2 (one for log reads, one for everything else), got " + maxChannels);
      }
    }
  }

  private static void checkSsh(SshConfig ssh) {
    if (ssh == null || ssh.host() == null || ssh.host().isBlank()) {
      throw SettingsBinder.invalid("ssh.host", "required when transport is ssh");
    }
    if (ssh.identityFile() == null && !ssh.useAgent()) {
      throw SettingsBinder.invalid("ssh.identityFile", "required unless ssh.useAgent is true");
    }
    if (ssh.identityFile() != null && !Files.isReadable(ssh.identityFile())) {
      throw SettingsBinder.invalid("ssh.identityFile", "cannot read " + ssh.identityFile());
    }
    if (ssh.strictHostKeyChecking() && !Files.isReadable(ssh.knownHosts())) {
      throw SettingsBinder.invalid(
          "ssh.knownHosts",
          "cannot read "
              + ssh.knownHosts()
              + " (host keys are verified; add the login node's key with ssh-keyscan)");
    }
  }

  /** The map with each key checked and spelled as its runtime's config name. */
  private static <V> Map<String, V> byRuntime(String key, Map<String, V> in) {
    Map<String, V> out = new LinkedHashMap<>();
    if (in != null) {
      for (var e : in.entrySet()) {
        ContainerRuntime r =
            ContainerRuntime.parse(e.getKey())
                .orElseThrow(
                    () ->
                        SettingsBinder.invalid(
                            key + "." + e.getKey(),
                            "unknown runtime "
                                + e.getKey()
                                + " (known: "
                                + ContainerRuntime.names()
                                + ")"));
        out.put(r.configName(), e.getValue());
      }
    }
    return java.util.Collections.unmodifiableMap(out);
  }

  /** The executable of runtime {@code r} on the compute nodes. */
  public String binary(ContainerRuntime r) {
    return runtimeBinaries.getOrDefault(r.configName(), r.defaultBinary());
  }

  /** The operator's extra options of runtime {@code r}. */
  public List<String> options(ContainerRuntime r) {
    Words w = runtimeOptions.get(r.configName());
    return w == null ? List.of() : w.values();
  }

  /** The options that confine runtime {@code r}'s containers. */
  public List<String> isolation(ContainerRuntime r) {
    Words w = isolation.get(r.configName());
    return w == null ? List.of() : w.values();
  }

  /** Whether a pod may set {@code --name} through the raw-flags annotation. */
  public boolean allows(String flag) {
    return allowedFlags.values().contains(flag);
  }

  /** Defaults everywhere: local transport, apptainer, {@code ~/.hpc-bridge/pods}. */
  public static SlurmConfig defaults() {
    return parse(Map.of());
  }

  /**
   * Binds and checks the {@code backends.slurm} section; throws {@link IllegalArgumentException}
   * naming the key ({@code backends.slurm.ssh.host: required when transport is ssh}). Dotted keys
   * ({@code ssh.host: x}) are read like nested ones.
   */
  public static SlurmConfig parse(Map<String, Object> settings) {
    return SettingsBinder.bind(nest(settings), SlurmConfig.class, PREFIX_KEY);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> nest(Map<String, Object> flat) {
    Map<String, Object> out = new LinkedHashMap<>();
    if (flat == null) {
      return out;
    }
    for (var e : flat.entrySet()) {
      String[] parts = String.valueOf(e.getKey()).split("\\.");
      Map<String, Object> m = out;
      for (int i = 0; i < parts.length - 1; i++) {
        Object next = m.get(parts[i]);
        if (!(next instanceof Map)) {
          next = new LinkedHashMap<String, Object>();
          m.put(parts[i], next);
        } else if (!(next instanceof LinkedHashMap)) {
          next = new LinkedHashMap<>((Map<String, Object>) next);
          m.put(parts[i], next);
        }
        m = (Map<String, Object>) next;
      }
      Object v = e.getValue();
      String last = parts[parts.length - 1];
      if (v instanceof Map<?, ?> vm && m.get(last) instanceof Map<?, ?> existing) {
        Map<String, Object> merged = new LinkedHashMap<>((Map<String, Object>) existing);
        merged.putAll((Map<String, Object>) vm);
        v = merged;
      }
      m.put(last, v);
    }
    return out;
  }

  /** A copy with another work root, for tests and tools. */
  public SlurmConfig withWorkRoot(String root) {
    return new SlurmConfig(
        transport,
        ssh,
        root,
        partition,
        runtime,
        runtimeBinaries,
        runtimeOptions,
        isolation,
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
