package io.hpcbridge.bridge.plan;

import static io.hpcbridge.bridge.plan.EnvResolver.nullSafe;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.bridge.policy.PolicyChecker;
import io.hpcbridge.bridge.policy.SecurityContexts;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns a pod into a backend-neutral {@link PodPlan}: env resolved, ConfigMap/Secret/downwardAPI
 * files materialized, resources in plain units. The same code serves {@code serve} and {@code run}.
 */
public final class PlanBuilder {

  static final int CONFIG_MODE = 0644;

  /** Secrets are written owner-only unless the pod asks for another mode. */
  static final int SECRET_MODE = 0600;

  /**
   * The API server fills in defaultMode 0644 on every secret volume, so 0644 cannot be told apart
   * from "not set": both give owner-only files. Any other mode is honoured.
   */
  static int secretMode(Integer defaultMode) {
    return defaultMode == null || defaultMode == CONFIG_MODE ? SECRET_MODE : defaultMode;
  }

  private final EnvResolver env;
  private final VolumePlanner volumes;
  private final PolicyChecker policy;

  /**
   * @param policy what pods may ask for; null only where no pod will run (tests of the plan alone)
   */
  public PlanBuilder(
      ObjectSource objects, Map<String, String> serviceEnv, NodeFacts node, PolicyChecker policy) {
    this.env = new EnvResolver(objects, serviceEnv, node);
    this.volumes = new VolumePlanner(objects, env);
    this.policy = policy;
  }

  /** A plan builder without a policy: for tests of the plan itself. */
  PlanBuilder(ObjectSource objects, Map<String, String> serviceEnv, NodeFacts node) {
    this(objects, serviceEnv, node, null);
  }

  /**
   * The plan, anything worth a Warning event that did not stop it, and the service account tokens
   * in it (to be rotated while the pod runs).
   */
  public record Result(PodPlan plan, List<String> warnings, List<TokenSource> tokens) {}

  /**
   * A projected service account token in a plan.
   *
   * @param volume the projected volume
   * @param path the token file's path in it
   * @param serviceAccount the pod's service account
   * @param audience the audience asked for, or null
   * @param expirationSeconds the lifetime asked for
   * @param issued when this token was issued
   * @param expires when it expires
   */
  public record TokenSource(
      String volume,
      String path,
      String serviceAccount,
      String audience,
      long expirationSeconds,
      java.time.Instant issued,
      java.time.Instant expires) {}

  public Result build(Pod pod) throws PlanException {
    var md = pod.getMetadata();
    var spec = pod.getSpec();
    if (spec == null || nullSafe(spec.getContainers()).isEmpty()) {
      throw new PlanException.Invalid("InvalidPod", "the pod has no containers");
    }
    SecurityContexts.refusePodFields(pod);
    List<String> warnings = new ArrayList<>();
    List<TokenSource> tokens = new ArrayList<>();
    List<VolumePlan> vols = new ArrayList<>();
    for (Volume v : nullSafe(spec.getVolumes())) {
      vols.add(volumes.volume(pod, v, warnings, tokens));
    }
    Set<String> volumeNames = new java.util.HashSet<>();
    vols.forEach(v -> volumeNames.add(v.name()));

    List<ContainerPlan> init = new ArrayList<>();
    for (Container c : nullSafe(spec.getInitContainers())) {
      init.add(container(pod, c, volumeNames, warnings));
    }
    List<ContainerPlan> main = new ArrayList<>();
    for (Container c : spec.getContainers()) {
      main.add(container(pod, c, volumeNames, warnings));
    }
    PodPlan.RestartPolicy restart;
    try {
      restart = PodPlan.RestartPolicy.fromKubernetes(spec.getRestartPolicy());
    } catch (IllegalArgumentException e) {
      throw new PlanException.Invalid("InvalidRestartPolicy", e.getMessage());
    }
    long grace =
        spec.getTerminationGracePeriodSeconds() == null
            ? 30
            : spec.getTerminationGracePeriodSeconds();
    Optional<Duration> deadline =
        Optional.ofNullable(spec.getActiveDeadlineSeconds()).map(Duration::ofSeconds);
    PodPlan plan =
        new PodPlan(
            new PodRef(md.getNamespace(), md.getName(), md.getUid()),
            spec.getNodeName(),
            init,
            main,
            vols,
            restart,
            Duration.ofSeconds(Math.max(0, grace)),
            deadline,
            nullSafe(md.getLabels()),
            nullSafe(md.getAnnotations()),
            new PodPlan.HostAccess(
                Boolean.TRUE.equals(spec.getHostNetwork()),
                Boolean.TRUE.equals(spec.getHostPID()),
                Boolean.TRUE.equals(spec.getHostIPC())),
            List.of());
    if (policy != null) {
      plan = policy.admit(plan);
    }
    // Only a plan the policy allowed costs the API server a token.
    return new Result(volumes.mintTokens(plan, tokens, warnings), warnings, tokens);
  }

  private ContainerPlan container(
      Pod pod, Container c, Set<String> volumeNames, List<String> warnings) throws PlanException {
    EnvResolver.Resolved resolved = env.resolve(pod, c);
    warnings.addAll(resolved.warnings());
    Map<String, String> vars = resolved.env();
    List<String> command =
        nullSafe(c.getCommand()).stream().map(s -> EnvResolver.expand(s, vars)).toList();
    List<String> args =
        nullSafe(c.getArgs()).stream().map(s -> EnvResolver.expand(s, vars)).toList();
    List<ContainerPlan.Mount> mounts = new ArrayList<>();
    for (VolumeMount m : nullSafe(c.getVolumeMounts())) {
      SecurityContexts.refuseMountFields(c, m);
      if (!volumeNames.contains(m.getName())) {
        throw new PlanException.Invalid(
            "InvalidVolumeMount",
            "container " + c.getName() + " mounts unknown volume " + m.getName());
      }
      if (m.getMountPath() == null || !m.getMountPath().startsWith("/")) {
        throw new PlanException.Invalid(
            "InvalidVolumeMount",
            "container " + c.getName() + ": mountPath must be absolute: " + m.getMountPath());
      }
      String subPath = m.getSubPath();
      if (m.getSubPathExpr() != null && !m.getSubPathExpr().isEmpty()) {
        subPath = EnvResolver.expand(m.getSubPathExpr(), vars);
      }
      if (subPath != null
          && (subPath.startsWith("/") || List.of(subPath.split("/")).contains(".."))) {
        throw new PlanException.Invalid(
            "InvalidVolumeMount",
            "container " + c.getName() + ": subPath must stay inside: " + subPath);
      }
      mounts.add(
          new ContainerPlan.Mount(
              m.getName(),
              m.getMountPath(),
              subPath == null || subPath.isEmpty() ? null : subPath,
              Boolean.TRUE.equals(m.getReadOnly())));
    }
    List<ContainerPlan.Port> ports = new ArrayList<>();
    for (ContainerPort p : nullSafe(c.getPorts())) {
      ports.add(
          new ContainerPlan.Port(
              p.getName(),
              p.getContainerPort() == null ? 0 : p.getContainerPort(),
              p.getHostPort() == null ? 0 : p.getHostPort(),
              p.getProtocol() == null ? "TCP" : p.getProtocol()));
    }
    return new ContainerPlan(
        c.getName(),
        c.getImage(),
        c.getImagePullPolicy(),
        command,
        args,
        c.getWorkingDir() == null || c.getWorkingDir().isEmpty() ? null : c.getWorkingDir(),
        vars,
        resolved.secretKeys(),
        resources(c),
        mounts,
        ports,
        SecurityContexts.of(pod, c));
  }

  static Resources resources(Container c) throws PlanException {
    if (c.getResources() == null) {
      return Resources.NONE;
    }
    Map<String, Quantity> req = nullSafe(c.getResources().getRequests());
    Map<String, Quantity> lim = nullSafe(c.getResources().getLimits());
    try {
      Map<String, Long> extended = new TreeMap<>();
      for (String k : union(req.keySet(), lim.keySet())) {
        if (k.contains("/") && !k.equals("nvidia.com/gpu")) {
          extended.put(k, Quantities.amount(lim.getOrDefault(k, req.get(k))));
        }
      }
      return new Resources(
          Quantities.cpuMillis(req.get("cpu")),
          Quantities.cpuMillis(lim.get("cpu")),
          Quantities.amount(req.get("memory")),
          Quantities.amount(lim.get("memory")),
          Quantities.amount(lim.getOrDefault("nvidia.com/gpu", req.get("nvidia.com/gpu"))),
          extended);
    } catch (RuntimeException e) {
      throw new PlanException.Invalid(
          "InvalidResources",
          "container " + c.getName() + ": bad resource quantity: " + e.getMessage());
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    Set<String> out = new java.util.TreeSet<>(a);
    out.addAll(b);
    return out;
  }

  /** The pod's service account, {@code default} when unset. */
  static String serviceAccount(Pod pod) {
    String sa = pod.getSpec().getServiceAccountName();
    return sa == null || sa.isEmpty() ? "default" : sa;
  }

  static List<Container> allContainers(Pod pod) {
    List<Container> out = new ArrayList<>(nullSafe(pod.getSpec().getInitContainers()));
    out.addAll(nullSafe(pod.getSpec().getContainers()));
    return out;
  }
}
