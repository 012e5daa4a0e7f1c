package io.hpcbridge.backend.local;

import java.nio.file.Path;

/**
 * The files of one pod directory {@code <workDir>/<podUid>/}:
 *
 * <pre>
 * plan.json            the pod plan (mode 0600: holds env values; volume contents live in volumes/)
 * options.json         supervisor options (restart backoff, tool paths)
 * launched             written once the supervisor was started; makes submit idempotent
 * supervisor.log       the supervisor's own output
 * status.json          pod and container state, written only by the supervisor (atomically)
 * cancel.json          a stop request with its SIGKILL deadline, written by cancel()
 * volumes/NAME/        materialized volumes
 * work/                the default working directory of containers
 * containers/NAME/N.log  run N (0 = first, N = restart count) of a container, timestamped lines
 * </pre>
 */
record PodLayout(Path dir) {

  Path plan() {
    return dir.resolve("plan.json");
  }

  Path options() {
    return dir.resolve("options.json");
  }

  Path launched() {
    return dir.resolve("launched");
  }

  Path supervisorLog() {
    return dir.resolve("supervisor.log");
  }

  Path status() {
    return dir.resolve("status.json");
  }

  Path cancel() {
    return dir.resolve("cancel.json");
  }

  Path submitLock() {
    return dir.resolve(".submit.lock");
  }

  Path supervisorLock() {
    return dir.resolve(".supervisor.lock");
  }

  Path volumes() {
    return dir.resolve("volumes");
  }

  Path volume(String name) {
    return volumes().resolve(name);
  }

  Path work() {
    return dir.resolve("work");
  }

  Path container(String name) {
    return dir.resolve("containers").resolve(name);
  }

  Path log(String container, int run) {
    return container(container).resolve(run + ".log");
  }
}
