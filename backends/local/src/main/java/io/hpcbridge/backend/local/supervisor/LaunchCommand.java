package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RootHelperEnv;
import io.hpcbridge.backend.local.common.RunAs;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The argv and env of one container run. Each word executes the next in the same process, so the
 * pod's program keeps the pid (and process group) the supervisor watches, and no shell ever sees a
 * pod's text:
 *
 * <pre>
 * [flock -F -s CGROUP_GATE]              as root: wait until the supervisor put the process into
 *                                        its cgroups
 * setsid --                              a process group (and session) of its own
 * [unshare --mount --propagation private --]  with volumes: a mount namespace of its own
 * [setpriv --reuid --regid --groups --inh-caps --bounding-set --no-new-privs --]  the pod's user
 * [flock -F -s MOUNTS_GATE]              as the pod's user: wait until the supervisor mounted the
 *                                        volumes
 * [env [-C WORKINGDIR] -- [NAME=VALUE...]]  its working directory, and the variables kept from the
 *                                        root helpers ({@link RootHelperEnv})
 * command args...
 * </pre>
 *
 * <p>Everything up to the mounts gate is executed before the supervisor mounts anything, so it is
 * the host's program whatever the pod's volumes cover; what comes after it runs as the container's
 * user, with its capabilities already dropped. The steps before setpriv run as root, so they get
 * the pod's env without what could make them run the pod's code ({@code LD_PRELOAD}, ...); those
 * variables come back after setpriv, on env's command line (never a Secret's: the validator refuses
 * that).
 */
record LaunchCommand(List<String> argv, Map<String, String> env) {

  /**
   * @param cgroupGate a lock file the supervisor holds until the process is in its cgroups, or null
   * @param mountsGate a lock file the supervisor holds until the volumes are mounted (a path
   *     relative to the process's working directory, looked up as the container's user), or null
   *     for a container without volumes; with it, the process makes a mount namespace of its own
   * @param workingDir an explicit working directory, or null when the caller sets the cwd
   */
  static LaunchCommand of(
      SupervisorOptions opts,
      RunAs runAs,
      String cgroupGate,
      String mountsGate,
      String workingDir,
      List<String> command,
      Map<String, String> podEnv) {
    Map<String, String> env = new LinkedHashMap<>();
    List<String> later = new ArrayList<>();
    for (Map.Entry<String, String> e : podEnv.entrySet()) {
      if (runAs.switchUser() && RootHelperEnv.unsafe(e.getKey())) {
        later.add(e.getKey() + "=" + (e.getValue() == null ? "" : e.getValue()));
      } else {
        env.put(e.getKey(), e.getValue() == null ? "" : e.getValue());
      }
    }
    List<String> cmd = new ArrayList<>();
    if (cgroupGate != null) {
      // -F: exec, not fork, so the pid stays; the lock's descriptor stays open in the container
      // (flock cannot close it without forking): a read-only handle on an empty file.
      cmd.addAll(List.of(opts.tool("flock"), "-F", "-s", cgroupGate));
    }
    cmd.add(opts.tool("setsid"));
    cmd.add("--");
    if (mountsGate != null) {
      cmd.addAll(List.of(opts.tool("unshare"), "--mount", "--propagation", "private", "--"));
    }
    cmd.addAll(runAs.setpriv(opts.tool("setpriv")));
    if (mountsGate != null) {
      cmd.addAll(List.of(opts.tool("flock"), "-F", "-s", mountsGate));
    }
    // After the mounts gate, always env: it reports a command it cannot find or run with the exit
    // codes of a shell (127, 126), as setpriv does; flock would say 69.
    if (mountsGate != null || workingDir != null || !later.isEmpty()) {
      cmd.add(opts.tool("env"));
      if (workingDir != null) {
        cmd.addAll(List.of("-C", workingDir));
      }
      cmd.add("--");
      cmd.addAll(later);
    }
    cmd.addAll(command);
    return new LaunchCommand(List.copyOf(cmd), env);
  }
}
