package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.CancelRequest;
import io.hpcbridge.backend.local.common.Records.ContainerStatus;
import io.hpcbridge.backend.local.common.Records.PodStatus;
import io.hpcbridge.backend.local.common.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops pods: records the request in {@code cancel.json}, which the supervisor acts on within ~100
 * ms and which holds across a bridge restart. When the supervisor is gone, it signals the
 * containers it left behind itself: SIGTERM now, SIGKILL after the grace period.
 */
final class PodStopper implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(PodStopper.class);

  private final PodDirectory pods;
  private final String kill;
  private final ScheduledExecutorService killer;

  PodStopper(PodDirectory pods, String kill) {
    this.pods = pods;
    this.kill = kill;
    this.killer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "local-backend-kill");
              t.setDaemon(true);
              return t;
            });
  }

  void cancel(String uid, PodLayout l, Duration grace) throws BackendException {
    if (!Files.isDirectory(l.dir())) {
      throw new BackendException.NotFound("no local pod " + uid);
    }
    Instant now = Instant.now();
    Instant killAt = now.plus(grace == null || grace.isNegative() ? Duration.ZERO : grace);
    try {
      synchronized (pods.lock(uid)) {
        CancelRequest old = Json.readIfExists(l.cancel(), CancelRequest.class);
        if (old == null || killAt.isBefore(old.killAt())) {
          AtomicFiles.write(
              l.cancel(),
              Json.write(new CancelRequest(old == null ? now : old.requestedAt(), killAt)),
              0600);
          LOG.info("pod {}: stop requested, SIGKILL at {}", uid, killAt);
        } else {
          killAt = old.killAt();
        }
      }
      PodStatus s = StatusReader.status(l);
      if (s != null
          && s.finishedAt() == null
          && !s.phase().terminal()
          && !StatusReader.supervisorAlive(s)) {
        signalOrphans(s, killAt);
      }
    } catch (IOException e) {
      throw new BackendException.Transient(
          "local: cannot record the stop request: " + e.getMessage(), e);
    }
  }

  private void signalOrphans(PodStatus s, Instant killAt) {
    List<ContainerStatus> all = new ArrayList<>(s.initContainers());
    all.addAll(s.containers());
    for (ContainerStatus c : all) {
      if (c.state() != Observed.State.RUNNING || !ProcFs.alive(c.pid(), c.pidStartTicks())) {
        continue;
      }
      long delay = Duration.between(Instant.now(), killAt).toMillis();
      if (delay > 0) {
        LOG.info("supervisor gone: SIGTERM to container {} (group {})", c.name(), c.pid());
        Tools.killGroup(kill, c.pid(), "TERM");
        killer.schedule(
            () -> {
              if (ProcFs.alive(c.pid(), c.pidStartTicks())) {
                Tools.killGroup(kill, c.pid(), "KILL");
              }
            },
            delay,
            TimeUnit.MILLISECONDS);
      } else {
        Tools.killGroup(kill, c.pid(), "KILL");
      }
    }
  }

  @Override
  public void close() {
    killer.shutdown();
  }
}
