package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.command.LogContainerCmd;
import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.LogOptions;
import java.io.InputStream;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A container's log from Docker, filtered by Docker itself where it can (tail, since), in bounded
 * memory ({@link LogStream}). A follow ends when the container stops (Docker ends it), when the
 * reader closes it, when its pod is released, and when its host stops answering (checked every few
 * seconds: a silent network would otherwise keep it open for ever). Each stream, follow or not,
 * holds a place in its pod's and its namespace's share of the host's stream connections ({@link
 * StreamQuota}) until it ends or is closed.
 */
final class PodLogs {
  private final String nodeName;
  private final StreamQuota quota;
  private final Map<LogStream, Follow> follows = new ConcurrentHashMap<>();

  private record Follow(DockerHost host, String uid) {}

  PodLogs(String nodeName, StreamQuota quota, ScheduledExecutorService timer) {
    this.nodeName = nodeName;
    this.quota = quota;
    timer.scheduleWithFixedDelay(this::endUnreachable, 5, 5, TimeUnit.SECONDS);
  }

  private void endUnreachable() {
    follows.forEach(
        (s, f) -> {
          if (!f.host().reachable()) {
            end(s, "docker host " + f.host().name() + " stopped answering");
          }
        });
  }

  /** Ends every follow of a pod that is gone. */
  void release(String uid) {
    follows.forEach(
        (s, f) -> {
          if (f.uid().equals(uid)) {
            end(s, "pod " + uid + " is gone");
          }
        });
  }

  private void end(LogStream s, String why) {
    if (follows.remove(s) != null) {
      s.fail(why);
    }
  }

  /** How many follows are open (for tests). */
  int follows() {
    return follows.size();
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
    Map<String, String> labels = c.getLabels();
    StreamQuota.Slot slot =
        quota.logStream(
            host.name(),
            labels.getOrDefault(Names.LABEL_POD_NAMESPACE, ""),
            labels.getOrDefault(Names.LABEL_POD_NAME, uid),
            uid);
    LogStream stream = new LogStream(options.limitBytes());
    if (options.follow()) {
      follows.put(stream, new Follow(host, uid));
    }
    stream.onClose(
        () -> {
          follows.remove(stream);
          slot.close();
        });
    try {
      cmd.exec(stream.callback());
    } catch (RuntimeException e) {
      try {
        stream.close();
      } catch (java.io.IOException closing) {
        // closing a stream that never started
      }
      throw DockerHosts.transientOrWrap(host, "reading the log of container " + container, e);
    }
    return stream;
  }
}
