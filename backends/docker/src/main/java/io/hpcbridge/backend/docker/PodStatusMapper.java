package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.ContainerStatus;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.Observed.State;
import io.hpcbridge.backend.PodPhaseRules;
import io.hpcbridge.backend.PodPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Turns the containers of one pod into an {@link Observed}. Pure, unit tested. */
public final class PodStatusMapper {

  private PodStatusMapper() {}

  /** A waiting reason known to the backend but not to Docker, e.g. a failed pull. */
  public record Waiting(String reason, String message) {}

  /**
   * Everything known about one pod.
   *
   * @param restartPolicy the pod's restart policy
   * @param initNames init container names, in order
   * @param names container names
   * @param sandbox the sandbox, or null when missing
   * @param containers the pod's other containers by name
   * @param waiting per-container waiting reasons for containers not created yet
   * @param cancelled true once the pod was asked to stop
   * @param hostIP the Docker host's address
   */
  public record PodView(
      PodPlan.RestartPolicy restartPolicy,
      List<String> initNames,
      List<String> names,
      ContainerView sandbox,
      Map<String, ContainerView> containers,
      Map<String, Waiting> waiting,
      boolean cancelled,
      String hostIP) {}

  /**
   * What the backend knows of a pod beyond Docker's own state.
   *
   * @param cancelled the pod was asked to stop (or ran past its deadline)
   * @param deadlineExceeded the pod ran past its activeDeadlineSeconds
   * @param waiting per-container waiting reasons (failed pulls, config errors)
   * @param startErrors per-container errors of the last failed start
   */
  public record PodFacts(
      boolean cancelled,
      boolean deadlineExceeded,
      Map<String, Waiting> waiting,
      Map<String, String> startErrors) {
    public static final PodFacts NONE = new PodFacts(false, false, Map.of(), Map.of());

    public PodFacts {
      waiting = Map.copyOf(waiting);
      startErrors = Map.copyOf(startErrors);
    }
  }

  /**
   * The pod as the bridge sees it, from its containers' views (the sandbox among them), what the
   * backend knows beyond Docker, the host's address and the time now. {@code podIpFallback} is the
   * sandbox's last known address, for a sandbox already stopped.
   */
  static Observed observe(
      java.util.Collection<ContainerView> views,
      PodFacts facts,
      String hostIP,
      java.time.Instant now,
      String podIpFallback) {
    ContainerView sandbox =
        views.stream().filter(v -> Names.ROLE_SANDBOX.equals(v.role())).findFirst().orElse(null);
    if (sandbox == null) {
      return Observed.unknown("SandboxNotFound", "no containers of this pod on its docker host");
    }
    Map<String, ContainerView> byName = new java.util.HashMap<>();
    for (ContainerView v : views) {
      if (Names.ROLE_SANDBOX.equals(v.role())) {
        continue;
      }
      String err = facts.startErrors().get(v.name());
      if (err != null && v.notStarted()) {
        v = v.failedToStart(err);
      }
      byName.put(v.name(), v);
    }
    PodPlan.RestartPolicy policy;
    try {
      policy =
          PodPlan.RestartPolicy.fromKubernetes(sandbox.labels().get(Names.LABEL_RESTART_POLICY));
    } catch (IllegalArgumentException e) {
      policy = PodPlan.RestartPolicy.ALWAYS;
    }
    ContainerView sb = sandbox;
    if ("true".equals(sandbox.labels().get(Names.LABEL_HOST_NETWORK))) {
      sb = sb.withIp(hostIP); // hostNetwork: the pod's address is the host's, like the kubelet's
    } else if ((sb.ip() == null || sb.ip().isEmpty()) && podIpFallback != null) {
      sb = sb.withIp(podIpFallback);
    }
    boolean deadline =
        facts.deadlineExceeded()
            || (!facts.cancelled()
                && ContainerSpecs.deadlineExceeded(sandbox.labels(), sandbox.startedAt(), now));
    Observed o =
        map(
            new PodView(
                policy,
                Names.split(sandbox.labels().get(Names.LABEL_INIT_CONTAINERS)),
                Names.split(sandbox.labels().get(Names.LABEL_CONTAINERS)),
                sb,
                byName,
                facts.waiting(),
                facts.cancelled() || deadline,
                hostIP));
    if (deadline) {
      // like the kubelet: the pod fails at once, its containers are being stopped
      o =
          new Observed(
              Phase.FAILED,
              "DeadlineExceeded",
              "Pod was active on the node longer than the specified deadline",
              o.hostIP(),
              o.podIP(),
              o.startTime(),
              o.initContainers(),
              o.containers());
    }
    return o;
  }

  /**
   * The pod's phase by the kubelet's rules ({@link PodPhaseRules}); what those rules cannot know is
   * the backend's: a cancelled pod ends once nothing of it runs, and a failed init container names
   * itself in the reason.
   */
  public static Observed map(PodView p) {
    if (p.sandbox() == null) {
      return Observed.unknown(
          "SandboxNotFound", "the pod's sandbox container is gone from its Docker host");
    }
    List<ContainerStatus> inits = new ArrayList<>();
    boolean initsDone = true;
    String initFailure = null;
    for (String n : p.initNames()) {
      ContainerView v = p.containers().get(n);
      inits.add(status(p, n, v, "PodInitializing", true));
      if (initsDone && !(v != null && v.exited() && v.exitCode() == 0)) {
        initsDone = false;
        if (v != null && v.exited() && v.exitCode() != 0) {
          initFailure =
              "init container "
                  + n
                  + " failed with exit code "
                  + v.exitCode()
                  + (v.oomKilled() ? " (OOMKilled)" : "");
        }
      }
    }
    List<ContainerStatus> mains = new ArrayList<>();
    for (String n : p.names()) {
      mains.add(
          status(
              p,
              n,
              p.containers().get(n),
              initsDone ? "ContainerCreating" : "PodInitializing",
              false));
    }
    boolean anyActive = p.containers().values().stream().anyMatch(ContainerView::active);

    Phase phase;
    String reason = null;
    String message = null;
    if (p.cancelled()) {
      phase = anyActive ? Phase.RUNNING : PodPhaseRules.ended(inits, mains);
      if (phase == Phase.FAILED) {
        reason = "Terminated";
        message = "the pod was stopped";
      }
    } else {
      phase = PodPhaseRules.phase(p.restartPolicy(), inits, mains);
    }
    if (phase == Phase.FAILED && initFailure != null && !anyActive) {
      reason = "InitContainerFailed";
      message = initFailure;
    }
    ContainerView sb = p.sandbox();
    return new Observed(
        phase,
        reason,
        message,
        p.hostIP(),
        sb.ip() == null || sb.ip().isEmpty() ? null : sb.ip(),
        sb.startedAt(),
        inits,
        mains);
  }

  private static ContainerStatus status(
      PodView p, String name, ContainerView v, String pendingReason, boolean init) {
    if (v == null || v.notStarted()) {
      Waiting w = p.waiting().get(name);
      if (w != null) {
        return ContainerStatus.waiting(name, w.reason(), w.message());
      }
      if (v != null && v.error() != null && !v.error().isEmpty()) {
        return ContainerStatus.waiting(name, "CreateContainerError", v.error());
      }
      return ContainerStatus.waiting(name, pendingReason, null);
    }
    if (v.running()) {
      return new ContainerStatus(
          name,
          State.RUNNING,
          null,
          null,
          null,
          v.startedAt(),
          null,
          v.restartCount(),
          v.lastTermination());
    }
    boolean willRestart =
        !p.cancelled()
            && (v.restarting()
                || (v.exited() && PodPhaseRules.restarts(p.restartPolicy(), init, v.exitCode())));
    if (willRestart) {
      return new ContainerStatus(
          name,
          State.WAITING,
          "CrashLoopBackOff",
          "back-off restarting failed container " + name,
          null,
          null,
          null,
          v.restartCount(),
          v.termination());
    }
    return new ContainerStatus(
        name,
        State.TERMINATED,
        v.terminationReason(),
        v.error() == null || v.error().isEmpty() ? null : v.error(),
        v.exitCode(),
        v.startedAt(),
        v.finishedAt(),
        v.restartCount(),
        v.lastTermination());
  }
}
