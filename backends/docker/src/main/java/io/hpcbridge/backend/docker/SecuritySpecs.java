package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.SecurityPlan;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * A container's securityContext ({@link SecurityPlan}) in Docker's terms. Pure, unit tested.
 *
 * <ul>
 *   <li>runAsUser / runAsGroup: the container's {@code User} as {@code uid:gid} (with only a group,
 *       the image's user and that group);
 *   <li>supplementalGroups and fsGroup: {@code GroupAdd} (the kubelet adds fsGroup to the process's
 *       groups too);
 *   <li>capabilities: {@code CapAdd} / {@code CapDrop} ({@code ALL} included);
 *   <li>readOnlyRootFilesystem: {@code ReadonlyRootfs};
 *   <li>allowPrivilegeEscalation unset or false: security option {@code no-new-privileges};
 *   <li>privileged: {@code Privileged} (the bridge's policy only lets it through when allowed);
 *   <li>seccompProfile Unconfined: {@code seccomp=unconfined}; RuntimeDefault and unset: Docker's
 *       default profile. Localhost profiles would name a file on the Docker host: refused.
 * </ul>
 *
 * runAsNonRoot is checked when the container is about to be created, against the image's user
 * ({@link #nonRootViolation}).
 */
final class SecuritySpecs {
  private SecuritySpecs() {}

  /** The highest uid or gid Kubernetes accepts. */
  static final long MAX_ID = Integer.MAX_VALUE;

  static final String UNSUPPORTED = "UnsupportedSecurityContext";

  /**
   * fsGroup is the pod's: its volumes have one group. Containers that disagree cannot be honoured.
   */
  static void validatePod(java.util.Collection<ContainerPlan> containers)
      throws BackendException.InvalidPod {
    Long first = null;
    for (ContainerPlan c : containers) {
      Long g = c.security().fsGroup();
      if (g == null) {
        continue;
      }
      if (first != null && !first.equals(g)) {
        throw unsupported(
            c,
            "fsGroup",
            g
                + " differs from another container's "
                + first
                + " (the pod's volumes have one group)");
      }
      first = g;
    }
  }

  /** Refuses, naming the field and the container, what this backend cannot enforce. */
  static void validate(ContainerPlan c) throws BackendException.InvalidPod {
    SecurityPlan s = c.security();
    id(c, "runAsUser", s.runAsUser());
    id(c, "runAsGroup", s.runAsGroup());
    id(c, "fsGroup", s.fsGroup());
    for (Long g : s.supplementalGroups()) {
      id(c, "supplementalGroups", g);
    }
    capabilities(c, "capabilities.add", s.addCapabilities());
    capabilities(c, "capabilities.drop", s.dropCapabilities());
    String p = s.seccompProfile();
    if (p != null && !p.equals("RuntimeDefault") && !p.equals("Unconfined")) {
      throw unsupported(
          c,
          "seccompProfile",
          "type "
              + quoted(p)
              + " is not supported by the docker backend (RuntimeDefault or Unconfined)");
    }
  }

  private static void id(ContainerPlan c, String field, Long id)
      throws BackendException.InvalidPod {
    if (id != null && (id < 0 || id > MAX_ID)) {
      throw unsupported(c, field, id + " is not between 0 and " + MAX_ID);
    }
  }

  private static void capabilities(ContainerPlan c, String field, List<String> names)
      throws BackendException.InvalidPod {
    for (String n : names) {
      if (capability(n) == null) {
        throw unsupported(c, field, "unknown capability " + quoted(n));
      }
    }
  }

  private static BackendException.InvalidPod unsupported(
      ContainerPlan c, String field, String problem) {
    return new BackendException.InvalidPod(
        UNSUPPORTED, "container " + c.name() + ": securityContext." + field + ": " + problem);
  }

  /** A name for messages: at most 64 characters of what the pod wrote, quoted. */
  private static String quoted(String s) {
    String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
    return "\"" + t.replaceAll("[^\\x20-\\x7e…]", "?") + "\"";
  }

  /** {@code NET_ADMIN}, {@code CAP_NET_ADMIN} or {@code net_admin}; null when Docker knows none. */
  static Capability capability(String name) {
    if (name == null) {
      return null;
    }
    String n = name.trim().toUpperCase(Locale.ROOT);
    if (n.startsWith("CAP_")) {
      n = n.substring(4);
    }
    if (!n.matches("[A-Z_]{1,32}")) {
      return null;
    }
    for (Capability c : Capability.values()) {
      if (c.name().equals(n)) {
        return c;
      }
    }
    return null;
  }

  /**
   * The container's {@code User}: {@code uid}, {@code uid:gid}, or with only a group the image's
   * user with that group; null keeps the image's user.
   */
  static String user(SecurityPlan s, String imageUser) {
    if (s.runAsUser() == null && s.runAsGroup() == null) {
      return null;
    }
    String uid;
    if (s.runAsUser() != null) {
      uid = Long.toString(s.runAsUser());
    } else {
      String u = imageUser == null ? "" : imageUser.trim();
      int colon = u.indexOf(':');
      uid = colon >= 0 ? u.substring(0, colon) : u;
      if (uid.isEmpty()) {
        uid = "0";
      }
    }
    return s.runAsGroup() == null ? uid : uid + ":" + s.runAsGroup();
  }

  /** Applies everything but the user to the container's host config. */
  static void apply(SecurityPlan s, HostConfig hc) {
    Set<String> groups = new LinkedHashSet<>();
    s.supplementalGroups().forEach(g -> groups.add(Long.toString(g)));
    if (s.fsGroup() != null) {
      groups.add(Long.toString(s.fsGroup()));
    }
    if (!groups.isEmpty()) {
      hc.withGroupAdd(new ArrayList<>(groups));
    }
    if (!s.addCapabilities().isEmpty()) {
      hc.withCapAdd(
          s.addCapabilities().stream().map(SecuritySpecs::capability).toArray(Capability[]::new));
    }
    if (!s.dropCapabilities().isEmpty()) {
      hc.withCapDrop(
          s.dropCapabilities().stream().map(SecuritySpecs::capability).toArray(Capability[]::new));
    }
    if (s.readOnlyRootFilesystem()) {
      hc.withReadonlyRootfs(true);
    }
    if (s.privileged()) {
      hc.withPrivileged(true);
    }
    List<String> opts = new ArrayList<>();
    if (s.noNewPrivileges()) {
      opts.add("no-new-privileges");
    }
    if ("Unconfined".equals(s.seccompProfile())) {
      opts.add("seccomp=unconfined");
    }
    if (!opts.isEmpty()) {
      hc.withSecurityOpts(opts);
    }
  }

  /**
   * Why the container must not start under runAsNonRoot, in the kubelet's words, or null when it
   * may: a runAsUser of 0, or without runAsUser an image that runs as root or as a user name whose
   * uid cannot be known.
   */
  static String nonRootViolation(PodRef pod, ContainerPlan c, String imageUser) {
    SecurityPlan s = c.security();
    if (!s.requiresNonRoot()) {
      return null;
    }
    String where =
        "(pod: \""
            + pod.name()
            + "_"
            + pod.namespace()
            + "("
            + pod.uid()
            + ")\", container: "
            + c.name()
            + ")";
    if (s.runAsUser() != null) {
      return s.runAsUser() == 0 ? "container's runAsUser breaks non-root policy " + where : null;
    }
    String u = imageUser == null ? "" : imageUser.trim();
    int colon = u.indexOf(':');
    String uid = colon >= 0 ? u.substring(0, colon) : u;
    if (uid.isEmpty() || uid.equals("root") || uid.matches("0+")) {
      return "container has runAsNonRoot and image will run as root " + where;
    }
    if (!uid.matches("[0-9]+")) {
      return "container has runAsNonRoot and image has non-numeric user ("
          + (uid.length() > 64 ? uid.substring(0, 64) + "…" : uid)
          + "), cannot verify user is non-root "
          + where;
    }
    return null;
  }
}
