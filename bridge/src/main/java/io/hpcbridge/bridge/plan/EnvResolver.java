package io.hpcbridge.bridge.plan;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.ObjectFieldSelector;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceFieldSelector;
import io.fabric8.kubernetes.api.model.Secret;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves a container's environment the way the kubelet does: service variables first, then {@code
 * envFrom} in order, then {@code env} (each value {@code $(VAR)}-expanded against what is defined
 * so far).
 */
public final class EnvResolver {

  /** The kubelet's rule for names taken from envFrom (C_IDENTIFIER-ish, relaxed since 1.20). */
  private static final Pattern ENV_NAME = Pattern.compile("[-._a-zA-Z][-._a-zA-Z0-9]*");

  private static final Pattern LABEL_REF =
      Pattern.compile("metadata\\.(labels|annotations)\\['([^']+)'\\]");

  private final ObjectSource objects;
  private final Map<String, String> serviceEnv;
  private final NodeFacts node;

  /**
   * @param serviceEnv variables every container gets first ({@code KUBERNETES_SERVICE_HOST}…)
   */
  public EnvResolver(ObjectSource objects, Map<String, String> serviceEnv, NodeFacts node) {
    this.objects = objects;
    this.serviceEnv = Map.copyOf(serviceEnv);
    this.node = node;
  }

  /** A container's resolved environment. */
  public record Resolved(Map<String, String> env, Set<String> secretKeys, List<String> warnings) {}

  public Resolved resolve(Pod pod, Container c) throws PlanException {
    String ns = pod.getMetadata().getNamespace();
    Map<String, String> env = new LinkedHashMap<>(new java.util.TreeMap<>(serviceEnv));
    Set<String> secret = new HashSet<>();
    List<String> warnings = new ArrayList<>();

    for (EnvFromSource from : nullSafe(c.getEnvFrom())) {
      String prefix = from.getPrefix() == null ? "" : from.getPrefix();
      Map<String, String> values;
      boolean isSecret = false;
      if (from.getConfigMapRef() != null) {
        var ref = from.getConfigMapRef();
        Optional<ConfigMap> cm = objects.configMap(ns, ref.getName());
        if (cm.isEmpty()) {
          if (Boolean.TRUE.equals(ref.getOptional())) {
            continue;
          }
          throw new PlanException.Missing(
              "CreateContainerConfigError", "configmap \"" + ref.getName() + "\" not found");
        }
        values = nullSafe(cm.get().getData());
      } else if (from.getSecretRef() != null) {
        var ref = from.getSecretRef();
        Optional<Secret> s = objects.secret(ns, ref.getName());
        if (s.isEmpty()) {
          if (Boolean.TRUE.equals(ref.getOptional())) {
            continue;
          }
          throw new PlanException.Missing(
              "CreateContainerConfigError", "secret \"" + ref.getName() + "\" not found");
        }
        values = secretData(s.get());
        isSecret = true;
      } else {
        throw new PlanException.Invalid(
            "InvalidEnvFrom",
            "container " + c.getName() + ": envFrom needs configMapRef or secretRef");
      }
      for (var e : new java.util.TreeMap<>(values).entrySet()) {
        String key = prefix + e.getKey();
        if (!ENV_NAME.matcher(key).matches()) {
          warnings.add("skipped invalid environment variable name " + key);
          continue;
        }
        env.put(key, e.getValue());
        if (isSecret) {
          secret.add(key);
        } else {
          secret.remove(key);
        }
      }
    }

    for (EnvVar v : nullSafe(c.getEnv())) {
      String name = v.getName();
      if (v.getValueFrom() == null) {
        Set<String> used = new HashSet<>();
        env.put(name, expand(v.getValue() == null ? "" : v.getValue(), env, used));
        // A value built from a secret, e.g. "postgres://u:$(PASSWORD)@db", is a secret too.
        if (used.stream().anyMatch(secret::contains)) {
          secret.add(name);
        } else {
          secret.remove(name);
        }
        continue;
      }
      EnvVarSource src = v.getValueFrom();
      if (src.getSecretKeyRef() != null) {
        var ref = src.getSecretKeyRef();
        Optional<Secret> s = objects.secret(ns, ref.getName());
        String value = s.map(x -> secretData(x).get(ref.getKey())).orElse(null);
        if (value == null) {
          if (Boolean.TRUE.equals(ref.getOptional())) {
            continue;
          }
          throw new PlanException.Missing(
              "CreateContainerConfigError",
              s.isEmpty()
                  ? "secret \"" + ref.getName() + "\" not found"
                  : "couldn't find key " + ref.getKey() + " in Secret " + ns + "/" + ref.getName());
        }
        env.put(name, value);
        secret.add(name);
      } else {
        String value = valueFrom(pod, c, name, src);
        if (value == null) {
          continue; // an optional reference to something missing leaves the variable as it was
        }
        env.put(name, value);
        secret.remove(name);
      }
    }
    return new Resolved(env, secret, warnings);
  }

  /** The value of a non-secret {@code valueFrom}, or null when an optional source is missing. */
  private String valueFrom(Pod pod, Container c, String name, EnvVarSource src)
      throws PlanException {
    String ns = pod.getMetadata().getNamespace();
    if (src.getConfigMapKeyRef() != null) {
      var ref = src.getConfigMapKeyRef();
      Optional<ConfigMap> cm = objects.configMap(ns, ref.getName());
      String value = cm.map(x -> nullSafe(x.getData()).get(ref.getKey())).orElse(null);
      if (value == null && !Boolean.TRUE.equals(ref.getOptional())) {
        throw new PlanException.Missing(
            "CreateContainerConfigError",
            cm.isEmpty()
                ? "configmap \"" + ref.getName() + "\" not found"
                : "couldn't find key "
                    + ref.getKey()
                    + " in ConfigMap "
                    + ns
                    + "/"
                    + ref.getName());
      }
      return value;
    }
    if (src.getFieldRef() != null) {
      return fieldRef(pod, src.getFieldRef());
    }
    if (src.getResourceFieldRef() != null) {
      return resourceFieldRef(pod, c, src.getResourceFieldRef());
    }
    throw new PlanException.Invalid(
        "InvalidEnvVar", "container " + c.getName() + ": env " + name + " has an empty valueFrom");
  }

  /** The value of a downward-API field path, as the kubelet computes it. */
  public String fieldRef(Pod pod, ObjectFieldSelector sel) throws PlanException {
    var md = pod.getMetadata();
    String path = sel.getFieldPath();
    Matcher m = LABEL_REF.matcher(path);
    if (m.matches()) {
      Map<String, String> map =
          m.group(1).equals("labels") ? nullSafe(md.getLabels()) : nullSafe(md.getAnnotations());
      return map.getOrDefault(m.group(2), "");
    }
    return switch (path) {
      case "metadata.name" -> md.getName();
      case "metadata.namespace" -> md.getNamespace();
      case "metadata.uid" -> md.getUid();
      case "metadata.labels" -> formatMap(nullSafe(md.getLabels()));
      case "metadata.annotations" -> formatMap(nullSafe(md.getAnnotations()));
      case "spec.nodeName" -> node.nodeName();
      case "spec.serviceAccountName" ->
          pod.getSpec().getServiceAccountName() == null
              ? ""
              : pod.getSpec().getServiceAccountName();
      case "status.hostIP" -> node.hostIP();
      // The pod runs with the address of the machine that hosts it; before the backend reports
      // it, that is the bridge node's address.
      case "status.podIP", "status.podIPs" -> podIP(pod);
      default ->
          throw new PlanException.Invalid(
              "UnsupportedFieldRef", "unsupported fieldRef fieldPath " + path);
    };
  }

  private String podIP(Pod pod) {
    if (pod.getStatus() != null && pod.getStatus().getPodIP() != null) {
      return pod.getStatus().getPodIP();
    }
    return node.hostIP();
  }

  /** The downward-API value of a container resource, divided and rounded up like the kubelet. */
  public String resourceFieldRef(Pod pod, Container self, ResourceFieldSelector sel)
      throws PlanException {
    Container c = self;
    if (sel.getContainerName() != null && !sel.getContainerName().isEmpty()) {
      c =
          PlanBuilder.allContainers(pod).stream()
              .filter(x -> x.getName().equals(sel.getContainerName()))
              .findFirst()
              .orElseThrow(
                  () ->
                      new PlanException.Invalid(
                          "InvalidResourceFieldRef",
                          "resourceFieldRef names unknown container " + sel.getContainerName()));
    }
    String resource = sel.getResource();
    Map<String, Quantity> limits = Map.of();
    Map<String, Quantity> requests = Map.of();
    if (c.getResources() != null) {
      limits = nullSafe(c.getResources().getLimits());
      requests = nullSafe(c.getResources().getRequests());
    }
    Quantity divisor = sel.getDivisor() == null ? new Quantity("1") : sel.getDivisor();
    BigDecimal div = Quantity.getAmountInBytes(divisor);
    if (div.signum() <= 0) {
      throw new PlanException.Invalid("InvalidResourceFieldRef", "divisor must be positive");
    }
    BigDecimal value;
    boolean cpu = resource.endsWith("cpu");
    switch (resource) {
      case "limits.cpu", "limits.memory", "limits.ephemeral-storage" -> {
        Quantity q = limits.get(resource.substring("limits.".length()));
        value = q != null ? Quantity.getAmountInBytes(q) : allocatable(resource);
      }
      case "requests.cpu", "requests.memory", "requests.ephemeral-storage" -> {
        String key = resource.substring("requests.".length());
        Quantity q = requests.getOrDefault(key, limits.get(key));
        value = q != null ? Quantity.getAmountInBytes(q) : BigDecimal.ZERO;
        if (q == null && cpu) {
          return "0";
        }
      }
      default ->
          throw new PlanException.Invalid(
              "InvalidResourceFieldRef", "unsupported resourceFieldRef resource " + resource);
    }
    BigDecimal out = value.divide(div, 0, RoundingMode.CEILING);
    // The kubelet reports at least 1 for a non-zero CPU value.
    if (cpu && out.signum() == 0 && value.signum() > 0) {
      out = BigDecimal.ONE;
    }
    return out.toPlainString();
  }

  private BigDecimal allocatable(String resource) {
    if (resource.endsWith("cpu")) {
      return BigDecimal.valueOf(node.cpuMillis()).movePointLeft(3);
    }
    if (resource.endsWith("memory")) {
      return BigDecimal.valueOf(node.memoryBytes());
    }
    return BigDecimal.ZERO;
  }

  /** {@code k="v"} lines, sorted, as the downward API writes labels and annotations. */
  static String formatMap(Map<String, String> m) {
    StringBuilder sb = new StringBuilder();
    new java.util.TreeMap<>(m)
        .forEach(
            (k, v) -> {
              if (sb.length() > 0) {
                sb.append('\n');
              }
              sb.append(k).append("=\"").append(escapeQuoted(v)).append('"');
            });
    return sb.toString();
  }

  private static String escapeQuoted(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }

  static Map<String, String> secretData(Secret s) {
    Map<String, String> out = new LinkedHashMap<>();
    nullSafe(s.getData())
        .forEach(
            (k, v) ->
                out.put(k, new String(Base64.getDecoder().decode(v), StandardCharsets.UTF_8)));
    out.putAll(nullSafe(s.getStringData()));
    return out;
  }

  /**
   * Kubernetes' {@code $(VAR)} expansion: defined variables are replaced, undefined references are
   * kept verbatim, {@code $$} is an escaped {@code $}.
   */
  public static String expand(String input, Map<String, String> env) {
    return expand(input, env, null);
  }

  /**
   * As {@link #expand(String, Map)}; adds the names of the variables it replaced to {@code used}.
   */
  private static String expand(String input, Map<String, String> env, Set<String> used) {
    StringBuilder out = new StringBuilder(input.length());
    int i = 0;
    while (i < input.length()) {
      char ch = input.charAt(i);
      if (ch != '$' || i + 1 >= input.length()) {
        out.append(ch);
        i++;
        continue;
      }
      char next = input.charAt(i + 1);
      if (next == '$') {
        out.append('$');
        i += 2;
      } else if (next == '(') {
        int close = input.indexOf(')', i + 2);
        if (close < 0) {
          // An unterminated reference is kept as text; scanning goes on after "$(".
          out.append("$(");
          i += 2;
          continue;
        }
        String name = input.substring(i + 2, close);
        String value = env.get(name);
        out.append(value != null ? value : "$(" + name + ")");
        if (value != null && used != null) {
          used.add(name);
        }
        i = close + 1;
      } else {
        out.append('$').append(next);
        i += 2;
      }
    }
    return out.toString();
  }

  static <K, V> Map<K, V> nullSafe(Map<K, V> m) {
    return m == null ? Map.of() : m;
  }

  static <T> List<T> nullSafe(List<T> l) {
    return l == null ? List.of() : l;
  }
}
