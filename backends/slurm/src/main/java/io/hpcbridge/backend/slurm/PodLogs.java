package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;

/**
 * A container's log ({@code c/NAME/log} in the pod's directory, written by the wrapper), streamed
 * by a {@link LogStream} from a {@link RemoteLog}: bounded reads, no symlink followed, no thread.
 */
final class PodLogs {
  private final LoginNode login;
  private final Duration poll;

  PodLogs(LoginNode login, Duration poll) {
    this.login = login;
    this.poll = poll;
  }

  InputStream logs(Handle handle, String container, LogOptions options) throws BackendException {
    SlurmHandle i = SlurmHandle.of(handle);
    if (!PodValidator.DNS_LABEL.matcher(container).matches()) {
      throw new BackendException.NotFound("no container " + Invalid.printable(container));
    }
    RemoteLog log =
        new RemoteLog(login, login.podDir(i.uid()), container, options.previous(), i.jobId());
    RemoteLog.Chunk first = log.read(0, 0, false);
    switch (first.state()) {
      case POD_GONE -> throw new BackendException.NotFound("no pod directory for " + handle);
      case NOT_REGULAR ->
          throw new BackendException.NotFound(
              "the log of container " + container + " is not a regular file; it is not served");
      default -> {}
    }
    return new LogStream(log, first, options, Instant.now(), poll);
  }
}
