package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.ResourceQuantity;
import io.hpcbridge.backend.SettingsBinder;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The docker backend's settings: the {@code backends.docker} section bound by {@link
 * SettingsBinder}, with defaults and checks in the compact constructors. Every error names the key,
 * e.g. {@code backends.docker.hosts[1].uri: scheme must be unix or tcp}.
 *
 * @param hosts the Docker hosts pods may run on, in config order
 * @param placement how pods are spread over hosts
 * @param sandboxImage the image of each pod's network-namespace holder
 * @param sandboxCommand its command
 * @param unreachableTimeout how long a pod on an unreachable host is reported Unknown before it is
 *     reported Failed
 * @param imagePullTimeout the longest one image pull may take
 * @param network the Docker network sandboxes join (their pod IP comes from it)
 * @param observeTimeout the longest one observation waits for a host or a container; what is late
 *     is reported by a later one
 * @param refusedHostPaths more host paths no pod may bind (with everything under them and every
 *     directory above them) besides the built-in ones ({@link EngineSockets}): other sockets an
 *     engine listens on, its run directory when it is not next to its socket
 * @param maxPullsPerNamespace the most image pulls one namespace may run at once on one host (its
 *     share of the host's {@code maxStreams}); more wait their turn
 * @param maxLogStreamsPerNamespace the most log streams (follows and reads) one namespace may hold
 *     open at once on one host; more are refused
 * @param maxLogStreamsPerPod the same for one pod
 * @param maxProcesses the most processes (and threads) one container may run at once, its sandbox
 *     too: a fork bomb fails inside its container instead of exhausting the host's pid space
 */
public record DockerSettings(
    List<HostSettings> hosts,
    Placement.Policy placement,
    String sandboxImage,
    List<String> sandboxCommand,
    Duration unreachableTimeout,
    Duration imagePullTimeout,
    String network,
    Duration observeTimeout,
    List<String> refusedHostPaths,
    Integer maxPullsPerNamespace,
    Integer maxLogStreamsPerNamespace,
    Integer maxLogStreamsPerPod,
    Integer maxProcesses) {

  static final String SECTION = "backends.docker";
  static final String PREFIX = SECTION + ".";
  public static final String DEFAULT_SANDBOX_IMAGE = "local/busybox:1";
  public static final List<String> DEFAULT_SANDBOX_COMMAND =
      List.of("sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done");

  public DockerSettings {
    if (hosts == null || hosts.isEmpty()) {
      throw SettingsBinder.invalid(
          "hosts",
          "a list of hosts is required, e.g. [{name: h1, uri: unix:///var/run/docker.sock}]");
    }
    List<HostSettings> named = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (int i = 0; i < hosts.size(); i++) {
      HostSettings h = hosts.get(i);
      if (h == null) {
        throw SettingsBinder.invalid("hosts[" + i + "]", "must be a map with at least 'uri'");
      }
      if (h.name() == null) {
        h = h.withName("host" + i);
      }
      if (!names.add(h.name())) {
        throw SettingsBinder.invalid("hosts[" + i + "].name", "duplicate host name " + h.name());
      }
      named.add(h);
    }
    hosts = List.copyOf(named);
    placement = placement == null ? Placement.Policy.SPREAD : placement;
    sandboxImage =
        sandboxImage == null || sandboxImage.isBlank() ? DEFAULT_SANDBOX_IMAGE : sandboxImage;
    if (sandboxCommand != null && sandboxCommand.isEmpty()) {
      throw SettingsBinder.invalid("sandboxCommand", "must be a non-empty list");
    }
    sandboxCommand = sandboxCommand == null ? DEFAULT_SANDBOX_COMMAND : List.copyOf(sandboxCommand);
    unreachableTimeout = unreachableTimeout == null ? Duration.ofMinutes(5) : unreachableTimeout;
    imagePullTimeout = imagePullTimeout == null ? Duration.ofMinutes(10) : imagePullTimeout;
    network = network == null || network.isBlank() ? "bridge" : network;
    observeTimeout = observeTimeout == null ? Duration.ofSeconds(10) : observeTimeout;
    if (observeTimeout.isZero() || observeTimeout.isNegative()) {
      throw SettingsBinder.invalid("observeTimeout", "must be positive");
    }
    List<String> refused = new ArrayList<>();
    if (refusedHostPaths != null) {
      for (int i = 0; i < refusedHostPaths.size(); i++) {
        String p = refusedHostPaths.get(i);
        if (p == null || !p.startsWith("/")) {
          throw SettingsBinder.invalid(
              "refusedHostPaths[" + i + "]", "must be an absolute path, not " + p);
        }
        refused.add(EngineSockets.normalize(p));
      }
    }
    refusedHostPaths = List.copyOf(refused);
    maxPullsPerNamespace = HostSettings.atLeast("maxPullsPerNamespace", maxPullsPerNamespace, 4, 1);
    maxLogStreamsPerNamespace =
        HostSettings.atLeast("maxLogStreamsPerNamespace", maxLogStreamsPerNamespace, 16, 1);
    maxLogStreamsPerPod = HostSettings.atLeast("maxLogStreamsPerPod", maxLogStreamsPerPod, 5, 1);
    maxProcesses = HostSettings.atLeast("maxProcesses", maxProcesses, 4096, 1);
  }

  /**
   * One Docker host.
   *
   * @param name a short unique name (used in handles and logs); {@code host<index>} when absent
   * @param uri {@code unix:///var/run/docker.sock} or {@code tcp://host:2376}
   * @param tlsCertDir directory with {@code ca.pem}, {@code cert.pem}, {@code key.pem}; null for
   *     unix sockets
   * @param address the address reported as the pod's hostIP; null to take it from the URI
   * @param connectTimeout connect timeout of each request
   * @param responseTimeout response timeout of the short control calls (not of log streams, image
   *     pulls and the event stream, which have none)
   * @param maxConnections connections for the control calls (list, inspect, create, start, kill,
   *     remove...)
   * @param maxStreams connections for log streams and image pulls, which may last as long as a
   *     tenant wants; kept apart so that they never take the control calls' connections
   * @param connectionRequestTimeout how long a call waits for a free connection before it fails as
   *     a transient error
   * @param maxPods how many pods this host accepts
   * @param cpu CPU to advertise instead of the host's, or null
   * @param memory memory to advertise instead of the host's, or null
   * @param allowInsecureTcp accept a plain {@code tcp://} host without TLS: anyone who reaches its
   *     port controls the engine, and so is root on that host
   */
  public record HostSettings(
      String name,
      URI uri,
      Path tlsCertDir,
      String address,
      Duration connectTimeout,
      Duration responseTimeout,
      Integer maxConnections,
      Integer maxStreams,
      Duration connectionRequestTimeout,
      Integer maxPods,
      ResourceQuantity cpu,
      ResourceQuantity memory,
      Boolean allowInsecureTcp) {

    public HostSettings {
      if (name != null && !name.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
        throw SettingsBinder.invalid("name", "letters, digits, '_', '.', '-' only: " + name);
      }
      checkUri(uri);
      if (tlsCertDir != null) {
        if (!"tcp".equals(uri.getScheme())) {
          throw SettingsBinder.invalid("tlsCertDir", "only for tcp:// hosts");
        }
        for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
          if (!Files.isReadable(tlsCertDir.resolve(f))) {
            throw SettingsBinder.invalid(
                "tlsCertDir", tlsCertDir.resolve(f) + " is missing or unreadable");
          }
        }
      }
      allowInsecureTcp = Boolean.TRUE.equals(allowInsecureTcp);
      if ("tcp".equals(uri.getScheme()) && tlsCertDir == null && !allowInsecureTcp) {
        throw SettingsBinder.invalid(
            "uri",
            "plain tcp:// without TLS gives anyone who reaches "
                + uri.getHost()
                + ":"
                + uri.getPort()
                + " root on that host; set tlsCertDir (ca.pem, cert.pem, key.pem), or"
                + " allowInsecureTcp: true on this host to accept that");
      }
      connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
      responseTimeout = responseTimeout == null ? Duration.ofSeconds(30) : responseTimeout;
      maxConnections = atLeast("maxConnections", maxConnections, 20, 1);
      maxStreams = atLeast("maxStreams", maxStreams, 64, 1);
      connectionRequestTimeout =
          connectionRequestTimeout == null ? Duration.ofSeconds(5) : connectionRequestTimeout;
      if (connectionRequestTimeout.isNegative()) {
        throw SettingsBinder.invalid("connectionRequestTimeout", "must not be negative");
      }
      maxPods = atLeast("maxPods", maxPods, 110, 1);
    }

    private static void checkUri(URI uri) {
      if (uri == null) {
        throw SettingsBinder.invalid("uri", "required (unix:///path or tcp://host:port)");
      }
      String scheme = uri.getScheme();
      if ("unix".equals(scheme)) {
        if (uri.getPath() == null || uri.getPath().isEmpty()) {
          throw SettingsBinder.invalid("uri", "a unix URI needs a path: " + uri);
        }
      } else if ("tcp".equals(scheme)) {
        if (uri.getHost() == null || uri.getPort() <= 0) {
          throw SettingsBinder.invalid("uri", "a tcp URI needs host and port: " + uri);
        }
      } else {
        throw SettingsBinder.invalid("uri", "scheme must be unix or tcp: " + uri);
      }
    }

    static int atLeast(String key, Integer value, int fallback, int min) {
      if (value == null) {
        return fallback;
      }
      if (value < min) {
        throw SettingsBinder.invalid(key, "must be at least " + min + ", not " + value);
      }
      return value;
    }

    HostSettings withName(String n) {
      return new HostSettings(
          n,
          uri,
          tlsCertDir,
          address,
          connectTimeout,
          responseTimeout,
          maxConnections,
          maxStreams,
          connectionRequestTimeout,
          maxPods,
          cpu,
          memory,
          allowInsecureTcp);
    }

    /** CPU to advertise in millicores, or 0 to use the host's. */
    public long cpuMillis() {
      return cpu == null ? 0 : cpu.cpuMillis();
    }

    /** Memory to advertise in bytes, or 0 to use the host's. */
    public long memoryBytes() {
      return memory == null ? 0 : memory.bytes();
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

  /** Binds the backend's config section ({@code backends.docker}). */
  public static DockerSettings parse(Map<String, Object> section) {
    return SettingsBinder.bind(section, DockerSettings.class, SECTION);
  }
}
