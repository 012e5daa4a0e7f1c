package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.TimestampedLog;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.Records.ContainerStatus;
import io.hpcbridge.backend.local.common.Records.PodStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * Serves container logs from the pod directory: one file per run, read with {@link TimestampedLog};
 * a follow ends when the run can write no more (it ended, or its supervisor is gone).
 */
final class PodLogs {

  private static final Duration FOLLOW_POLL = Duration.ofMillis(200);

  InputStream logs(String uid, PodLayout l, String container, LogOptions options)
      throws BackendException {
    if (!PodDirectory.safeName(container)) {
      throw new BackendException.NotFound("no container '" + container + "' in pod " + uid);
    }
    try {
      PodStatus s = StatusReader.status(l);
      ContainerStatus c = s == null ? null : s.container(container);
      if (c == null) {
        if (!Files.isDirectory(l.dir())) {
          throw new BackendException.NotFound("no local pod " + uid);
        }
        PodPlan plan = Json.readIfExists(l.plan(), PodPlan.class);
        if (plan != null && plan.allContainers().noneMatch(x -> x.name().equals(container))) {
          throw new BackendException.NotFound("no container '" + container + "' in pod " + uid);
        }
        throw new BackendException.NotFound("container '" + container + "' is waiting to start");
      }
      int run = options.previous() ? c.runs() - 2 : c.runs() - 1;
      if (run < 0) {
        throw new BackendException.NotFound(
            options.previous()
                ? "previous terminated container '" + container + "' not found"
                : "container '" + container + "' is waiting to start");
      }
      Path file = l.log(container, run);
      if (!Files.exists(file)) {
        throw new BackendException.NotFound("no log for container '" + container + "' run " + run);
      }
      Instant now = Instant.now();
      if (!options.follow()) {
        return TimestampedLog.read(file, options, now);
      }
      return TimestampedLog.follow(
          file, options, now, () -> StatusReader.runOver(l, container, run), FOLLOW_POLL);
    } catch (IOException e) {
      throw new BackendException.Transient("local: cannot read the log: " + e.getMessage(), e);
    }
  }
}
