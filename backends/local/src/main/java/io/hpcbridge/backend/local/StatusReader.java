package io.hpcbridge.backend.local;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.ContainerStatus;
import io.hpcbridge.backend.local.common.Records.Launched;
import io.hpcbridge.backend.local.common.Records.PodStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads what a pod directory says of its pod: {@code status.json} while the supervisor lives, and
 * what is left to say when it never came up or died without recording the end.
 */
final class StatusReader {

  private final String hostIP;
  private final Duration startTimeout;

  StatusReader(String hostIP, Duration startTimeout) {
    this.hostIP = hostIP;
    this.startTimeout = startTimeout;
  }

  Observed observe(PodLayout l) throws IOException {
    if (!Files.isDirectory(l.dir())) {
      return Observed.unknown("NotFound", "the local pod directory " + l.dir() + " does not exist");
    }
    PodStatus s = Json.readIfExists(l.status(), PodStatus.class);
    if (s == null) {
      return beforeSupervisor(l);
    }
    if (s.phase().terminal() || s.finishedAt() != null || supervisorAlive(s)) {
      return observed(s.phase(), s.reason(), s.message(), s);
    }
    // The supervisor is gone: it may just have written its last status and exited.
    s = Json.read(l.status(), PodStatus.class);
    if (s.phase().terminal() || s.finishedAt() != null) {
      return observed(s.phase(), s.reason(), s.message(), s);
    }
    return supervisorLost(s);
  }

  /** The status file, or null before the supervisor wrote one. */
  static PodStatus status(PodLayout l) throws IOException {
    return Json.readIfExists(l.status(), PodStatus.class);
  }

  static boolean supervisorAlive(PodStatus s) {
    return ProcFs.alive(s.supervisorPid(), s.supervisorStartTicks());
  }

  /** Whether run {@code run} of a container can write no more lines. */
  static boolean runOver(PodLayout l, String container, int run) {
    try {
      PodStatus s = status(l);
      if (s == null) {
        return true;
      }
      ContainerStatus c = s.container(container);
      if (c == null || c.runs() - 1 > run || c.state() != Observed.State.RUNNING) {
        return true;
      }
      return s.finishedAt() != null || !supervisorAlive(s);
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }

  private Observed observed(Observed.Phase phase, String reason, String message, PodStatus s) {
    return new Observed(
        phase,
        reason,
        message,
        hostIP,
        hostIP,
        s.startTime(),
        s.initContainers().stream().map(ContainerStatus::toObserved).toList(),
        s.containers().stream().map(ContainerStatus::toObserved).toList());
  }

  /** No status.json yet: the supervisor is starting, or never came up. */
  private Observed beforeSupervisor(PodLayout l) throws IOException {
    Launched launched = Json.readIfExists(l.launched(), Launched.class);
    Instant since =
        launched != null ? launched.at() : Files.getLastModifiedTime(l.dir()).toInstant();
    PodPlan plan = Json.readIfExists(l.plan(), PodPlan.class);
    List<Observed.ContainerStatus> init = new ArrayList<>();
    List<Observed.ContainerStatus> main = new ArrayList<>();
    if (plan != null) {
      String mainReason = plan.initContainers().isEmpty() ? "ContainerCreating" : "PodInitializing";
      plan.initContainers()
          .forEach(
              c -> init.add(Observed.ContainerStatus.waiting(c.name(), "PodInitializing", null)));
      plan.containers()
          .forEach(c -> main.add(Observed.ContainerStatus.waiting(c.name(), mainReason, null)));
    }
    if (Instant.now().isBefore(since.plus(startTimeout))) {
      return new Observed(Observed.Phase.PENDING, null, null, hostIP, hostIP, since, init, main);
    }
    String why =
        launched == null
            ? "the pod was never launched (submit did not finish)"
            : "the local supervisor did not start within " + startTimeout.toSeconds() + "s";
    return new Observed(
        Observed.Phase.FAILED,
        "SupervisorFailedToStart",
        why + tail(l.supervisorLog()),
        hostIP,
        hostIP,
        since,
        init,
        main);
  }

  /** The last few hundred bytes of the supervisor's output, for a message. */
  private static String tail(Path file) {
    try (FileChannel ch = FileChannel.open(file)) {
      long size = ch.size();
      if (size == 0) {
        return "";
      }
      ByteBuffer b = ByteBuffer.allocate((int) Math.min(600, size));
      ch.read(b, size - b.capacity());
      return "; supervisor output: "
          + new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** The supervisor died without recording the end: say so, and what is known. */
  private Observed supervisorLost(PodStatus s) {
    boolean anyAlive = false;
    List<ContainerStatus> all = new ArrayList<>(s.initContainers());
    all.addAll(s.containers());
    for (ContainerStatus c : all) {
      if (c.state() == Observed.State.RUNNING && ProcFs.alive(c.pid(), c.pidStartTicks())) {
        anyAlive = true;
      }
    }
    String what =
        "the local supervisor (pid "
            + s.supervisorPid()
            + ") exited without recording the end of the pod";
    if (anyAlive) {
      return observed(
          Observed.Phase.UNKNOWN,
          "SupervisorLost",
          what + "; its containers still run, but their exit codes cannot be recorded",
          s);
    }
    Observed o = observed(Observed.Phase.FAILED, "SupervisorLost", what, s);
    return new Observed(
        o.phase(),
        o.reason(),
        o.message(),
        o.hostIP(),
        o.podIP(),
        o.startTime(),
        o.initContainers().stream().map(StatusReader::lost).toList(),
        o.containers().stream().map(StatusReader::lost).toList());
  }

  private static Observed.ContainerStatus lost(Observed.ContainerStatus c) {
    if (c.state() != Observed.State.RUNNING) {
      return c;
    }
    return new Observed.ContainerStatus(
        c.name(),
        Observed.State.TERMINATED,
        "ContainerStatusUnknown",
        "The container could not be located when the pod was terminated",
        137,
        c.startedAt(),
        null,
        c.restartCount(),
        c.lastTermination());
  }
}
