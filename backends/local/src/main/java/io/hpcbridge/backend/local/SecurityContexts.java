package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.Owner;
import io.hpcbridge.backend.local.common.RunAs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The securityContext rules of this backend: who each container runs as, and what is refused
 * because processes on the host cannot be held to it. A container never runs as root unless its
 * plan asks for uid 0 (which the bridge's policy lets through only when the operator allowed it);
 * everything else runs as the settings' {@code runAsUser}/{@code runAsGroup}, with no capabilities
 * and {@code no_new_privs}. A bridge without root cannot switch users: its pods run as its own
 * user, and a plan asking for another is refused.
 */
final class SecurityContexts {

  /** The reason of every refusal for a field this backend cannot enforce. */
  static final String UNSUPPORTED = "UnsupportedSecurityContext";

  /** What a uid 0 container keeps: the default capability set of container runtimes. */
  static final List<String> ROOT_CAPABILITIES =
      List.of(
          "chown",
          "dac_override",
          "fowner",
          "fsetid",
          "kill",
          "setgid",
          "setuid",
          "setpcap",
          "net_bind_service",
          "net_raw",
          "sys_chroot",
          "mknod",
          "audit_write",
          "setfcap");

  /** Capability names Linux knows (as {@code setpriv --list-caps} prints them). */
  static final Set<String> KNOWN_CAPABILITIES =
      Set.of(
          "chown",
          "dac_override",
          "dac_read_search",
          "fowner",
          "fsetid",
          "kill",
          "setgid",
          "setuid",
          "setpcap",
          "linux_immutable",
          "net_bind_service",
          "net_broadcast",
          "net_admin",
          "net_raw",
          "ipc_lock",
          "ipc_owner",
          "sys_module",
          "sys_rawio",
          "sys_chroot",
          "sys_ptrace",
          "sys_pacct",
          "sys_admin",
          "sys_boot",
          "sys_nice",
          "sys_resource",
          "sys_time",
          "sys_tty_config",
          "mknod",
          "lease",
          "audit_write",
          "audit_control",
          "setfcap",
          "mac_override",
          "mac_admin",
          "syslog",
          "wake_alarm",
          "block_suspend",
          "audit_read",
          "perfmon",
          "bpf",
          "checkpoint_restore");

  private static final long MAX_ID = 4294967294L;

  /** The bridge's own identity: a root bridge can switch users, another cannot. */
  record Host(long uid, long gid, Set<Long> groups) {
    static Host current() {
      return new Host(ProcFs.effectiveUid(), ProcFs.effectiveGid(), ProcFs.groups());
    }

    boolean root() {
      return uid == 0;
    }
  }

  private final Host host;
  private final long defaultUid;
  private final long defaultGid;

  SecurityContexts(Host host, long defaultUid, long defaultGid) {
    this.host = host;
    this.defaultUid = defaultUid;
    this.defaultGid = defaultGid;
  }

  Host host() {
    return host;
  }

  /** Who each container of the plan runs as, by name; refuses what cannot be enforced. */
  Map<String, RunAs> resolve(PodPlan plan) throws BackendException.InvalidPod {
    Map<String, RunAs> out = new LinkedHashMap<>();
    for (ContainerPlan c : plan.allContainers().toList()) {
      out.put(c.name(), resolve(c));
    }
    return out;
  }

  /** The owner of the pod's directories: the first container's user, fsGroup's group. */
  static Owner owner(PodPlan plan, Map<String, RunAs> runAs) {
    ContainerPlan first = plan.containers().get(0);
    RunAs r = runAs.get(first.name());
    Long fsGroup = first.security().fsGroup();
    return new Owner(r.uid(), fsGroup != null ? fsGroup : r.gid(), fsGroup != null);
  }

  RunAs resolve(ContainerPlan c) throws BackendException.InvalidPod {
    String what = "container '" + c.name() + "'";
    SecurityPlan s = c.security();
    refuseWhatCannotBeEnforced(s, what);
    Set<String> drop = dropped(s, what);
    long uid;
    long gid;
    List<Long> groups = new ArrayList<>();
    if (host.root()) {
      uid = id(s.runAsUser() != null ? s.runAsUser() : defaultUid, what, "runAsUser");
      gid = id(s.runAsGroup() != null ? s.runAsGroup() : defaultGid, what, "runAsGroup");
      Set<Long> g = new LinkedHashSet<>(s.supplementalGroups());
      if (s.fsGroup() != null) {
        g.add(s.fsGroup());
      }
      for (Long x : g) {
        groups.add(id(x, what, "supplementalGroups/fsGroup"));
      }
    } else {
      uid = host.uid();
      gid = host.gid();
      cannotSwitch(s.runAsUser(), host.uid(), what, "runAsUser", "uid");
      cannotSwitch(s.runAsGroup(), host.gid(), what, "runAsGroup", "gid");
      Set<Long> mine = new LinkedHashSet<>(host.groups());
      mine.add(host.gid());
      Set<Long> asked = new LinkedHashSet<>(s.supplementalGroups());
      if (s.fsGroup() != null) {
        asked.add(s.fsGroup());
      }
      for (Long x : asked) {
        if (!mine.contains(x)) {
          throw refuse(
              what,
              "securityContext.supplementalGroups/fsGroup " + x,
              "the bridge runs without root and cannot give a process groups it is not in " + mine);
        }
        groups.add(x);
      }
    }
    if (uid == 0 && s.requiresNonRoot()) {
      throw new BackendException.InvalidPod(
          "CreateContainerConfigError",
          what
              + ": container has runAsNonRoot and image will run as root (securityContext"
              + ".runAsUser 0)");
    }
    boolean nnp = s.noNewPrivileges();
    if (!nnp && uid != 0 && !c.mounts().isEmpty()) {
      throw refuse(
          what,
          "securityContext.allowPrivilegeEscalation: true",
          "a container that mounts volumes on the host's file system could mount over files that"
              + " setuid programs trust; the local backend allows escalation only without mounts");
    }
    List<String> caps = new ArrayList<>();
    if (uid == 0 && !drop.contains("all")) {
      ROOT_CAPABILITIES.stream().filter(x -> !drop.contains(x)).forEach(caps::add);
    }
    return new RunAs(uid, gid, groups, host.root(), nnp, caps, s.requiresNonRoot());
  }

  private static void refuseWhatCannotBeEnforced(SecurityPlan s, String what)
      throws BackendException.InvalidPod {
    if (s.privileged()) {
      throw refuse(
          what,
          "securityContext.privileged",
          "a privileged process on the host would be root with every capability and device");
    }
    if (!s.addCapabilities().isEmpty()) {
      throw refuse(
          what,
          "securityContext.capabilities.add " + s.addCapabilities(),
          "the local backend does not grant capabilities");
    }
    if (s.readOnlyRootFilesystem()) {
      throw refuse(
          what,
          "securityContext.readOnlyRootFilesystem",
          "processes share the host's root file system");
    }
    String seccomp = s.seccompProfile();
    if (seccomp != null && !seccomp.equals("RuntimeDefault") && !seccomp.equals("Unconfined")) {
      throw refuse(
          what,
          "securityContext.seccompProfile " + seccomp,
          "only RuntimeDefault and Unconfined (both: no filter) are known here");
    }
  }

  /** The dropped capabilities as setpriv names; {@code all} drops every one. */
  private static Set<String> dropped(SecurityPlan s, String what)
      throws BackendException.InvalidPod {
    Set<String> out = new LinkedHashSet<>();
    for (String d : s.dropCapabilities()) {
      String n = d == null ? "" : d.strip().toLowerCase(Locale.ROOT);
      if (n.startsWith("cap_")) {
        n = n.substring(4);
      }
      if (!n.equals("all") && !KNOWN_CAPABILITIES.contains(n)) {
        throw refuse(what, "securityContext.capabilities.drop " + d, "not a Linux capability");
      }
      out.add(n);
    }
    return out;
  }

  private static void cannotSwitch(Long asked, long mine, String what, String field, String kind)
      throws BackendException.InvalidPod {
    if (asked != null && asked != mine) {
      throw refuse(
          what,
          "securityContext." + field + " " + asked,
          "the bridge runs without root as "
              + kind
              + " "
              + mine
              + " and cannot switch; its pods run as "
              + kind
              + " "
              + mine);
    }
  }

  private static long id(long v, String what, String field) throws BackendException.InvalidPod {
    if (v < 0 || v > MAX_ID) {
      throw new BackendException.InvalidPod(
          "InvalidSecurityContext",
          what + ": securityContext." + field + " " + v + " is not a valid id");
    }
    return v;
  }

  private static BackendException.InvalidPod refuse(String what, String field, String why) {
    return new BackendException.InvalidPod(
        UNSUPPORTED, what + ": " + field + " is not supported by the local backend: " + why);
  }
}
