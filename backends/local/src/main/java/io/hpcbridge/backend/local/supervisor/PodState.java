package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPhaseRules;
import io.hpcbridge.backend.PodPlan;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What the supervisor knows of its pod. Every field is guarded by this object's monitor, and every
 * change is followed by {@link #update()}, which rewrites {@code status.json}.
 */
final class PodState {

  /** Pod-level reasons that fail the pod whatever its containers' exit codes. */
  static final Set<String> FAILING_REASONS = Set.of("DeadlineExceeded", "SupervisorError");

  final PodPlan plan;
  final List<ContainerState> init = new ArrayList<>();
  final List<ContainerState> main = new ArrayList<>();
  final Set<ContainerRun> running = new HashSet<>();
  private final StatusFile file;
  final Instant startTime;
  final long pid;
  final long startTicks;
  boolean cancelled;
  Instant killAt;
  boolean finished;
  String reason;
  String message;

  PodState(PodPlan plan, StatusFile file, long pid, long startTicks, Instant startTime) {
    this.plan = plan;
    this.file = file;
    this.pid = pid;
    this.startTicks = startTicks;
    this.startTime = startTime;
    String mainWaiting = plan.initContainers().isEmpty() ? "ContainerCreating" : "PodInitializing";
    for (ContainerPlan c : plan.initContainers()) {
      init.add(new ContainerState(c, true, "PodInitializing"));
    }
    for (ContainerPlan c : plan.containers()) {
      main.add(new ContainerState(c, false, mainWaiting));
    }
  }

  /** Writes {@code status.json}; call after every change. */
  synchronized void update() {
    file.write(this);
  }

  /** The pod's phase: the kubelet's rules, then pod-level facts the rules cannot know. */
  synchronized Observed.Phase phase() {
    List<Observed.ContainerStatus> i = init.stream().map(c -> c.status().toObserved()).toList();
    List<Observed.ContainerStatus> m = main.stream().map(c -> c.status().toObserved()).toList();
    if (!finished) {
      Observed.Phase p = PodPhaseRules.phase(plan.restartPolicy(), i, m);
      if (!p.terminal()) {
        return p;
      }
      // The end is the supervisor's to record, with its reason: until then, not yet terminal.
      boolean initDone =
          i.stream().allMatch(c -> c.state() == Observed.State.TERMINATED && c.exitCode() == 0);
      return initDone ? Observed.Phase.RUNNING : Observed.Phase.PENDING;
    }
    if (reason != null && FAILING_REASONS.contains(reason)) {
      return Observed.Phase.FAILED;
    }
    return PodPhaseRules.ended(i, m);
  }

  /** Records a pod-level reason (the first one wins). */
  synchronized void reason(String reason, String message) {
    if (this.reason == null) {
      this.reason = reason;
      this.message = message;
    }
  }

  synchronized void finish() {
    finished = true;
    update();
  }

  /** Whether restarts and new starts are off: a stop was asked for or the pod is over. */
  synchronized boolean stopping() {
    return cancelled || finished;
  }
}
