package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.InternetProtocol;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.RestartPolicy;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Turns a {@link PodPlan} into Docker create requests. Pure: no Docker calls, so it is unit tested.
 *
 * <p>Volumes: see {@link PodVolumes}; hostPath is a bind mount of the Docker host's path.
 */
public final class ContainerSpecs {

  private ContainerSpecs() {}

  /** Docker's default CFS period, in microseconds. */
  static final long CPU_PERIOD = 100_000;

  /**
   * One container to create.
   *
   * @param name the Docker container name
   * @param image the image
   * @param entrypoint replaces the image's entrypoint when non-null
   * @param cmd replaces the image's command when non-null
   * @param env {@code NAME=value} entries
   * @param workingDir the working directory or null
   * @param hostname the hostname (sandbox only) or null
   * @param user the user ({@code uid}, {@code uid:gid}) or null for the image's
   * @param labels the container's labels
   * @param exposedPorts ports to expose (sandbox only)
   * @param hostConfig the host config
   * @param stopTimeoutSeconds seconds between SIGTERM and SIGKILL when the daemon stops it
   */
  public record Spec(
      String name,
      String image,
      List<String> entrypoint,
      List<String> cmd,
      List<String> env,
      String workingDir,
      String hostname,
      String user,
      Map<String, String> labels,
      List<ExposedPort> exposedPorts,
      HostConfig hostConfig,
      int stopTimeoutSeconds) {}

  /** Labels every container of the pod carries. */
  static Map<String, String> podLabels(
      PodPlan plan, String nodeName, String container, String role) {
    Map<String, String> l = new LinkedHashMap<>();
    l.put(Names.LABEL_POD_UID, plan.pod().uid());
    l.put(Names.LABEL_POD_NAME, plan.pod().name());
    l.put(Names.LABEL_POD_NAMESPACE, plan.pod().namespace());
    l.put(Names.LABEL_CONTAINER_NAME, container);
    l.put(Names.LABEL_NODE, nodeName);
    l.put(Names.LABEL_ROLE, role);
    return l;
  }

  /**
   * A volume's files may not use the names the volume's own layout needs ({@code ..data} and the
   * versions beside it, see {@link PodVolumes}).
   */
  static void validateFiles(VolumePlan v) throws BackendException.InvalidPod {
    for (VolumePlan.FilePlan f : v.files()) {
      List<String> seg = PodVolumes.segments(f.path());
      if (!seg.isEmpty() && seg.get(0).startsWith("..")) {
        throw new BackendException.InvalidPod(
            "InvalidVolumePath",
            "volume " + v.name() + ": a file path must not start with '..': " + f.path());
      }
    }
  }

  private static void unbindable(String reason, String what, String path)
      throws BackendException.InvalidPod {
    if (path != null && path.chars().anyMatch(ch -> ch == ':' || ch < 0x20 || ch == 0x7f)) {
      throw new BackendException.InvalidPod(
          reason,
          what
              + " must not contain ':' or control characters (Docker could not bind it): "
              + path.replaceAll("\\p{Cntrl}", "?"));
    }
  }

  /** Rejects what this backend cannot run, before anything is created. */
  static void validate(PodPlan plan) throws BackendException.InvalidPod {
    for (VolumePlan v : plan.volumes()) {
      validateFiles(v);
    }
    SecuritySpecs.validatePod(plan.allContainers().toList());
    for (ContainerPlan c : plan.allContainers().toList()) {
      SecuritySpecs.validate(c);
      if (c.image().isBlank()) {
        throw new BackendException.InvalidPod(
            "InvalidImageName", "container " + c.name() + " has no image");
      }
      if (c.name().contains(",")) {
        throw new BackendException.InvalidPod(
            "InvalidContainerName", "container name must not contain ',': " + c.name());
      }
      for (ContainerPlan.Mount m : c.mounts()) {
        VolumePlan v =
            plan.volume(m.volume())
                .orElseThrow(
                    () ->
                        new BackendException.InvalidPod(
                            "VolumeNotFound",
                            "container " + c.name() + " mounts unknown volume " + m.volume()));
        if (!m.mountPath().startsWith("/")) {
          throw new BackendException.InvalidPod(
              "InvalidMountPath", "mountPath must be absolute: " + m.mountPath());
        }
        // a bind is "source:target:mode" to Docker: a ':' would change what is bound where
        unbindable("InvalidMountPath", "mountPath of container " + c.name(), m.mountPath());
        unbindable("InvalidSubPath", "subPath of container " + c.name(), m.subPath());
        if (v.type() == VolumePlan.Type.HOST_PATH) {
          unbindable("InvalidHostPath", "hostPath of volume " + v.name(), v.hostPath());
        }
        if (m.subPath() != null && !m.subPath().isEmpty()) {
          if (m.subPath().startsWith("/") || List.of(m.subPath().split("/")).contains("..")) {
            throw new BackendException.InvalidPod(
                "InvalidSubPath", "subPath must be relative and stay inside: " + m.subPath());
          }
          if (v.type() == VolumePlan.Type.EMPTY_DIR) {
            throw new BackendException.InvalidPod(
                "UnsupportedSubPath",
                "the docker backend does not support subPath on emptyDir volume " + v.name());
          }
        }
        if (v.type() == VolumePlan.Type.HOST_PATH
            && (v.hostPath() == null || !v.hostPath().startsWith("/"))) {
          throw new BackendException.InvalidPod(
              "InvalidHostPath", "hostPath of volume " + v.name() + " must be absolute");
        }
      }
      for (ContainerPlan.Port p : c.ports()) {
        if (p.hostPort() != 0 && p.protocol() != null && p.protocol().equalsIgnoreCase("SCTP")) {
          throw new BackendException.InvalidPod(
              "UnsupportedProtocol", "hostPort with SCTP is not supported: " + p);
        }
      }
    }
  }

  /** The sandbox: holds the pod's network and IPC namespaces and its hostPorts. */
  static Spec sandbox(PodPlan plan, String nodeName, DockerSettings settings) {
    Map<String, String> labels = podLabels(plan, nodeName, Names.SANDBOX, Names.ROLE_SANDBOX);
    labels.put(
        Names.LABEL_INIT_CONTAINERS,
        plan.initContainers().stream().map(ContainerPlan::name).collect(Collectors.joining(",")));
    labels.put(
        Names.LABEL_CONTAINERS,
        plan.containers().stream().map(ContainerPlan::name).collect(Collectors.joining(",")));
    labels.put(Names.LABEL_RESTART_POLICY, plan.restartPolicy().toKubernetes());
    Placement.Request req = Placement.Request.of(plan);
    labels.put(Names.LABEL_CPU_REQUEST, Long.toString(req.cpuMillis()));
    labels.put(Names.LABEL_MEMORY_REQUEST, Long.toString(req.memoryBytes()));
    plan.activeDeadline()
        .ifPresent(d -> labels.put(Names.LABEL_ACTIVE_DEADLINE, Long.toString(d.toSeconds())));
    labels.put(Names.LABEL_GRACE, Long.toString(plan.terminationGracePeriod().toSeconds()));
    PodPlan.HostAccess host = plan.hostAccess();
    if (host.network()) {
      labels.put(Names.LABEL_HOST_NETWORK, "true");
    }

    List<ExposedPort> exposed = new ArrayList<>();
    Ports bindings = new Ports();
    plan.allContainers()
        .filter(c -> !host.network()) // on the host's network a port is the host's already
        .flatMap(c -> c.ports().stream())
        .filter(p -> p.hostPort() > 0)
        .forEach(
            p -> {
              ExposedPort e =
                  new ExposedPort(
                      p.containerPort(),
                      "UDP".equalsIgnoreCase(p.protocol())
                          ? InternetProtocol.UDP
                          : InternetProtocol.TCP);
              exposed.add(e);
              bindings.bind(e, Ports.Binding.bindPort(p.hostPort()));
            });
    // it only sleeps: no capability, no way to gain one
    HostConfig hc =
        HostConfig.newHostConfig()
            .withNetworkMode(host.network() ? "host" : settings.network())
            .withIpcMode(host.ipc() ? "host" : "shareable")
            .withRestartPolicy(RestartPolicy.unlessStoppedRestart())
            .withPortBindings(bindings)
            .withBinds(PodVolumes.sandboxBinds(plan))
            .withCapDrop(Capability.ALL)
            .withSecurityOpts(List.of("no-new-privileges"))
            .withPidsLimit((long) settings.maxProcesses());
    if (host.pid()) {
      hc.withPidMode("host");
    }
    String hostname = host.network() ? null : plan.pod().name();
    if (hostname != null && hostname.length() > 63) {
      hostname = hostname.substring(0, 63);
    }
    return new Spec(
        Names.sandbox(plan.pod()),
        settings.sandboxImage(),
        settings.sandboxCommand(),
        null,
        List.of(),
        null,
        hostname,
        null,
        labels,
        exposed,
        hc,
        2);
  }

  /**
   * An init container ({@code initIndex >= 0}) or a container ({@code initIndex < 0}); {@code
   * imageUser} is its image's configured user (for a runAsGroup without runAsUser), {@code
   * volumePaths} the Docker hosts' paths of the pod's volumes it mounts a subPath of ({@link
   * PodVolumes#binds}).
   */
  static Spec container(
      PodPlan plan,
      String nodeName,
      DockerSettings settings,
      ContainerPlan c,
      int initIndex,
      String sandboxId,
      String imageUser,
      Map<String, String> volumePaths) {
    boolean init = initIndex >= 0;
    Map<String, String> labels =
        podLabels(plan, nodeName, c.name(), init ? Names.ROLE_INIT : Names.ROLE_CONTAINER);
    if (init) {
      labels.put(Names.LABEL_INIT_INDEX, Integer.toString(initIndex));
    }
    List<String> env = new ArrayList<>();
    c.env().forEach((k, v) -> env.add(k + "=" + v));

    List<Bind> binds = PodVolumes.binds(plan, c, volumePaths);

    PodPlan.HostAccess host = plan.hostAccess();
    HostConfig hc =
        HostConfig.newHostConfig()
            .withNetworkMode(host.network() ? "host" : "container:" + sandboxId)
            .withIpcMode(host.ipc() ? "host" : "container:" + sandboxId)
            .withRestartPolicy(restartPolicy(plan.restartPolicy(), init))
            .withBinds(binds)
            // its own pid limit: a fork bomb fails in this container, not on the host
            .withPidsLimit((long) settings.maxProcesses());
    if (host.pid()) {
      hc.withPidMode("host");
    }
    applyResources(hc, c.resources());
    SecuritySpecs.apply(c.security(), hc);
    return new Spec(
        Names.container(plan.pod(), c.name()),
        normalizeImage(c.image()),
        c.command().isEmpty() ? null : c.command(),
        c.args().isEmpty() ? null : c.args(),
        env,
        c.workingDir() == null || c.workingDir().isEmpty() ? null : c.workingDir(),
        null,
        SecuritySpecs.user(c.security(), imageUser),
        labels,
        List.of(),
        hc,
        (int) Math.min(Integer.MAX_VALUE, (plan.terminationGracePeriod().toMillis() + 999) / 1000));
  }

  /**
   * Docker restart policy for a pod's restartPolicy. Init containers never restart after success.
   * {@code Always} maps to {@code unless-stopped} so a stopped (cancelled) pod stays stopped.
   */
  static RestartPolicy restartPolicy(PodPlan.RestartPolicy p, boolean init) {
    if (p == PodPlan.RestartPolicy.NEVER) {
      return RestartPolicy.noRestart();
    }
    if (init || p == PodPlan.RestartPolicy.ON_FAILURE) {
      return RestartPolicy.onFailureRestart(0);
    }
    return RestartPolicy.unlessStoppedRestart();
  }

  /** CPU shares from the request (like the kubelet), CFS quota from the limit, memory limit. */
  static void applyResources(HostConfig hc, Resources r) {
    if (r.cpuRequestMillis() > 0 || r.cpuLimitMillis() > 0) {
      hc.withCpuShares((int) Math.max(2, r.cpuMillis() * 1024 / 1000));
    }
    if (r.cpuLimitMillis() > 0) {
      hc.withCpuPeriod(CPU_PERIOD);
      hc.withCpuQuota(Math.max(1000, r.cpuLimitMillis() * CPU_PERIOD / 1000));
    }
    if (r.memoryLimitBytes() > 0) {
      hc.withMemory(r.memoryLimitBytes());
      hc.withMemorySwap(r.memoryLimitBytes());
    }
  }

  /**
   * True when a pod whose sandbox started at {@code startedAt} ran past its activeDeadlineSeconds
   * (a sandbox label) at {@code now}.
   */
  static boolean deadlineExceeded(
      Map<String, String> sandboxLabels, java.time.Instant startedAt, java.time.Instant now) {
    String d = sandboxLabels.get(Names.LABEL_ACTIVE_DEADLINE);
    if (d == null || startedAt == null) {
      return false;
    }
    try {
      return now.isAfter(startedAt.plusSeconds(Long.parseLong(d)));
    } catch (NumberFormatException e) {
      return false;
    }
  }

  /** {@code busybox} → {@code busybox:latest}; digests and tags stay. */
  static String normalizeImage(String image) {
    if (image.contains("@")) {
      return image;
    }
    int slash = image.lastIndexOf('/');
    int colon = image.lastIndexOf(':');
    return colon > slash ? image : image + ":latest";
  }
}
