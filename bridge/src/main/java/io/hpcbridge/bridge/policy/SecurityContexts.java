package io.hpcbridge.bridge.policy;

import io.fabric8.kubernetes.api.model.AppArmorProfile;
import io.fabric8.kubernetes.api.model.Capabilities;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.SeccompProfile;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.bridge.plan.PlanException;
import java.util.List;
import java.util.Map;

/**
 * Turns a container's securityContext, with its pod's defaults, into the {@link SecurityPlan}
 * backends honour — the kubelet's merge: a container field wins over the pod's. A field no backend
 * can honour (SELinux, Windows, sysctls, a localhost seccomp or AppArmor profile, an unmasked
 * /proc, a field this bridge does not know) refuses the pod: nothing is silently dropped.
 */
public final class SecurityContexts {
  static final String UNSUPPORTED = "UnsupportedSecurityContext";
  private static final String APPARMOR_ANNOTATION =
      "container.apparmor.security.beta.kubernetes.io/";

  private SecurityContexts() {}

  /**
   * Refuses pod fields that ask for an isolation no backend gives (a sandboxing runtime class, user
   * namespaces, a shared PID namespace).
   */
  public static void refusePodFields(Pod pod) throws PlanException {
    var spec = pod.getSpec();
    if (spec.getRuntimeClassName() != null && !spec.getRuntimeClassName().isEmpty()) {
      throw unsupported(
          "spec.runtimeClassName: "
              + spec.getRuntimeClassName()
              + " is not a runtime of this node");
    }
    if (Boolean.FALSE.equals(spec.getHostUsers())) {
      throw unsupported("spec.hostUsers: user namespaces cannot be given by this node");
    }
    if (Boolean.TRUE.equals(spec.getShareProcessNamespace())) {
      throw unsupported(
          "spec.shareProcessNamespace: a shared PID namespace cannot be given by this node");
    }
    if (spec.getOs() != null
        && spec.getOs().getName() != null
        && !"linux".equals(spec.getOs().getName())) {
      throw unsupported("spec.os.name: this node runs Linux pods only");
    }
  }

  /** Refuses mount options no backend gives. */
  public static void refuseMountFields(Container c, io.fabric8.kubernetes.api.model.VolumeMount m)
      throws PlanException {
    String w = "container " + c.getName() + ": volumeMounts[" + m.getName() + "].";
    if (m.getMountPropagation() != null && !"None".equals(m.getMountPropagation())) {
      throw unsupported(
          w + "mountPropagation: only None can be honoured, got " + m.getMountPropagation());
    }
    if (m.getRecursiveReadOnly() != null && !"Disabled".equals(m.getRecursiveReadOnly())) {
      throw unsupported(
          w + "recursiveReadOnly: only Disabled can be honoured, got " + m.getRecursiveReadOnly());
    }
  }

  /** The security plan of container {@code c} of {@code pod}. */
  public static SecurityPlan of(Pod pod, Container c) throws PlanException {
    PodSecurityContext p = pod.getSpec().getSecurityContext();
    SecurityContext s = c.getSecurityContext();
    String where = "container " + c.getName() + ": securityContext.";
    if (p != null) {
      refusePod(p);
    }
    if (s != null) {
      refuseContainer(s, where);
    }
    String apparmor = annotation(pod, APPARMOR_ANNOTATION + c.getName());
    if (apparmor != null && !apparmor.equals("runtime/default")) {
      throw unsupported(
          "annotation "
              + APPARMOR_ANNOTATION
              + c.getName()
              + ": only runtime/default can be honoured, got '"
              + apparmor
              + "'");
    }
    Capabilities caps = s == null ? null : s.getCapabilities();
    return new SecurityPlan(
        first(s == null ? null : s.getRunAsUser(), p == null ? null : p.getRunAsUser()),
        first(s == null ? null : s.getRunAsGroup(), p == null ? null : p.getRunAsGroup()),
        first(s == null ? null : s.getRunAsNonRoot(), p == null ? null : p.getRunAsNonRoot()),
        p == null ? List.of() : list(p.getSupplementalGroups()),
        p == null ? null : p.getFsGroup(),
        s != null && Boolean.TRUE.equals(s.getPrivileged()),
        s == null ? null : s.getAllowPrivilegeEscalation(),
        caps == null ? List.of() : list(caps.getAdd()),
        caps == null ? List.of() : list(caps.getDrop()),
        s != null && Boolean.TRUE.equals(s.getReadOnlyRootFilesystem()),
        seccomp(
            first(
                s == null ? null : s.getSeccompProfile(), p == null ? null : p.getSeccompProfile()),
            s != null && s.getSeccompProfile() != null ? where : "securityContext."));
  }

  private static void refusePod(PodSecurityContext p) throws PlanException {
    String w = "securityContext.";
    unknown(p.getAdditionalProperties(), w);
    if (p.getSeLinuxOptions() != null) {
      throw unsupported(w + "seLinuxOptions: SELinux labels cannot be applied by this node");
    }
    if (p.getWindowsOptions() != null) {
      throw unsupported(w + "windowsOptions: this node runs Linux pods only");
    }
    if (p.getSysctls() != null && !p.getSysctls().isEmpty()) {
      throw unsupported(w + "sysctls: namespaced sysctls cannot be set by this node");
    }
    if ("Strict".equals(p.getSupplementalGroupsPolicy())) {
      throw unsupported(w + "supplementalGroupsPolicy: only Merge can be honoured");
    }
    apparmor(p.getAppArmorProfile(), w);
  }

  private static void refuseContainer(SecurityContext s, String w) throws PlanException {
    unknown(s.getAdditionalProperties(), w);
    if (s.getSeLinuxOptions() != null) {
      throw unsupported(w + "seLinuxOptions: SELinux labels cannot be applied by this node");
    }
    if (s.getWindowsOptions() != null) {
      throw unsupported(w + "windowsOptions: this node runs Linux pods only");
    }
    if (s.getProcMount() != null && !s.getProcMount().equals("Default")) {
      throw unsupported(w + "procMount: only Default can be honoured, got " + s.getProcMount());
    }
    apparmor(s.getAppArmorProfile(), w);
  }

  private static void apparmor(AppArmorProfile a, String w) throws PlanException {
    if (a != null && !"RuntimeDefault".equals(a.getType())) {
      throw unsupported(
          w + "appArmorProfile: only RuntimeDefault can be honoured, got " + a.getType());
    }
  }

  private static void unknown(Map<String, Object> extra, String w) throws PlanException {
    if (extra != null && !extra.isEmpty()) {
      throw unsupported(
          w + String.join(", ", extra.keySet()) + ": not a field this node knows how to honour");
    }
  }

  private static String seccomp(SeccompProfile p, String w) throws PlanException {
    if (p == null || p.getType() == null) {
      return null;
    }
    return switch (p.getType()) {
      case "RuntimeDefault", "Unconfined" -> p.getType();
      default ->
          throw unsupported(
              w
                  + "seccompProfile: only RuntimeDefault and Unconfined can be honoured, got "
                  + p.getType());
    };
  }

  private static String annotation(Pod pod, String key) {
    Map<String, String> a = pod.getMetadata().getAnnotations();
    return a == null ? null : a.get(key);
  }

  private static PlanException unsupported(String message) {
    return new PlanException.Invalid(UNSUPPORTED, message);
  }

  private static <T> T first(T a, T b) {
    return a != null ? a : b;
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
