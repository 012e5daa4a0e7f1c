package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.SettingValues;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The docker backend's settings, parsed once from the backend's config section. Every error names
 * the key, e.g. {@code docker.hosts[1].uri}.
 *
 * @param hosts the Docker hosts pods may run on, in config order
 * @param placement how pods are spread over hosts
 * @param sandboxImage the image of each pod's network-namespace holder
 * @param sandboxCommand its command
 * @param unreachableTimeout how long a pod on an unreachable host is reported Unknown before it is
 *     reported Failed
 * @param imagePullTimeout the longest one image pull may take
 * @param network the Docker network sandboxes join (their pod IP comes from it)
 */
public record DockerSettings(
    List<HostSettings> hosts,
    Placement.Policy placement,
    String sandboxImage,
    List<String> sandboxCommand,
    Duration unreachableTimeout,
    Duration imagePullTimeout,
    String network) {

  static final String PREFIX = "backends.docker.";
  public static final String DEFAULT_SANDBOX_IMAGE = "local/busybox:1";
  public static final List<String> DEFAULT_SANDBOX_COMMAND =
      List.of("sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done");

  public DockerSettings {
    hosts = List.copyOf(hosts);
    sandboxCommand = List.copyOf(sandboxCommand);
    if (hosts.isEmpty()) {
      throw new IllegalArgumentException(PREFIX + "hosts: at least one Docker host is required");
    }
  }

  /**
   * One Docker host.
   *
   * @param name a short unique name (used in handles and logs)
   * @param uri {@code unix:///var/run/docker.sock} or {@code tcp://host:2376}
   * @param tlsCertDir directory with {@code ca.pem}, {@code cert.pem}, {@code key.pem}; null for
   *     plain tcp or unix sockets
   * @param address the address reported as the pod's hostIP; null to take it from the URI
   * @param connectTimeout connect timeout of each request
   * @param responseTimeout response timeout of short requests (not of log streams, pulls, stops)
   * @param maxConnections connection pool size
   * @param maxPods how many pods this host accepts
   * @param cpuMillis CPU to advertise instead of the host's, or 0
   * @param memoryBytes memory to advertise instead of the host's, or 0
   */
  public record HostSettings(
      String name,
      URI uri,
      Path tlsCertDir,
      String address,
      Duration connectTimeout,
      Duration responseTimeout,
      int maxConnections,
      int maxPods,
      long cpuMillis,
      long memoryBytes) {
    public HostSettings {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(uri, "uri");
    }

    /** The address pods on this host report as hostIP, or null. */
    public String hostAddress() {
      if (address != null) {
        return address;
      }
      if ("tcp".equals(uri.getScheme())) {
        return uri.getHost();
      }
      return null;
    }
  }

  /** Parses the backend's config section. */
  public static DockerSettings parse(Map<String, Object> s) {
    Object hostsRaw = s.get("hosts");
    if (!(hostsRaw instanceof List<?> list) || list.isEmpty()) {
      throw new IllegalArgumentException(
          PREFIX
              + "hosts: a list of hosts is required, e.g. [{name: h1, uri:"
              + " unix:///var/run/docker.sock}]");
    }
    List<HostSettings> hosts = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < list.size(); i++) {
      String key = PREFIX + "hosts[" + i + "]";
      if (!(list.get(i) instanceof Map<?, ?> m)) {
        throw new IllegalArgumentException(key + ": must be a map with at least 'uri'");
      }
      HostSettings h = parseHost(key, m, i);
      if (!names.add(h.name())) {
        throw new IllegalArgumentException(key + ".name: duplicate host name " + h.name());
      }
      hosts.add(h);
    }
    String policy = str(s, "placement", "spread");
    Placement.Policy p =
        switch (policy.toLowerCase(Locale.ROOT)) {
          case "spread" -> Placement.Policy.SPREAD;
          case "binpack" -> Placement.Policy.BINPACK;
          default ->
              throw new IllegalArgumentException(
                  PREFIX + "placement: must be spread or binpack, not " + policy);
        };
    List<String> cmd = DEFAULT_SANDBOX_COMMAND;
    Object c = s.get("sandboxCommand");
    if (c instanceof List<?> cl && !cl.isEmpty()) {
      cmd = cl.stream().map(String::valueOf).toList();
    } else if (c != null) {
      throw new IllegalArgumentException(PREFIX + "sandboxCommand: must be a non-empty list");
    }
    return new DockerSettings(
        hosts,
        p,
        str(s, "sandboxImage", DEFAULT_SANDBOX_IMAGE),
        cmd,
        duration(s, PREFIX + "unreachableTimeout", "unreachableTimeout", Duration.ofMinutes(5)),
        duration(s, PREFIX + "imagePullTimeout", "imagePullTimeout", Duration.ofMinutes(10)),
        str(s, "network", "bridge"));
  }

  private static HostSettings parseHost(String key, Map<?, ?> m, int index) {
    Object u = m.get("uri");
    if (u == null) {
      throw new IllegalArgumentException(key + ".uri: required (unix:///path or tcp://host:port)");
    }
    URI uri;
    try {
      uri = URI.create(String.valueOf(u));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ".uri: not a URI: " + u);
    }
    String scheme = uri.getScheme();
    if ("unix".equals(scheme)) {
      if (uri.getPath() == null || uri.getPath().isEmpty()) {
        throw new IllegalArgumentException(key + ".uri: a unix URI needs a path: " + u);
      }
    } else if ("tcp".equals(scheme)) {
      if (uri.getHost() == null || uri.getPort() <= 0) {
        throw new IllegalArgumentException(key + ".uri: a tcp URI needs host and port: " + u);
      }
    } else {
      throw new IllegalArgumentException(key + ".uri: scheme must be unix or tcp: " + u);
    }
    Path certs = null;
    Object cd = m.get("tlsCertDir");
    if (cd != null) {
      if (!"tcp".equals(scheme)) {
        throw new IllegalArgumentException(key + ".tlsCertDir: only for tcp:// hosts");
      }
      certs = Path.of(String.valueOf(cd));
      for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
        if (!Files.isReadable(certs.resolve(f))) {
          throw new IllegalArgumentException(
              key + ".tlsCertDir: " + certs.resolve(f) + " is missing or unreadable");
        }
      }
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> mm = (Map<String, Object>) m;
    String name = str(mm, "name", "host" + index);
    if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
      throw new IllegalArgumentException(
          key + ".name: letters, digits, '_', '.', '-' only: " + name);
    }
    return new HostSettings(
        name,
        uri,
        certs,
        mm.get("address") == null ? null : String.valueOf(mm.get("address")),
        duration(mm, key + ".connectTimeout", "connectTimeout", Duration.ofSeconds(5)),
        duration(mm, key + ".responseTimeout", "responseTimeout", Duration.ofSeconds(30)),
        (int) number(mm, key + ".maxConnections", "maxConnections", 20, 1),
        (int) number(mm, key + ".maxPods", "maxPods", 110, 1),
        cpu(mm, key + ".cpu"),
        memory(mm, key + ".memory"));
  }

  private static String str(Map<String, Object> m, String k, String fallback) {
    Object v = m.get(k);
    return v == null ? fallback : String.valueOf(v);
  }

  private static long number(Map<String, Object> m, String key, String k, long fallback, long min) {
    Object v = m.get(k);
    if (v == null) {
      return fallback;
    }
    long n;
    try {
      n = v instanceof Number num ? num.longValue() : Long.parseLong(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": not a whole number: " + v);
    }
    if (n < min) {
      throw new IllegalArgumentException(key + ": must be at least " + min + ", not " + n);
    }
    return n;
  }

  /**
   * Parses {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, a plain number of seconds, or
   * ISO-8601.
   */
  static Duration duration(Map<String, Object> m, String key, String k, Duration fallback) {
    Object v = m.get(k);
    if (v == null) {
      return fallback;
    }
    return parseDuration(key, String.valueOf(v));
  }

  static Duration parseDuration(String key, String text) {
    try {
      return SettingValues.duration(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": not a duration (e.g. 30s, 5m): " + text);
    }
  }

  /** Kubernetes CPU quantity: {@code 2}, {@code 1.5}, {@code 500m}; 0 when absent. */
  static long cpu(Map<String, Object> m, String key) {
    Object v = m.get(key.substring(key.lastIndexOf('.') + 1));
    try {
      return v == null ? 0 : SettingValues.cpuMillis(String.valueOf(v));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": not a CPU quantity (e.g. 4, 500m): " + v);
    }
  }

  /** Memory quantity: bytes or with a suffix ({@code 8Gi}, {@code 512M}); 0 when absent. */
  static long memory(Map<String, Object> m, String key) {
    Object v = m.get(key.substring(key.lastIndexOf('.') + 1));
    try {
      return v == null ? 0 : SettingValues.bytes(String.valueOf(v));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": not a memory quantity (e.g. 8Gi): " + v);
    }
  }
}
