package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.command.LogContainerCmd;
import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.LogOptions;
import java.io.InputStream;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/** A container's log from Docker, filtered by Docker itself where it can (tail, since). */
final class PodLogs {
  private final String nodeName;

  PodLogs(String nodeName) {
    this.nodeName = nodeName;
  }

  InputStream logs(DockerHost host, String uid, String container, LogOptions options)
      throws BackendException {
    if (options.previous()) {
      throw new BackendException.NotFound(
          "the docker backend keeps no log of a previous run of container " + container);
    }
    Optional<Container> found;
    try {
      found =
          host
              .client
              .listContainersCmd()
              .withShowAll(true)
              .withLabelFilter(
                  Map.of(
                      Names.LABEL_POD_UID, uid,
                      Names.LABEL_NODE, nodeName,
                      Names.LABEL_CONTAINER_NAME, container))
              .exec()
              .stream()
              .filter(x -> !Containers.isSandbox(x))
              .findFirst();
    } catch (RuntimeException e) {
      throw DockerHosts.transientOrWrap(host, "listing containers", e);
    }
    if (found.isEmpty()) {
      throw new BackendException.NotFound(
          "container " + container + " of pod " + uid + " does not exist (yet)");
    }
    Container c = found.get();
    if ("created".equals(c.getState())) {
      return InputStream.nullInputStream();
    }
    LogContainerCmd cmd =
        host.streams
            .logContainerCmd(c.getId())
            .withStdOut(true)
            .withStdErr(true)
            .withFollowStream(options.follow())
            .withTimestamps(options.timestamps());
    if (options.tailLines() != null) {
      cmd.withTail(Math.max(0, options.tailLines()));
    } else {
      cmd.withTailAll();
    }
    Instant since = options.since(Instant.now());
    if (since != null) {
      cmd.withSince((int) Math.max(0, since.getEpochSecond()));
    }
    LogStream stream = new LogStream(options.limitBytes());
    cmd.exec(stream.callback());
    return stream;
  }
}
