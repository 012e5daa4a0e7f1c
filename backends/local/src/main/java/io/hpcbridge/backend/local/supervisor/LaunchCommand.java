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
 * setsid --                              a process group (and session) of its own
 * [unshare --mount --propagation private --]  with volumes: a mount namespace of its own
 * [setpriv --reuid --regid --groups --inh-caps --bounding-set --no-new-privs --]  the pod's user
 * [flock -F -s GATE]                     wait until the supervisor put the process into its cgroups
 *                                        and mounted its volumes
 * [env [-C WORKINGDIR] -- [NAME=VALUE...]]  its working directory, and the variables kept from the
 *                                        root helpers ({@link RootHelperEnv})
 * command args...
 * </pre>
 *
 * <p>Everything up to flock is executed before the supervisor mounts anything, so it is the host's
 * program whatever the pod's volumes cover; what comes after the gate runs as the container's user,
 * with its capabilities already dropped. The steps before setpriv run as root, so they get the
 * pod's env without what could make them run the pod's code ({@code LD_PRELOAD}, ...); those
 * variables come back after setpriv, on env's command line (never a Secret's: the validator refuses
 * that).
 */
record LaunchCommand(List<String> argv, Map<String, String> env) {

  /**
   * @param gate a lock file the supervisor holds until the process is ready to go on (a path
   *     relative to the process's working directory, looked up as the container's user), or null
   * @param mountNamespace whether the process makes a mount namespace of its own (then a gate is
   *     needed, so that the supervisor mounts the volumes before anything runs)
   * @param workingDir an explicit working directory, or null when the caller sets the cwd
   */
  static LaunchCommand of(
      SupervisorOptions opts,
      RunAs runAs,
      String gate,
      boolean mountNamespace,
      String workingDir,
      List<String> command,
      Map<String, String> podEnv) {
    if (mountNamespace && gate == null) {
      throw new IllegalArgumentException("a mount namespace needs a gate");
    }
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
    cmd.add(opts.tool("setsid"));
    cmd.add("--");
    if (mountNamespace) {
      cmd.addAll(List.of(opts.tool("unshare"), "--mount", "--propagation", "private", "--"));
    }
    cmd.addAll(runAs.setpriv(opts.tool("setpriv")));
    if (gate != null) {
      // -F: exec, not fork, so the pid stays; the lock's descriptor stays open in the container
      // (flock cannot close it without forking): a read-only handle on an empty file.
      cmd.addAll(List.of(opts.tool("flock"), "-F", "-s", gate));
    }
    // After a gate, always env: it reports a command it cannot find or run with the exit codes of
    // a shell (127, 126), as setpriv does; flock would say 69.
    if (gate != null || workingDir != null || !later.isEmpty()) {
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
