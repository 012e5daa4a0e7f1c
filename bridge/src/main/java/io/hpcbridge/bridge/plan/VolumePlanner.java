package io.hpcbridge.bridge.plan;

import static io.hpcbridge.bridge.plan.EnvResolver.nullSafe;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.DownwardAPIVolumeFile;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.VolumePlan.FilePlan;
import io.hpcbridge.bridge.plan.PlanBuilder.TokenSource;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The files of a pod's volumes, materialized for its plan: ConfigMap, Secret and downwardAPI
 * volumes, projected volumes (with service account tokens bound to the pod), emptyDir and hostPath.
 * Missing objects are {@link PlanException.Missing} (the pod waits for them, like with the
 * kubelet); what can never work is {@link PlanException.Invalid}.
 */
final class VolumePlanner {

  /** Service account tokens one pod may ask for (the kubelet's default pod has one). */
  static final int MAX_TOKENS = 8;

  private final ObjectSource objects;
  private final EnvResolver env;

  VolumePlanner(ObjectSource objects, EnvResolver env) {
    this.objects = objects;
    this.env = env;
  }

  VolumePlan volume(Pod pod, Volume v, List<String> warnings, List<TokenSource> tokens)
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
      int mode = src.getDefaultMode() == null ? PlanBuilder.CONFIG_MODE : src.getDefaultMode();
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
      int mode = PlanBuilder.secretMode(src.getDefaultMode());
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
              ? PlanBuilder.CONFIG_MODE
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

  /**
   * The plan with a fresh token, bound to the pod, in each of its projected token sources; the
   * sources with their times. A token the API server does not issue is left out, with a warning.
   */
  PodPlan mintTokens(PodPlan plan, List<TokenSource> pending, List<String> warnings)
      throws PlanException {
    List<VolumePlan> vols = new ArrayList<>(plan.volumes());
    for (TokenSource t : pending) {
      var issued = java.time.Instant.now();
      Optional<ObjectSource.Token> token =
          objects.serviceAccountToken(
              plan.pod(), t.serviceAccount(), t.audience(), t.expirationSeconds());
      if (token.isEmpty()) {
        warnings.add(
            "no token for service account "
                + plan.pod().namespace()
                + "/"
                + t.serviceAccount()
                + ": "
                + t.path()
                + " left out");
        continue;
      }
      for (int i = 0; i < vols.size(); i++) {
        VolumePlan v = vols.get(i);
        if (v.name().equals(t.volume())) {
          List<FilePlan> files = new ArrayList<>(v.files());
          try {
            files.add(
                new FilePlan(
                    t.path(),
                    token.get().value().getBytes(StandardCharsets.UTF_8),
                    PlanBuilder.SECRET_MODE));
          } catch (IllegalArgumentException e) {
            throw new PlanException.Invalid(
                "InvalidVolume", "volume " + v.name() + ": " + e.getMessage());
          }
          vols.set(i, new VolumePlan(v.name(), v.type(), files, v.hostPath(), true));
        }
      }
      pending.set(
          pending.indexOf(t),
          new TokenSource(
              t.volume(),
              t.path(),
              t.serviceAccount(),
              t.audience(),
              t.expirationSeconds(),
              issued,
              token.get().expires()));
    }
    pending.removeIf(t -> t.issued() == null);
    return plan.withVolumes(vols);
  }

  private VolumePlan projected(Pod pod, Volume v, List<String> warnings, List<TokenSource> tokens)
      throws PlanException {
    String ns = pod.getMetadata().getNamespace();
    int mode =
        v.getProjected().getDefaultMode() == null
            ? PlanBuilder.CONFIG_MODE
            : v.getProjected().getDefaultMode();
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
        // Every pod of Kubernetes >= 1.22 has one (kube-api-access-*). The token is minted once
        // the plan passed the policy (mintTokens), bound to the pod, and rotated while it runs.
        var src = p.getServiceAccountToken();
        if (tokens.size() >= MAX_TOKENS) {
          throw new PlanException.Invalid(
              "InvalidVolume",
              "the pod asks for more than " + MAX_TOKENS + " service account tokens");
        }
        sensitive = true;
        tokens.add(
            new TokenSource(
                v.getName(),
                src.getPath(),
                PlanBuilder.serviceAccount(pod),
                src.getAudience(),
                src.getExpirationSeconds() == null ? 3600 : src.getExpirationSeconds(),
                null,
                null));
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
            PlanBuilder.allContainers(pod).stream()
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
}
