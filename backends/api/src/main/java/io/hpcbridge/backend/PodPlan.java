package io.hpcbridge.backend;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Everything a backend needs to run a pod, already resolved by the bridge: env values, files of
 * ConfigMap/Secret/downwardAPI volumes, resources. Backends never call Kubernetes.
 *
 * @param pod identity of the pod
 * @param nodeName the node the pod is bound to
 * @param initContainers run in order before {@code containers}; a failure stops the pod
 * @param containers run in parallel
 * @param volumes the pod's volumes with their files materialized
 * @param restartPolicy what to do when a container exits
 * @param terminationGracePeriod time between SIGTERM and SIGKILL
 * @param activeDeadline optional wall-clock limit of the pod
 * @param labels the pod's labels
 * @param annotations the pod's annotations (backends read their runtime options here)
 * @param hostAccess which of the host's namespaces the pod shares (the policy allowed them)
 * @param allowedHosts the backend hosts (e.g. Docker hosts) the pod may be placed on; empty means
 *     any
 */
public record PodPlan(
    PodRef pod,
    String nodeName,
    List<ContainerPlan> initContainers,
    List<ContainerPlan> containers,
    List<VolumePlan> volumes,
    RestartPolicy restartPolicy,
    Duration terminationGracePeriod,
    Optional<Duration> activeDeadline,
    Map<String, String> labels,
    Map<String, String> annotations,
    HostAccess hostAccess,
    List<String> allowedHosts) {

  /** A pod that shares none of the host's namespaces and may be placed anywhere. */
  public PodPlan(
      PodRef pod,
      String nodeName,
      List<ContainerPlan> initContainers,
      List<ContainerPlan> containers,
      List<VolumePlan> volumes,
      RestartPolicy restartPolicy,
      Duration terminationGracePeriod,
      Optional<Duration> activeDeadline,
      Map<String, String> labels,
      Map<String, String> annotations) {
    this(
        pod,
        nodeName,
        initContainers,
        containers,
        volumes,
        restartPolicy,
        terminationGracePeriod,
        activeDeadline,
        labels,
        annotations,
        HostAccess.NONE,
        List.of());
  }

  /**
   * The host namespaces a pod shares ({@code hostNetwork}, {@code hostPID}, {@code hostIPC}).
   * Backends whose pods always share them (local processes, Slurm jobs) say so in their README.
   */
  public record HostAccess(boolean network, boolean pid, boolean ipc) {
    public static final HostAccess NONE = new HostAccess(false, false, false);
  }

  public PodPlan {
    Objects.requireNonNull(pod, "pod");
    initContainers = List.copyOf(initContainers);
    containers = List.copyOf(containers);
    volumes = List.copyOf(volumes);
    Objects.requireNonNull(restartPolicy, "restartPolicy");
    Objects.requireNonNull(terminationGracePeriod, "terminationGracePeriod");
    activeDeadline = activeDeadline == null ? Optional.empty() : activeDeadline;
    labels = Map.copyOf(labels == null ? Map.of() : labels);
    annotations = Map.copyOf(annotations == null ? Map.of() : annotations);
    hostAccess = hostAccess == null ? HostAccess.NONE : hostAccess;
    allowedHosts = List.copyOf(allowedHosts == null ? List.of() : allowedHosts);
    if (containers.isEmpty()) {
      throw new IllegalArgumentException("a pod needs at least one container");
    }
  }

  public enum RestartPolicy {
    ALWAYS,
    ON_FAILURE,
    NEVER;

    /** Parses Kubernetes' spelling ({@code Always}, {@code OnFailure}, {@code Never}). */
    public static RestartPolicy fromKubernetes(String value) {
      if (value == null || value.isEmpty() || value.equals("Always")) {
        return ALWAYS;
      }
      return switch (value) {
        case "OnFailure" -> ON_FAILURE;
        case "Never" -> NEVER;
        default -> throw new IllegalArgumentException("unknown restartPolicy " + value);
      };
    }

    public String toKubernetes() {
      return switch (this) {
        case ALWAYS -> "Always";
        case ON_FAILURE -> "OnFailure";
        case NEVER -> "Never";
      };
    }
  }

  /** Init containers then containers, in order. */
  public Stream<ContainerPlan> allContainers() {
    return Stream.concat(initContainers.stream(), containers.stream());
  }

  public Optional<VolumePlan> volume(String name) {
    return volumes.stream().filter(v -> v.name().equals(name)).findFirst();
  }

  /** The annotation value, if set. */
  public Optional<String> annotation(String key) {
    return Optional.ofNullable(annotations.get(key));
  }

  /**
   * A copy safe to store or print: values of env vars from Secrets and contents of secret files are
   * replaced by {@code <redacted>}.
   */
  public PodPlan redacted() {
    return withContainers(
            initContainers.stream().map(ContainerPlan::redacted).toList(),
            containers.stream().map(ContainerPlan::redacted).toList())
        .withVolumes(volumes.stream().map(VolumePlan::redacted).toList());
  }

  /** A copy with other volumes (e.g. without their file contents, or one of them updated). */
  public PodPlan withVolumes(List<VolumePlan> vols) {
    return copy(initContainers, containers, vols, activeDeadline, hostAccess, allowedHosts);
  }

  /** A copy with other containers (e.g. with another securityContext). */
  public PodPlan withContainers(List<ContainerPlan> init, List<ContainerPlan> main) {
    return copy(init, main, volumes, activeDeadline, hostAccess, allowedHosts);
  }

  /** A copy with another wall-clock limit (a policy's cap). */
  public PodPlan withDeadline(Duration deadline) {
    return copy(
        initContainers,
        containers,
        volumes,
        Optional.ofNullable(deadline),
        hostAccess,
        allowedHosts);
  }

  /** A copy with other host access and allowed hosts (what the policy decided). */
  public PodPlan withPlacement(HostAccess access, List<String> hosts) {
    return copy(initContainers, containers, volumes, activeDeadline, access, hosts);
  }

  private PodPlan copy(
      List<ContainerPlan> init,
      List<ContainerPlan> main,
      List<VolumePlan> vols,
      Optional<Duration> deadline,
      HostAccess access,
      List<String> hosts) {
    return new PodPlan(
        pod,
        nodeName,
        init,
        main,
        vols,
        restartPolicy,
        terminationGracePeriod,
        deadline,
        labels,
        annotations,
        access,
        hosts);
  }
}
