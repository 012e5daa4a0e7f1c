package io.hpcbridge.bridge.policy;

import static io.hpcbridge.bridge.policy.Policy.on;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.bridge.plan.PlanException;
import java.nio.file.Path;
import java.time.Duration;
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
    slurm(p, plan);
    List<String> hosts =
        p.docker() == null || p.docker().hosts() == null ? List.of() : p.docker().hosts();
    return plan.withPlacement(plan.hostAccess(), hosts);
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
    }
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

  private void slurm(Policy p, PodPlan plan) throws PlanException {
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
    if (chosen.isEmpty()) {
      return;
    }
    Policy.Slurm s =
        p.slurm() == null
            ? new Policy.Slurm(null, null, null, null, null, null, null, null)
            : p.slurm();
    listed(chosen, Backend.CHOICE_RUNTIME, s.runtimes(), "policy.slurm.runtimes");
    listed(chosen, Backend.CHOICE_PARTITION, s.partitions(), "policy.slurm.partitions");
    listed(chosen, Backend.CHOICE_ACCOUNT, s.accounts(), "policy.slurm.accounts");
    listed(chosen, Backend.CHOICE_QOS, s.qos(), "policy.slurm.qos");
    if (s.flavors() != null) {
      listed(chosen, Backend.CHOICE_PRESET, s.flavors(), "policy.slurm.flavors");
    }
    String nodes = chosen.get(Backend.CHOICE_NODES);
    int max = s.maxNodes() == null ? 1 : s.maxNodes();
    if (nodes != null && Long.parseLong(nodes) > max) {
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
    String time = chosen.get(Backend.CHOICE_TIME);
    if (time != null
        && s.maxTime() != null
        && Duration.ofSeconds(Long.parseLong(time)).compareTo(s.maxTime()) > 0) {
      throw violation(
          "time limit of "
              + time
              + "s (annotation time or activeDeadlineSeconds) is more than policy.slurm.maxTime ("
              + s.maxTime().toSeconds()
              + "s)");
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
