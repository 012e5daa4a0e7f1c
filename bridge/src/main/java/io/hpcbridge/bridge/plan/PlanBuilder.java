package io.hpcbridge.bridge.plan;

import static io.hpcbridge.bridge.plan.EnvResolver.nullSafe;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.DownwardAPIVolumeFile;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.VolumePlan.FilePlan;
import io.hpcbridge.bridge.policy.PolicyChecker;
import io.hpcbridge.bridge.policy.SecurityContexts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
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

  private final ObjectSource objects;
  private final EnvResolver env;
  private final PolicyChecker policy;

  /**
   * @param policy what pods may ask for; null only where no pod will run (tests of the plan alone)
   */
  public PlanBuilder(
      ObjectSource objects, Map<String, String> serviceEnv, NodeFacts node, PolicyChecker policy) {
    this.objects = objects;
    this.env = new EnvResolver(objects, serviceEnv, node);
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
    List<String> warnings = new ArrayList<>();
    List<TokenSource> tokens = new ArrayList<>();
    List<VolumePlan> volumes = new ArrayList<>();
    for (Volume v : nullSafe(spec.getVolumes())) {
      volumes.add(volume(pod, v, warnings, tokens));
    }
    Set<String> volumeNames = new java.util.HashSet<>();
    volumes.forEach(v -> volumeNames.add(v.name()));

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
            volumes,
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
    return new Result(policy == null ? plan : policy.admit(plan), warnings, tokens);
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

  private VolumePlan volume(Pod pod, Volume v, List<String> warnings, List<TokenSource> tokens)
      throws PlanException {
    String ns = pod.getMetadata().getNamespace();
    if (v.getConfigMap() != null) {
      var src = v.getConfigMap();
      Optional<ConfigMap> cm = objects.configMap(ns, src.getName());
      if (cm.isEmpty()) {
        if (Boolean.TRUE.equals(src.getOptional())) {
          return new VolumePlan(v.getName(), VolumePlan.Type.CONFIG_MAP, List.of(), null, false);
        }
        throw new PlanException.Missing(
            "FailedMount",
            "MountVolume.SetUp failed for volume \""
                + v.getName()
                + "\": configmap \""
                + src.getName()
                + "\" not found");
      }
      int mode = src.getDefaultMode() == null ? CONFIG_MODE : src.getDefaultMode();
      return new VolumePlan(
          v.getName(),
          VolumePlan.Type.CONFIG_MAP,
          keyFiles(
              configMapBytes(cm.get()),
              src.getItems(),
              mode,
              "configmap " + src.getName(),
              src.getOptional()),
          null,
          false);
    }
    if (v.getSecret() != null) {
      var src = v.getSecret();
      Optional<Secret> s = objects.secret(ns, src.getSecretName());
      if (s.isEmpty()) {
        if (Boolean.TRUE.equals(src.getOptional())) {
          return new VolumePlan(v.getName(), VolumePlan.Type.SECRET, List.of(), null, true);
        }
        throw new PlanException.Missing(
            "FailedMount",
            "MountVolume.SetUp failed for volume \""
                + v.getName()
                + "\": secret \""
                + src.getSecretName()
                + "\" not found");
      }
      int mode = secretMode(src.getDefaultMode());
      return new VolumePlan(
          v.getName(),
          VolumePlan.Type.SECRET,
          keyFiles(
              secretBytes(s.get()),
              src.getItems(),
              mode,
              "secret " + src.getSecretName(),
              src.getOptional()),
          null,
          true);
    }
    if (v.getDownwardAPI() != null) {
      int mode =
          v.getDownwardAPI().getDefaultMode() == null
              ? CONFIG_MODE
              : v.getDownwardAPI().getDefaultMode();
      return new VolumePlan(
          v.getName(),
          VolumePlan.Type.DOWNWARD_API,
          downwardFiles(pod, v.getDownwardAPI().getItems(), mode),
          null,
          false);
    }
    if (v.getProjected() != null) {
      return projected(pod, v, warnings, tokens);
    }
    if (v.getEmptyDir() != null) {
      return new VolumePlan(v.getName(), VolumePlan.Type.EMPTY_DIR, List.of(), null, false);
    }
    if (v.getHostPath() != null) {
      return new VolumePlan(
          v.getName(), VolumePlan.Type.HOST_PATH, List.of(), v.getHostPath().getPath(), false);
    }
    throw new PlanException.Invalid(
        "UnsupportedVolume",
        "volume \""
            + v.getName()
            + "\" has a type this node does not support ("
            + volumeType(v)
            + "); supported: configMap, secret, downwardAPI, projected, emptyDir, hostPath");
  }

  private VolumePlan projected(Pod pod, Volume v, List<String> warnings, List<TokenSource> tokens)
      throws PlanException {
    String ns = pod.getMetadata().getNamespace();
    int mode =
        v.getProjected().getDefaultMode() == null ? CONFIG_MODE : v.getProjected().getDefaultMode();
    List<FilePlan> files = new ArrayList<>();
    boolean sensitive = false;
    for (VolumeProjection p : nullSafe(v.getProjected().getSources())) {
      if (p.getConfigMap() != null) {
        var src = p.getConfigMap();
        Optional<ConfigMap> cm = objects.configMap(ns, src.getName());
        if (cm.isEmpty()) {
          if (Boolean.TRUE.equals(src.getOptional())) {
            continue;
          }
          throw new PlanException.Missing(
              "FailedMount", "configmap \"" + src.getName() + "\" not found");
        }
        files.addAll(
            keyFiles(
                configMapBytes(cm.get()),
                src.getItems(),
                mode,
                "configmap " + src.getName(),
                src.getOptional()));
      } else if (p.getSecret() != null) {
        var src = p.getSecret();
        Optional<Secret> s = objects.secret(ns, src.getName());
        if (s.isEmpty()) {
          if (Boolean.TRUE.equals(src.getOptional())) {
            continue;
          }
          throw new PlanException.Missing(
              "FailedMount", "secret \"" + src.getName() + "\" not found");
        }
        sensitive = true;
        files.addAll(
            keyFiles(
                secretBytes(s.get()),
                src.getItems(),
                mode,
                "secret " + src.getName(),
                src.getOptional()));
      } else if (p.getDownwardAPI() != null) {
        files.addAll(downwardFiles(pod, p.getDownwardAPI().getItems(), mode));
      } else if (p.getServiceAccountToken() != null) {
        // Every pod of Kubernetes >= 1.22 has one (kube-api-access-*). The token is bound to the
        // pod and rotated while it runs (TokenRotator).
        var src = p.getServiceAccountToken();
        String sa = serviceAccount(pod);
        long seconds = src.getExpirationSeconds() == null ? 3600 : src.getExpirationSeconds();
        var md = pod.getMetadata();
        var issued = java.time.Instant.now();
        Optional<ObjectSource.Token> token =
            objects.serviceAccountToken(
                new PodRef(ns, md.getName(), md.getUid()), sa, src.getAudience(), seconds);
        if (token.isEmpty()) {
          warnings.add(
              "no token for service account " + ns + "/" + sa + ": " + src.getPath() + " left out");
          continue;
        }
        sensitive = true;
        files.add(
            new FilePlan(
                src.getPath(), token.get().value().getBytes(StandardCharsets.UTF_8), SECRET_MODE));
        tokens.add(
            new TokenSource(
                v.getName(),
                src.getPath(),
                sa,
                src.getAudience(),
                seconds,
                issued,
                token.get().expires()));
      } else {
        throw new PlanException.Invalid(
            "UnsupportedVolume",
            "projected volume \""
                + v.getName()
                + "\": only configMap, secret, downwardAPI and serviceAccountToken sources are"
                + " supported");
      }
    }
    return new VolumePlan(v.getName(), VolumePlan.Type.PROJECTED, files, null, sensitive);
  }

  private List<FilePlan> keyFiles(
      Map<String, byte[]> data,
      List<KeyToPath> items,
      int defaultMode,
      String what,
      Boolean optional)
      throws PlanException {
    List<FilePlan> out = new ArrayList<>();
    try {
      if (items == null || items.isEmpty()) {
        for (var e : new TreeMap<>(data).entrySet()) {
          out.add(new FilePlan(e.getKey(), e.getValue(), defaultMode));
        }
        return out;
      }
      for (KeyToPath item : items) {
        byte[] content = data.get(item.getKey());
        if (content == null) {
          if (Boolean.TRUE.equals(optional)) {
            continue;
          }
          // Like the kubelet's mount retry: the key may still be added to the object.
          throw new PlanException.Missing(
              "FailedMount", "couldn't find key " + item.getKey() + " in " + what);
        }
        out.add(
            new FilePlan(
                item.getPath(), content, item.getMode() == null ? defaultMode : item.getMode()));
      }
      return out;
    } catch (IllegalArgumentException e) {
      throw new PlanException.Invalid("InvalidVolume", what + ": " + e.getMessage());
    }
  }

  private List<FilePlan> downwardFiles(Pod pod, List<DownwardAPIVolumeFile> items, int defaultMode)
      throws PlanException {
    List<FilePlan> out = new ArrayList<>();
    for (DownwardAPIVolumeFile f : nullSafe(items)) {
      String value;
      if (f.getFieldRef() != null) {
        value = env.fieldRef(pod, f.getFieldRef());
      } else if (f.getResourceFieldRef() != null) {
        String cname = f.getResourceFieldRef().getContainerName();
        Container c =
            allContainers(pod).stream()
                .filter(x -> x.getName().equals(cname))
                .findFirst()
                .orElseThrow(
                    () ->
                        new PlanException.Invalid(
                            "InvalidVolume",
                            "downwardAPI item "
                                + f.getPath()
                                + " names unknown container "
                                + cname));
        value = env.resourceFieldRef(pod, c, f.getResourceFieldRef());
      } else {
        throw new PlanException.Invalid(
            "InvalidVolume",
            "downwardAPI item " + f.getPath() + " needs fieldRef or resourceFieldRef");
      }
      try {
        out.add(
            new FilePlan(
                f.getPath(),
                value.getBytes(StandardCharsets.UTF_8),
                f.getMode() == null ? defaultMode : f.getMode()));
      } catch (IllegalArgumentException e) {
        throw new PlanException.Invalid("InvalidVolume", e.getMessage());
      }
    }
    return out;
  }

  private static Map<String, byte[]> configMapBytes(ConfigMap cm) {
    Map<String, byte[]> out = new HashMap<>();
    nullSafe(cm.getData()).forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    nullSafe(cm.getBinaryData()).forEach((k, v) -> out.put(k, Base64.getDecoder().decode(v)));
    return out;
  }

  private static Map<String, byte[]> secretBytes(Secret s) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    nullSafe(s.getData()).forEach((k, v) -> out.put(k, Base64.getDecoder().decode(v)));
    nullSafe(s.getStringData()).forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
    return out;
  }

  private static String volumeType(Volume v) {
    // The one non-null source field names the type, e.g. persistentVolumeClaim.
    for (var m : Volume.class.getMethods()) {
      if (m.getName().startsWith("get")
          && m.getParameterCount() == 0
          && !m.getName().equals("getName")
          && !m.getName().equals("getClass")
          && !m.getName().equals("getAdditionalProperties")) {
        try {
          if (m.invoke(v) != null) {
            String n = m.getName().substring(3);
            return Character.toLowerCase(n.charAt(0)) + n.substring(1);
          }
        } catch (ReflectiveOperationException ignored) {
          // fall through to "unknown"
        }
      }
    }
    return "unknown";
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
