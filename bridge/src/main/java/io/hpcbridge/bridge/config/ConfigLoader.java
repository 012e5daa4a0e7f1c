package io.hpcbridge.bridge.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads {@link BridgeConfig} from YAML, then applies {@code HPC_BRIDGE_*} environment overrides,
 * then validates. Unknown keys and bad values fail with one line naming the key.
 */
public final class ConfigLoader {

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");
  private static final Set<String> TOP =
      Set.of(
          "nodeName",
          "backend",
          "stateFile",
          "dataDir",
          "kubeconfig",
          "node",
          "pods",
          "kubelet",
          "backends");
  private static final Set<String> NODE =
      Set.of(
          "address",
          "labels",
          "taint",
          "leaseDuration",
          "leaseRenewInterval",
          "statusUpdateInterval");
  private static final Set<String> PODS =
      Set.of("pollInterval", "workers", "kubernetesServiceHost", "kubernetesServicePort");
  private static final Set<String> KUBELET =
      Set.of("bindAddress", "port", "tlsCertFile", "tlsKeyFile", "clientCaFile", "allowAnonymous");

  private ConfigLoader() {}

  /**
   * The default home: {@code $HPC_BRIDGE_HOME}, else {@code $XDG_STATE_HOME/hpc-bridge}, else
   * {@code ~/.local/state/hpc-bridge}.
   */
  public static Path defaultHome(Map<String, String> env) {
    if (env.get("HPC_BRIDGE_HOME") != null) {
      return Path.of(env.get("HPC_BRIDGE_HOME"));
    }
    String xdg = env.get("XDG_STATE_HOME");
    Path base =
        xdg != null && !xdg.isEmpty()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".local", "state");
    return base.resolve("hpc-bridge");
  }

  public static BridgeConfig load(Path file, Map<String, String> env) {
    Map<String, Object> raw = new LinkedHashMap<>();
    if (file != null) {
      try {
        Object parsed = parse(Files.readAllBytes(file));
        if (parsed != null && !(parsed instanceof Map)) {
          throw new ConfigException(file.toString(), "must be a YAML mapping");
        }
        if (parsed != null) {
          raw.putAll(castMap(parsed, file.toString()));
        }
      } catch (JsonProcessingException e) {
        throw new ConfigException(String.valueOf(file), "not valid YAML: " + oneLine(e));
      } catch (NoSuchFileException e) {
        throw new ConfigException(String.valueOf(file), "no such file");
      } catch (IOException e) {
        throw new ConfigException(String.valueOf(file), "cannot read: " + e);
      }
    }
    for (String key : BridgeConfig.ENV_KEYS) {
      String name =
          "HPC_BRIDGE_" + key.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase();
      if (env.containsKey(name)) {
        put(raw, key, env.get(name));
      }
    }
    return build(raw, env);
  }

  /**
   * The parser's complaint and where, on one line: "mapping values are not allowed here (line 2,
   * column 10)". YAML parser messages span several lines: context, problem, each followed by an
   * indented excerpt; the unindented lines are kept.
   */
  private static String oneLine(JsonProcessingException e) {
    String original =
        e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
    String msg =
        String.join(
            "; ",
            original
                .lines()
                .filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0)))
                .toList());
    if (msg.isEmpty()) {
      msg = original.strip().lines().findFirst().orElse("").strip();
    }
    JsonLocation at = e.getLocation();
    return at == null
        ? msg
        : msg + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
  }

  /** The YAML document, or null for an empty file (or one with only comments). */
  private static Object parse(byte[] yaml) throws IOException {
    ObjectMapper mapper = new ObjectMapper(new YAMLFactory());
    try (JsonParser p = mapper.createParser(yaml)) {
      return p.nextToken() == null ? null : mapper.readValue(p, Object.class);
    }
  }

  @SuppressWarnings("unchecked")
  private static void put(Map<String, Object> raw, String dotted, String value) {
    String[] parts = dotted.split("\\.");
    Map<String, Object> m = raw;
    for (int i = 0; i < parts.length - 1; i++) {
      Object next = m.get(parts[i]);
      if (!(next instanceof Map)) {
        next = new LinkedHashMap<String, Object>();
        m.put(parts[i], next);
      } else {
        next = new LinkedHashMap<>((Map<String, Object>) next);
        m.put(parts[i], next);
      }
      m = (Map<String, Object>) next;
    }
    m.put(parts[parts.length - 1], value);
  }

  private static BridgeConfig build(Map<String, Object> raw, Map<String, String> env) {
    unknown(raw, TOP, "");
    Path home = defaultHome(env);
    Map<String, Object> node = section(raw, "node", NODE);
    Map<String, Object> pods = section(raw, "pods", PODS);
    Map<String, Object> kubelet = section(raw, "kubelet", KUBELET);

    String backend = str(raw, "backend", "local");
    String nodeName = str(raw, "nodeName", "hpc-bridge");
    if (!nodeName.matches("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")) {
      throw new ConfigException(
          "nodeName",
          "must be a DNS subdomain (lower case, digits, '-', '.'), got '" + nodeName + "'");
    }
    if (!backend.matches("[a-z][a-z0-9-]*")) {
      throw new ConfigException("backend", "not a backend name: '" + backend + "'");
    }
    Map<String, Map<String, Object>> backends = new HashMap<>();
    Object b = raw.get("backends");
    if (b != null) {
      for (var e : castMap(b, "backends").entrySet()) {
        Object v = e.getValue();
        backends.put(e.getKey(), v == null ? Map.of() : castMap(v, "backends." + e.getKey()));
      }
    }
    Map<String, String> labels = new LinkedHashMap<>();
    if (node.get("labels") != null) {
      castMap(node.get("labels"), "node.labels")
          .forEach((k, v) -> labels.put(k, String.valueOf(v)));
    }
    Duration leaseDuration = duration(node, "node.leaseDuration", "40s");
    Duration renew = duration(node, "node.leaseRenewInterval", "10s");
    if (renew.compareTo(leaseDuration) >= 0) {
      throw new ConfigException(
          "node.leaseRenewInterval", "must be shorter than node.leaseDuration");
    }
    return new BridgeConfig(
        nodeName,
        backend,
        path(raw, "stateFile", home.resolve("state.db")),
        path(raw, "dataDir", home.resolve("data")),
        path(raw, "kubeconfig", null),
        new BridgeConfig.Node(
            str(node, "address", null),
            labels,
            bool(node, "node.taint", true),
            leaseDuration,
            renew,
            duration(node, "node.statusUpdateInterval", "60s")),
        new BridgeConfig.Pods(
            duration(pods, "pods.pollInterval", "5s"),
            integer(pods, "pods.workers", 4, 1, 256),
            str(pods, "kubernetesServiceHost", null),
            integer(pods, "pods.kubernetesServicePort", 0, 0, 65535)),
        new BridgeConfig.Kubelet(
            str(kubelet, "bindAddress", "0.0.0.0"),
            integer(kubelet, "kubelet.port", 10250, 1, 65535),
            path(kubelet, "tlsCertFile", null),
            path(kubelet, "tlsKeyFile", null),
            path(kubelet, "clientCaFile", null),
            bool(kubelet, "kubelet.allowAnonymous", false)),
        backends);
  }

  private static Map<String, Object> section(
      Map<String, Object> raw, String key, Set<String> allowed) {
    Object v = raw.get(key);
    if (v == null) {
      return Map.of();
    }
    Map<String, Object> m = castMap(v, key);
    unknown(m, allowed, key + ".");
    return m;
  }

  private static void unknown(Map<String, Object> m, Set<String> allowed, String prefix) {
    for (String k : m.keySet()) {
      if (!allowed.contains(k)) {
        throw new ConfigException(
            prefix + k,
            "unknown key (known: " + String.join(", ", new java.util.TreeSet<>(allowed)) + ")");
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Object v, String key) {
    if (!(v instanceof Map)) {
      throw new ConfigException(key, "must be a mapping");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    ((Map<Object, Object>) v).forEach((k, x) -> out.put(String.valueOf(k), x));
    return out;
  }

  private static String str(Map<String, Object> m, String key, String fallback) {
    Object v = m.get(key);
    return v == null || String.valueOf(v).isEmpty() ? fallback : String.valueOf(v);
  }

  private static Path path(Map<String, Object> m, String key, Path fallback) {
    String s = str(m, key, null);
    if (s == null) {
      return fallback;
    }
    if (s.startsWith("~/")) {
      return Path.of(System.getProperty("user.home"), s.substring(2));
    }
    return Path.of(s);
  }

  private static boolean bool(Map<String, Object> m, String key, boolean fallback) {
    Object v = m.get(key.substring(key.lastIndexOf('.') + 1));
    if (v == null) {
      return fallback;
    }
    String s = String.valueOf(v).trim().toLowerCase();
    return switch (s) {
      case "true", "yes", "1" -> true;
      case "false", "no", "0" -> false;
      default -> throw new ConfigException(key, "must be true or false, got '" + v + "'");
    };
  }

  private static int integer(Map<String, Object> m, String key, int fallback, int min, int max) {
    Object v = m.get(key.substring(key.lastIndexOf('.') + 1));
    if (v == null) {
      return fallback;
    }
    try {
      int i = Integer.parseInt(String.valueOf(v).trim());
      if (i < min || i > max) {
        throw new ConfigException(key, "must be between " + min + " and " + max + ", got " + i);
      }
      return i;
    } catch (NumberFormatException e) {
      throw new ConfigException(key, "must be a whole number, got '" + v + "'");
    }
  }

  /** Durations like {@code 500ms}, {@code 10s}, {@code 5m}, {@code 1h}. */
  static Duration duration(Map<String, Object> m, String key, String fallback) {
    Object v = m.get(key.substring(key.lastIndexOf('.') + 1));
    String s = v == null ? fallback : String.valueOf(v).trim();
    Matcher x = DURATION.matcher(s);
    if (!x.matches()) {
      throw new ConfigException(
          key, "must be a duration like 500ms, 10s, 5m or 1h, got '" + s + "'");
    }
    Duration d;
    try {
      long n = Long.parseLong(x.group(1));
      d =
          switch (x.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
          };
      d.toMillis(); // every user of a duration needs it in milliseconds
    } catch (NumberFormatException | ArithmeticException e) {
      throw new ConfigException(key, "is too large: '" + s + "'");
    }
    if (d.isZero()) {
      throw new ConfigException(key, "must be positive");
    }
    return d;
  }

  /** For messages: the known keys. */
  public static List<String> envNames() {
    return BridgeConfig.ENV_KEYS.stream()
        .map(
            k ->
                "HPC_BRIDGE_"
                    + k.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase())
        .toList();
  }
}
