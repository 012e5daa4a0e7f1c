package io.hpcbridge.bridge.policy;

import static io.hpcbridge.backend.SettingsBinder.invalid;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What pods may ask for: the {@code policy} section of the bridge config. Every door is closed
 * unless opened here. {@code namespaces} overrides any of these fields for one namespace (a field
 * set there replaces the bridge-wide one; {@code slurm} and {@code docker} field by field).
 *
 * @param hostPathPrefixes hostPath volumes are allowed only at or below these paths (default none)
 * @param privileged whether containers may be privileged
 * @param hostNetwork whether pods may share the host's network namespace
 * @param hostPID whether pods may share the host's PID namespace
 * @param hostIPC whether pods may share the host's IPC namespace
 * @param hostPorts whether containers may bind host ports
 * @param capabilities the capabilities containers may add (default none), e.g. {@code NET_ADMIN}
 * @param runAsRoot whether a pod may ask to run as uid 0 or gid 0 ({@code runAsUser: 0}, {@code
 *     runAsGroup: 0}, group 0 among {@code supplementalGroups} or as {@code fsGroup})
 * @param runAsUsers the uids a pod may ask for ({@code runAsUser}), as ids or ranges ({@code
 *     1000-1999}); default none: the backend's default user applies
 * @param runAsGroups the gids a pod may ask for ({@code runAsGroup}, {@code supplementalGroups},
 *     {@code fsGroup}), as ids or ranges; default none
 * @param requireNonRoot every container must run as a user other than root, as with {@code
 *     runAsNonRoot: true} (an image whose user is root does not start)
 * @param allowPrivilegeEscalation whether a container may ask for {@code allowPrivilegeEscalation:
 *     true} (else every process gets {@code no_new_privs})
 * @param seccompUnconfined whether a pod may ask for seccomp profile {@code Unconfined}
 * @param slurm what pods may choose of the Slurm backend's options
 * @param docker where pods of the docker backend may run
 * @param namespaces per-namespace overrides
 */
public record Policy(
    List<String> hostPathPrefixes,
    Boolean privileged,
    Boolean hostNetwork,
    Boolean hostPID,
    Boolean hostIPC,
    Boolean hostPorts,
    List<String> capabilities,
    Boolean runAsRoot,
    List<String> runAsUsers,
    List<String> runAsGroups,
    Boolean requireNonRoot,
    Boolean allowPrivilegeEscalation,
    Boolean seccompUnconfined,
    Slurm slurm,
    Docker docker,
    Map<String, Policy> namespaces) {

  /** Everything closed. */
  public static final Policy CLOSED =
      new Policy(
          null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
          null);

  public Policy {
    if (hostPathPrefixes != null) {
      for (String p : hostPathPrefixes) {
        if (p == null || !p.startsWith("/") || p.contains("/../") || p.endsWith("/..")) {
          throw invalid("hostPathPrefixes", "must be absolute paths, got '" + p + "'");
        }
      }
      hostPathPrefixes = List.copyOf(hostPathPrefixes);
    }
    capabilities = capabilities == null ? null : List.copyOf(capabilities);
    runAsUsers = IdRanges.check("runAsUsers", runAsUsers);
    runAsGroups = IdRanges.check("runAsGroups", runAsGroups);
    if (namespaces != null) {
      for (var e : namespaces.entrySet()) {
        if (e.getValue() != null && e.getValue().namespaces() != null) {
          throw invalid("namespaces." + e.getKey() + ".namespaces", "cannot be nested");
        }
      }
      namespaces = Map.copyOf(namespaces);
    }
  }

  /**
   * What Slurm pods may choose themselves (through annotations); the operator's own defaults and
   * presets always apply.
   *
   * @param runtimes container runtimes a pod may name ({@code none} runs the command directly on
   *     the compute node as the bridge's account: list it only for trusted namespaces)
   * @param partitions partitions a pod may name
   * @param accounts accounts a pod may name
   * @param qos QOS a pod may name
   * @param maxNodes the most nodes a pod may ask for (default 1)
   * @param exclusive whether a pod may ask for whole nodes
   * @param maxTime the longest time limit a pod may ask for (default: no limit of ours)
   * @param flavors presets a pod may name (default none: a preset sets runtime, partition and
   *     account the pod may not choose itself, so each namespace's presets are listed)
   * @param reservations reservations a pod may name
   */
  public record Slurm(
      List<String> runtimes,
      List<String> partitions,
      List<String> accounts,
      List<String> qos,
      Integer maxNodes,
      Boolean exclusive,
      Duration maxTime,
      List<String> flavors,
      List<String> reservations) {}

  /**
   * @param hosts the Docker hosts (names as configured) pods may be placed on; unset: any; an empty
   *     list: none (the namespace's pods are refused)
   */
  public record Docker(List<String> hosts) {}

  /** The policy for one namespace: its overrides over the bridge-wide fields. */
  public Policy forNamespace(String namespace) {
    Policy o = namespaces == null ? null : namespaces.get(namespace);
    if (o == null) {
      return this;
    }
    Slurm s =
        slurm == null ? new Slurm(null, null, null, null, null, null, null, null, null) : slurm;
    Slurm os = o.slurm();
    Slurm mergedSlurm =
        os == null
            ? slurm
            : new Slurm(
                pick(os.runtimes(), s.runtimes()),
                pick(os.partitions(), s.partitions()),
                pick(os.accounts(), s.accounts()),
                pick(os.qos(), s.qos()),
                pick(os.maxNodes(), s.maxNodes()),
                pick(os.exclusive(), s.exclusive()),
                pick(os.maxTime(), s.maxTime()),
                pick(os.flavors(), s.flavors()),
                pick(os.reservations(), s.reservations()));
    return new Policy(
        pick(o.hostPathPrefixes(), hostPathPrefixes),
        pick(o.privileged(), privileged),
        pick(o.hostNetwork(), hostNetwork),
        pick(o.hostPID(), hostPID),
        pick(o.hostIPC(), hostIPC),
        pick(o.hostPorts(), hostPorts),
        pick(o.capabilities(), capabilities),
        pick(o.runAsRoot(), runAsRoot),
        pick(o.runAsUsers(), runAsUsers),
        pick(o.runAsGroups(), runAsGroups),
        pick(o.requireNonRoot(), requireNonRoot),
        pick(o.allowPrivilegeEscalation(), allowPrivilegeEscalation),
        pick(o.seccompUnconfined(), seccompUnconfined),
        mergedSlurm,
        pick(o.docker(), docker),
        null);
  }

  private static <T> T pick(T override, T base) {
    return override != null ? override : base;
  }

  static boolean on(Boolean b) {
    return Boolean.TRUE.equals(b);
  }
}
