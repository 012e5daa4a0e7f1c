package io.hpcbridge.backend.local.common;

import java.nio.file.Path;

/**
 * The files of one pod directory {@code <workDir>/<podUid>/} (root's, mode 0711 when the bridge
 * runs as root: the pod may pass through to its working directory, never write here):
 *
 * <pre>
 * plan.json            the pod plan (0600: holds env values; volume contents live in volumes/)
 * options.json         supervisor options: restart backoff, tool paths, who each container runs as
 * launched             written once the supervisor was started; makes submit idempotent
 * supervisor.log       the supervisor's own output
 * status.json          pod and container state, written only by the supervisor (atomically)
 * cancel.json          a stop request with its SIGKILL deadline, written by cancel()
 * volumes/NAME/        materialized volumes; emptyDir ones are the pod's
 * work/                the default working directory of containers, the pod's
 * containers/NAME/N.log  run N (0 = first, N = restart count) of a container, timestamped lines
 * gates/NAME.N.WHAT    while run N of a container starts: its start gates (see the supervisor's Gate)
 * </pre>
 */
public record PodLayout(Path dir) {

  public Path plan() {
    return dir.resolve("plan.json");
  }

  public Path options() {
    return dir.resolve("options.json");
  }

  public Path launched() {
    return dir.resolve("launched");
  }

  public Path supervisorLog() {
    return dir.resolve("supervisor.log");
  }

  public Path status() {
    return dir.resolve("status.json");
  }

  public Path cancel() {
    return dir.resolve("cancel.json");
  }

  public Path submitLock() {
    return dir.resolve(".submit.lock");
  }

  public Path supervisorLock() {
    return dir.resolve(".supervisor.lock");
  }

  public Path volumes() {
    return dir.resolve("volumes");
  }

  public Path volume(String name) {
    return volumes().resolve(name);
  }

  public Path work() {
    return dir.resolve("work");
  }

  public Path containers() {
    return dir.resolve("containers");
  }

  public Path container(String name) {
    return containers().resolve(name);
  }

  /**
   * A start gate of run {@code run} of a container ({@code what}: {@code cgroup}, {@code mounts}),
   * in a directory only root writes.
   */
  public Path gate(String container, int run, String what) {
    return dir.resolve("gates").resolve(container + "." + run + "." + what);
  }

  public Path log(String container, int run) {
    return container(container).resolve(run + ".log");
  }
}
