package io.hpcbridge.bridge.policy;

import static io.hpcbridge.bridge.policy.Policy.on;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.bridge.plan.PlanException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Enforces the {@link Policy} on a plan before any backend is called: each refusal is a {@link
 * PlanException.Invalid} with reason {@code PolicyViolation} and a message naming the field and the
 * rule (the config key that would open the door). Also checks what the pod chose of the backend's
 * own options ({@link Backend#choices}) and tells the backend which hosts the pod may use.
 */
public final class PolicyChecker {
  static final String REASON = "PolicyViolation";

  /** The backend's choices of a plan; may throw the backend's own refusal. */
  @FunctionalInterface
  public interface Choices {
    Map<String, String> of(PodPlan plan) throws Exception;
  }

  private final Policy policy;
  private final Choices choices;

  public PolicyChecker(Policy policy, Choices choices) {
    this.policy = policy == null ? Policy.CLOSED : policy;
    this.choices = choices;
  }

  /** The plan, with the hosts it may use, if the namespace's policy allows it. */
  public PodPlan admit(PodPlan plan) throws PlanException {
    Policy p = policy.forNamespace(plan.pod().namespace());
    for (VolumePlan v : plan.volumes()) {
      if (v.type() == VolumePlan.Type.HOST_PATH) {
        hostPath(p, v);
      }
    }
    PodPlan.HostAccess h = plan.hostAccess();
    door(h.network() && !on(p.hostNetwork()), "spec.hostNetwork", "policy.hostNetwork");
    door(h.pid() && !on(p.hostPID()), "spec.hostPID", "policy.hostPID");
    door(h.ipc() && !on(p.hostIPC()), "spec.hostIPC", "policy.hostIPC");
    for (ContainerPlan c : plan.allContainers().toList()) {
      container(p, c);
    }
    if (on(p.requireNonRoot())) {
      plan =
          plan.withContainers(
              plan.initContainers().stream().map(PolicyChecker::nonRoot).toList(),
              plan.containers().stream().map(PolicyChecker::nonRoot).toList());
    }
    plan = slurm(p, plan);
    List<String> hosts = List.of();
    if (p.docker() != null && p.docker().hosts() != null) {
      hosts = p.docker().hosts();
      if (hosts.isEmpty()) {
        throw violation(
            "namespace "
                + plan.pod().namespace()
                + " may use no Docker host (policy.docker.hosts is empty)");
      }
    }
    return plan.withPlacement(plan.hostAccess(), hosts);
  }

  private static ContainerPlan nonRoot(ContainerPlan c) {
    SecurityPlan s = c.security();
    return c.withSecurity(
        new SecurityPlan(
            s.runAsUser(),
            s.runAsGroup(),
            true,
            s.supplementalGroups(),
            s.fsGroup(),
            s.privileged(),
            s.allowPrivilegeEscalation(),
            s.addCapabilities(),
            s.dropCapabilities(),
            s.readOnlyRootFilesystem(),
            s.seccompProfile()));
  }

  private static void container(Policy p, ContainerPlan c) throws PlanException {
    String w = "container " + c.name() + ": ";
    SecurityPlan s = c.security();
    door(
        s.privileged() && !on(p.privileged()),
        w + "securityContext.privileged",
        "policy.privileged");
    for (String cap : s.addCapabilities()) {
      String name = capability(cap);
      boolean allowed =
          p.capabilities() != null
              && p.capabilities().stream().anyMatch(a -> capability(a).equals(name));
      if (!allowed) {
        throw violation(
            w
                + "securityContext.capabilities.add "
                + cap
                + " is not allowed (policy.capabilities allows "
                + (p.capabilities() == null || p.capabilities().isEmpty()
                    ? "none"
                    : String.join(", ", p.capabilities()))
                + ")");
      }
    }
    if (s.runAsUser() != null && s.runAsUser() == 0) {
      if (s.requiresNonRoot()) {
        throw violation(w + "securityContext.runAsUser is 0 but runAsNonRoot is true");
      }
      door(!on(p.runAsRoot()), w + "securityContext.runAsUser: 0", "policy.runAsRoot");
      door(
          on(p.requireNonRoot()),
          w + "securityContext.runAsUser: 0",
          "policy.requireNonRoot is true;" + " policy.runAsRoot");
    } else if (s.runAsUser() != null) {
      id(p.runAsUsers(), s.runAsUser(), w + "securityContext.runAsUser", "policy.runAsUsers");
    }
    if (s.runAsGroup() != null) {
      group(p, s.runAsGroup(), w + "securityContext.runAsGroup");
    }
    for (Long g : s.supplementalGroups()) {
      group(p, g, "securityContext.supplementalGroups");
    }
    if (s.fsGroup() != null) {
      group(p, s.fsGroup(), "securityContext.fsGroup");
    }
    door(
        Boolean.TRUE.equals(s.allowPrivilegeEscalation())
            && !s.privileged()
            && !on(p.allowPrivilegeEscalation()),
        w + "securityContext.allowPrivilegeEscalation: true",
        "policy.allowPrivilegeEscalation");
    door(
        "Unconfined".equals(s.seccompProfile()) && !on(p.seccompUnconfined()),
        w + "securityContext.seccompProfile Unconfined",
        "policy.seccompUnconfined");
    for (ContainerPlan.Port port : c.ports()) {
      door(
          port.hostPort() != 0 && !on(p.hostPorts()),
          w + "ports.hostPort " + port.hostPort(),
          "policy.hostPorts");
    }
  }

  /** Group 0 is root's: the same door as uid 0. Other gids must be listed. */
  private static void group(Policy p, long gid, String what) throws PlanException {
    if (gid == 0) {
      door(!on(p.runAsRoot()), what + ": 0", "policy.runAsRoot");
      return;
    }
    id(p.runAsGroups(), gid, what, "policy.runAsGroups");
  }

  private static void id(List<String> allowed, long id, String what, String rule)
      throws PlanException {
    if (!IdRanges.contains(allowed, id)) {
      throw violation(
          what
              + " "
              + id
              + " is not allowed ("
              + rule
              + " allows "
              + (allowed == null || allowed.isEmpty() ? "none" : String.join(", ", allowed))
              + ")");
    }
  }

  private static void hostPath(Policy p, VolumePlan v) throws PlanException {
    String raw = v.hostPath() == null ? "" : v.hostPath();
    String what = "volume " + v.name() + ": hostPath " + raw;
    if (!raw.startsWith("/") || raw.indexOf('\0') >= 0 || List.of(raw.split("/")).contains("..")) {
      throw violation(what + " must be an absolute path without '..'");
    }
    Path path = Path.of(raw).normalize();
    List<String> prefixes = p.hostPathPrefixes() == null ? List.of() : p.hostPathPrefixes();
    for (String prefix : prefixes) {
      if (path.startsWith(Path.of(prefix).normalize())) {
        return;
      }
    }
    throw violation(
        what
            + " is not allowed (policy.hostPathPrefixes allows "
            + (prefixes.isEmpty() ? "none" : String.join(", ", prefixes))
            + ")");
  }

  /** What the pod chose of the backend's options; the plan with the policy's time cap. */
  private PodPlan slurm(Policy p, PodPlan plan) throws PlanException {
    Map<String, String> chosen;
    try {
      chosen = choices == null ? Map.of() : choices.of(plan);
    } catch (PlanException e) {
      throw e;
    } catch (io.hpcbridge.backend.BackendException.InvalidPod e) {
      throw new PlanException.Invalid(e.reason(), e.getMessage());
    } catch (Exception e) {
      throw new PlanException.Invalid("InvalidPod", String.valueOf(e.getMessage()));
    }
    Policy.Slurm s =
        p.slurm() == null
            ? new Policy.Slurm(null, null, null, null, null, null, null, null, null)
            : p.slurm();
    listed(chosen, Backend.CHOICE_RUNTIME, s.runtimes(), "policy.slurm.runtimes");
    listed(chosen, Backend.CHOICE_PARTITION, s.partitions(), "policy.slurm.partitions");
    listed(chosen, Backend.CHOICE_ACCOUNT, s.accounts(), "policy.slurm.accounts");
    listed(chosen, Backend.CHOICE_QOS, s.qos(), "policy.slurm.qos");
    listed(chosen, Backend.CHOICE_PRESET, s.flavors(), "policy.slurm.flavors");
    listed(chosen, Backend.CHOICE_RESERVATION, s.reservations(), "policy.slurm.reservations");
    String nodes = chosen.get(Backend.CHOICE_NODES);
    int max = s.maxNodes() == null ? 1 : s.maxNodes();
    if (nodes != null && number(nodes, Backend.CHOICE_NODES) > max) {
      throw violation(
          "annotation "
              + Backend.CHOICE_NODES
              + ": "
              + nodes
              + " nodes is more than policy.slurm.maxNodes ("
              + max
              + ")");
    }
    door(
        "true".equals(chosen.get(Backend.CHOICE_EXCLUSIVE)) && !on(s.exclusive()),
        "annotation " + Backend.CHOICE_EXCLUSIVE,
        "policy.slurm.exclusive");
    if (s.maxTime() == null) {
      return plan;
    }
    String time = chosen.get(Backend.CHOICE_TIME);
    long seconds = time == null ? 0 : number(time, Backend.CHOICE_TIME);
    if (time != null && (seconds <= 0 || seconds > s.maxTime().toSeconds())) {
      throw violation(
          "time limit of "
              + (seconds <= 0 ? "0 (unlimited)" : seconds + "s")
              + " (annotation time or activeDeadlineSeconds) is more than policy.slurm.maxTime ("
              + s.maxTime().toSeconds()
              + "s)");
    }
    // Nothing chosen: the policy's limit, not the partition's (which may be unlimited).
    return time == null ? plan.withDeadline(s.maxTime()) : plan;
  }

  private static long number(String value, String key) throws PlanException {
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw violation("annotation " + key + ": '" + value + "' is not a number this node accepts");
    }
  }

  private static void listed(
      Map<String, String> chosen, String key, List<String> allowed, String rule)
      throws PlanException {
    String v = chosen.get(key);
    if (v == null || (allowed != null && allowed.contains(v))) {
      return;
    }
    throw violation(
        "annotation "
            + key
            + ": "
            + v
            + " is not allowed ("
            + rule
            + " allows "
            + (allowed == null || allowed.isEmpty()
                ? "no choice of the pod's own"
                : String.join(", ", allowed))
            + ")");
  }

  private static void door(boolean refused, String what, String rule) throws PlanException {
    if (refused) {
      throw violation(what + " is not allowed (" + rule + " is false)");
    }
  }

  private static String capability(String c) {
    String u = c.trim().toUpperCase(Locale.ROOT);
    return u.startsWith("CAP_") ? u.substring(4) : u;
  }

  private static PlanException violation(String message) {
    return new PlanException.Invalid(REASON, message);
  }
}
