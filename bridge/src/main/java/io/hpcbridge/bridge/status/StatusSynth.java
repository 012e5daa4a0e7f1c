package io.hpcbridge.bridge.status;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerState;
import io.fabric8.kubernetes.api.model.ContainerStateBuilder;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodConditionBuilder;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.hpcbridge.backend.Observed;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds a Kubernetes {@link PodStatus} from what a backend observed. Pure: the same inputs give
 * the same status, so callers can compare it with the pod's current status and write only changes.
 */
public final class StatusSynth {

  private final String backend;

  public StatusSynth(String backend) {
    this.backend = backend;
  }

  /** The status of a pod accepted but not yet observed: Pending, containers creating. */
  public PodStatus pending(Pod pod, Instant now, String hostIP) {
    List<Observed.ContainerStatus> init = new ArrayList<>();
    for (Container c : list(pod.getSpec().getInitContainers())) {
      init.add(Observed.ContainerStatus.waiting(c.getName(), "PodInitializing", null));
    }
    List<Observed.ContainerStatus> main = new ArrayList<>();
    for (Container c : pod.getSpec().getContainers()) {
      main.add(
          Observed.ContainerStatus.waiting(
              c.getName(), init.isEmpty() ? "ContainerCreating" : "PodInitializing", null));
    }
    return synth(
        pod,
        new Observed(Observed.Phase.PENDING, null, null, hostIP, null, now, init, main),
        now,
        null);
  }

  /** A pod the bridge failed itself (invalid spec): Failed with reason and message. */
  public PodStatus failed(Pod pod, String reason, String message, Instant now) {
    PodStatus prev = pod.getStatus();
    return new PodStatusBuilder()
        .withPhase("Failed")
        .withReason(reason)
        .withMessage(cap(message))
        .withStartTime(prev != null && prev.getStartTime() != null ? prev.getStartTime() : ts(now))
        .withConditions(
            condition(prev, "PodScheduled", true, null, now),
            condition(prev, "Initialized", false, reason, now),
            condition(prev, "ContainersReady", false, reason, now),
            condition(prev, "Ready", false, reason, now))
        .withQosClass(qosClass(pod))
        .build();
  }

  /**
   * The status for {@code observed}. {@code now} stamps conditions whose value changed; unchanged
   * conditions keep their time from the pod's current status.
   */
  public PodStatus synth(Pod pod, Observed observed, Instant now, String fallbackHostIP) {
    PodStatus prev = pod.getStatus();
    List<ContainerStatus> init =
        containers(pod, list(pod.getSpec().getInitContainers()), observed.initContainers(), true);
    List<ContainerStatus> main =
        containers(pod, pod.getSpec().getContainers(), observed.containers(), false);

    boolean initialized =
        init.stream()
            .allMatch(
                c ->
                    c.getState().getTerminated() != null
                        && c.getState().getTerminated().getExitCode() == 0);
    boolean allReady = !main.isEmpty() && main.stream().allMatch(ContainerStatus::getReady);
    String phase = observed.phase().toKubernetes();
    boolean terminal = observed.phase().terminal();
    // The kubelet's reasons: PodCompleted / PodFailed once the pod is over.
    String notReadyReason =
        switch (observed.phase()) {
          case SUCCEEDED -> "PodCompleted";
          case FAILED -> "PodFailed";
          default -> "ContainersNotReady";
        };

    // The API server takes addresses only: a backend's host name is left out, not sent.
    String hostIP = ip(observed.hostIP()) != null ? ip(observed.hostIP()) : ip(fallbackHostIP);
    String podIP = ip(observed.podIP());
    Instant start = observed.startTime() != null ? observed.startTime() : now;
    String startTime =
        prev != null && prev.getStartTime() != null ? prev.getStartTime() : ts(start);

    PodStatusBuilder b =
        new PodStatusBuilder()
            .withPhase(phase)
            .withReason(cap(observed.reason(), 128))
            .withMessage(cap(observed.message()))
            .withHostIP(hostIP)
            .withHostIPs(
                hostIP == null
                    ? List.of()
                    : List.of(new io.fabric8.kubernetes.api.model.HostIP(hostIP)))
            .withStartTime(startTime)
            .withQosClass(qosClass(pod))
            .withConditions(
                condition(
                    prev,
                    "Initialized",
                    initialized || terminal && init.isEmpty(),
                    initialized ? null : "ContainersNotInitialized",
                    now),
                condition(prev, "Ready", allReady, allReady ? null : notReadyReason, now),
                condition(prev, "ContainersReady", allReady, allReady ? null : notReadyReason, now),
                condition(prev, "PodScheduled", true, null, now))
            .withInitContainerStatuses(init)
            .withContainerStatuses(main);
    if (podIP != null) {
      b.withPodIP(podIP).withPodIPs(new PodIP(podIP));
    }
    return b.build();
  }

  private List<ContainerStatus> containers(
      Pod pod, List<Container> specs, List<Observed.ContainerStatus> seen, boolean init) {
    List<ContainerStatus> out = new ArrayList<>();
    for (Container c : specs) {
      Observed.ContainerStatus o =
          seen.stream()
              .filter(s -> s.name().equals(c.getName()))
              .findFirst()
              .orElse(
                  Observed.ContainerStatus.waiting(
                      c.getName(), init ? "PodInitializing" : "ContainerCreating", null));
      ContainerState state = state(o);
      boolean running = o.state() == Observed.State.RUNNING;
      ContainerStatusBuilder b =
          new ContainerStatusBuilder()
              .withName(c.getName())
              .withImage(c.getImage() == null ? "" : c.getImage())
              .withImageID("")
              .withReady(running && !init)
              .withStarted(running)
              .withRestartCount(o.restartCount())
              .withState(state);
      if (o.state() != Observed.State.WAITING) {
        b.withContainerID(backend + "://" + pod.getMetadata().getUid() + "/" + c.getName());
      }
      if (o.lastTermination() != null) {
        Observed.Termination t = o.lastTermination();
        b.withLastState(
            new ContainerStateBuilder()
                .withNewTerminated()
                .withExitCode(t.exitCode())
                .withReason(cap(t.reason(), 128))
                .withMessage(cap(t.message()))
                .withStartedAt(ts(t.startedAt()))
                .withFinishedAt(ts(t.finishedAt()))
                .endTerminated()
                .build());
      }
      out.add(b.build());
    }
    return out;
  }

  private static ContainerState state(Observed.ContainerStatus o) {
    return switch (o.state()) {
      case WAITING ->
          new ContainerStateBuilder()
              .withNewWaiting()
              .withReason(cap(o.reason(), 128))
              .withMessage(cap(o.message()))
              .endWaiting()
              .build();
      case RUNNING ->
          new ContainerStateBuilder()
              .withNewRunning()
              .withStartedAt(ts(o.startedAt()))
              .endRunning()
              .build();
      case TERMINATED -> {
        int code = o.exitCode() == null ? -1 : o.exitCode();
        String reason = o.reason() != null ? o.reason() : code == 0 ? "Completed" : "Error";
        yield new ContainerStateBuilder()
            .withNewTerminated()
            .withExitCode(code)
            .withReason(cap(reason, 128))
            .withMessage(cap(o.message()))
            .withStartedAt(ts(o.startedAt()))
            .withFinishedAt(ts(o.finishedAt()))
            .endTerminated()
            .build();
      }
    };
  }

  private static PodCondition condition(
      PodStatus prev, String type, boolean ok, String reason, Instant now) {
    String status = ok ? "True" : "False";
    String since = ts(now);
    if (prev != null && prev.getConditions() != null) {
      for (PodCondition c : prev.getConditions()) {
        if (type.equals(c.getType())
            && status.equals(c.getStatus())
            && c.getLastTransitionTime() != null) {
          since = c.getLastTransitionTime();
        }
      }
    }
    return new PodConditionBuilder()
        .withType(type)
        .withStatus(status)
        .withReason(ok ? null : reason)
        .withLastProbeTime(null)
        .withLastTransitionTime(since)
        .build();
  }

  /**
   * Guaranteed, Burstable or BestEffort, by the kubelet's rules: only positive CPU and memory
   * quantities count; Guaranteed needs a CPU and a memory limit on every container and the pod's
   * summed requests equal to its summed limits. A missing request is the limit, as the API server
   * defaults it.
   */
  static String qosClass(Pod pod) {
    Map<String, BigDecimal> requests = new HashMap<>();
    Map<String, BigDecimal> limits = new HashMap<>();
    boolean guaranteed = true;
    List<Container> all = new ArrayList<>(list(pod.getSpec().getInitContainers()));
    all.addAll(pod.getSpec().getContainers());
    for (Container c : all) {
      Map<String, Quantity> lim = c.getResources() == null ? null : c.getResources().getLimits();
      Map<String, Quantity> req = new HashMap<>(lim == null ? Map.of() : lim);
      if (c.getResources() != null && c.getResources().getRequests() != null) {
        req.putAll(c.getResources().getRequests());
      }
      lim = lim == null ? Map.of() : lim;
      boolean cpuAndMemoryLimits = true;
      for (String r : List.of("cpu", "memory")) {
        BigDecimal q = positive(req.get(r));
        if (q != null) {
          requests.merge(r, q, BigDecimal::add);
        }
        BigDecimal l = positive(lim.get(r));
        if (l != null) {
          limits.merge(r, l, BigDecimal::add);
        } else {
          cpuAndMemoryLimits = false;
        }
      }
      guaranteed &= cpuAndMemoryLimits;
    }
    if (requests.isEmpty() && limits.isEmpty()) {
      return "BestEffort";
    }
    for (var e : requests.entrySet()) {
      BigDecimal l = limits.get(e.getKey());
      if (l == null || l.compareTo(e.getValue()) != 0) {
        guaranteed = false;
      }
    }
    return guaranteed && requests.size() == limits.size() ? "Guaranteed" : "Burstable";
  }

  private static BigDecimal positive(Quantity q) {
    if (q == null) {
      return null;
    }
    BigDecimal v = Quantity.getAmountInBytes(q);
    return v.signum() > 0 ? v : null;
  }

  private static final java.util.regex.Pattern IPV4 =
      java.util.regex.Pattern.compile(
          "((25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)");
  private static final java.util.regex.Pattern IPV6 =
      java.util.regex.Pattern.compile("[0-9A-Fa-f:.]{2,45}");

  /** {@code text} when it is an IPv4 or IPv6 address, else null. */
  static String ip(String text) {
    if (text == null) {
      return null;
    }
    if (IPV4.matcher(text).matches()) {
      return text;
    }
    if (text.contains(":") && IPV6.matcher(text).matches()) {
      try {
        return java.net.InetAddress.getByName(text) instanceof java.net.Inet6Address ? text : null;
      } catch (java.net.UnknownHostException e) {
        return null;
      }
    }
    return null;
  }

  /** The kubelet's bound on a termination message: whatever a backend reports stays this small. */
  static final int MAX_MESSAGE = 4096;

  /** {@code text} cut to {@link #MAX_MESSAGE} characters (null stays null). */
  public static String cap(String text) {
    return cap(text, MAX_MESSAGE);
  }

  public static String cap(String text, int max) {
    return text == null || text.length() <= max ? text : text.substring(0, max - 1) + "…";
  }

  /** RFC 3339 with second precision, as the API server stores times. */
  public static String ts(Instant t) {
    return t == null
        ? null
        : DateTimeFormatter.ISO_INSTANT.format(t.truncatedTo(ChronoUnit.SECONDS));
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }
}
