package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.Records.PodStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Writes {@code status.json}: replaced atomically on every change, so the backend always reads a
 * whole file, and only ever written by the supervisor.
 */
final class StatusFile {

  private final Path file;

  StatusFile(Path file) {
    this.file = file;
  }

  /** Writes the pod's state; the caller holds the pod's lock. */
  void write(PodState pod) {
    PodStatus s =
        new PodStatus(
            pod.phase(),
            pod.reason,
            pod.message,
            pod.startTime,
            pod.finished ? Instant.now() : null,
            pod.pid,
            pod.startTicks,
            pod.cancelled,
            pod.init.stream().map(ContainerState::status).toList(),
            pod.main.stream().map(ContainerState::status).toList());
    try {
      AtomicFiles.write(file, Json.write(s), 0600);
    } catch (IOException e) {
      Supervisor.log("cannot write status.json: " + e);
    }
  }
}
