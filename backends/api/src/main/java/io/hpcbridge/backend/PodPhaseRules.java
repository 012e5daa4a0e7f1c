package io.hpcbridge.backend;

import io.hpcbridge.backend.Observed.ContainerStatus;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.Observed.State;
import io.hpcbridge.backend.PodPlan.RestartPolicy;
import java.util.List;

/**
 * The kubelet's rules for a pod's phase and for restarting its containers, written once for every
 * backend. A backend reports its containers' states; these rules say what phase the pod is in.
 *
 * <p>Init containers: the pod is Pending until each has terminated with exit code 0; one that
 * failed makes the pod Failed only under {@code restartPolicy: Never} (otherwise it is retried).
 * Containers: any still waiting for its first start keeps the pod Pending; any running makes it
 * Running; when all have stopped, the pod is Succeeded if all exited 0 and the policy is not
 * Always, Failed under Never with a failure, and otherwise Running (they are being restarted). A
 * container waiting after a termination (crash loop) counts as stopped, like the kubelet does.
 */
public final class PodPhaseRules {

  private PodPhaseRules() {}

  /** Whether a container that just exited with {@code exitCode} is started again. */
  public static boolean restarts(RestartPolicy policy, boolean init, int exitCode) {
    return switch (policy) {
      case NEVER -> false;
      case ON_FAILURE -> exitCode != 0;
      case ALWAYS -> !init || exitCode != 0; // an init container that succeeded is done
    };
  }

  /** The phase of a pod whose containers are still managed (may be restarted). */
  public static Phase phase(
      RestartPolicy policy, List<ContainerStatus> init, List<ContainerStatus> main) {
    boolean initFailed = false;
    boolean initPending = false;
    for (ContainerStatus c : init) {
      if (succeeded(c)) {
        continue;
      }
      if (failed(c)) {
        initFailed = true;
      } else {
        initPending = true;
      }
    }
    if (initFailed && policy == RestartPolicy.NEVER) {
      return Phase.FAILED;
    }
    if (initFailed || initPending) {
      return Phase.PENDING;
    }
    int waiting = 0;
    int running = 0;
    int stopped = 0;
    int succeeded = 0;
    for (ContainerStatus c : main) {
      switch (c.state()) {
        case RUNNING -> running++;
        case TERMINATED -> {
          stopped++;
          if (exitCode(c) == 0) {
            succeeded++;
          }
        }
        case WAITING -> {
          if (c.lastTermination() != null) {
            stopped++; // restarting after a termination
          } else {
            waiting++;
          }
        }
      }
    }
    if (waiting > 0 || main.isEmpty()) {
      return Phase.PENDING;
    }
    if (running > 0) {
      return Phase.RUNNING;
    }
    if (policy == RestartPolicy.ALWAYS) {
      return Phase.RUNNING;
    }
    if (stopped == succeeded) {
      return Phase.SUCCEEDED;
    }
    return policy == RestartPolicy.NEVER ? Phase.FAILED : Phase.RUNNING;
  }

  /**
   * The phase of a pod that can run no more (its job, process group or sandbox is gone): Succeeded
   * when every init container and container terminated with exit code 0, else Failed.
   */
  public static Phase ended(List<ContainerStatus> init, List<ContainerStatus> main) {
    if (main.isEmpty()) {
      return Phase.FAILED;
    }
    for (ContainerStatus c : init) {
      if (!succeeded(c)) {
        return Phase.FAILED;
      }
    }
    for (ContainerStatus c : main) {
      if (!succeeded(c)) {
        return Phase.FAILED;
      }
    }
    return Phase.SUCCEEDED;
  }

  private static boolean succeeded(ContainerStatus c) {
    return c.state() == State.TERMINATED && exitCode(c) == 0;
  }

  /** Terminated with a failure, or waiting to be restarted after one. */
  private static boolean failed(ContainerStatus c) {
    if (c.state() == State.TERMINATED) {
      return exitCode(c) != 0;
    }
    return c.state() == State.WAITING
        && c.lastTermination() != null
        && c.lastTermination().exitCode() != 0;
  }

  private static int exitCode(ContainerStatus c) {
    return c.exitCode() == null ? -1 : c.exitCode();
  }
}
