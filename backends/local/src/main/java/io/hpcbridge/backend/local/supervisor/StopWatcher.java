package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.Records.CancelRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;

/**
 * Stops the pod when asked: watches {@code cancel.json} (written by the backend, so a stop survives
 * a bridge restart) and {@code activeDeadlineSeconds}; sends SIGTERM to every running container at
 * once and SIGKILL (repeated every second) once the grace period is over.
 */
final class StopWatcher implements Runnable {

  private static final Duration WATCH_INTERVAL = Duration.ofMillis(100);
  private static final Duration KILL_REPEAT = Duration.ofSeconds(1);

  private final PodLayout layout;
  private final PodState pod;
  private final Instant deadline;

  StopWatcher(PodLayout layout, PodState pod) {
    this.layout = layout;
    this.pod = pod;
    this.deadline = pod.plan.activeDeadline().map(pod.startTime::plus).orElse(null);
  }

  /** Acts on a stop asked for before the supervisor came up: nothing will start. */
  void checkEarlyCancel() throws IOException {
    CancelRequest early = Json.readIfExists(layout.cancel(), CancelRequest.class);
    if (early != null) {
      stop(early.killAt(), null, null);
    }
  }

  Thread start() {
    Thread t = new Thread(null, this, "stop-watcher", 256 * 1024);
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Override
  public void run() {
    while (true) {
      synchronized (pod) {
        if (pod.finished) {
          return;
        }
      }
      try {
        if (Files.exists(layout.cancel())) {
          CancelRequest req = Json.readIfExists(layout.cancel(), CancelRequest.class);
          if (req != null) {
            stop(req.killAt(), null, null);
          }
        }
      } catch (IOException | RuntimeException e) {
        Supervisor.log("cannot read the cancel request: " + e);
      }
      Instant now = Instant.now();
      if (deadline != null && !now.isBefore(deadline)) {
        stop(
            now.plus(pod.plan.terminationGracePeriod()),
            "DeadlineExceeded",
            "Pod was active on the node longer than the specified deadline");
      }
      enforceKill();
      try {
        Thread.sleep(WATCH_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** SIGTERM now, SIGKILL at {@code kill}; an earlier {@code kill} of a later request wins. */
  void stop(Instant kill, String reason, String message) {
    synchronized (pod) {
      if (!pod.cancelled) {
        pod.cancelled = true;
        pod.killAt = kill;
        if (reason != null) {
          pod.reason(reason, message);
        }
        Supervisor.log(
            "stop requested"
                + (reason == null ? "" : " (" + reason + ")")
                + ": SIGTERM now, SIGKILL at "
                + kill);
        for (ContainerRun r : pod.running) {
          r.signal("TERM");
        }
        pod.notifyAll();
        pod.update();
      } else if (kill.isBefore(pod.killAt)) {
        pod.killAt = kill;
      }
    }
  }

  private void enforceKill() {
    synchronized (pod) {
      if (!pod.cancelled || pod.killAt == null) {
        return;
      }
      Instant now = Instant.now();
      if (now.isBefore(pod.killAt)) {
        return;
      }
      for (ContainerRun r : pod.running) {
        if (r.lastKill == null || !now.isBefore(r.lastKill.plus(KILL_REPEAT))) {
          Supervisor.log(
              "grace period over: SIGKILL to container "
                  + r.container.name()
                  + " (group "
                  + r.pid
                  + ")");
          r.signal("KILL");
          r.lastKill = now;
        }
      }
    }
  }
}
