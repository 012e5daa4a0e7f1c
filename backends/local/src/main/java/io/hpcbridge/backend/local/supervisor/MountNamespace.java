package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.MountInfo;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RunAs;
import io.hpcbridge.backend.local.common.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The private mount namespace of one container run. The container's own argv chain makes it ({@code
 * unshare --mount --propagation private}, see {@link LaunchCommand}), drops to the container's user
 * with the host's {@code setpriv}, and then waits at its start {@link Gate} with the host's {@code
 * flock}, before anything is mounted. While it waits, volumes are bind-mounted into its namespace
 * from outside ({@code mount -N /proc/PID/ns/mnt --bind}) and checked through {@code
 * /proc/PID/root}. PID is the supervisor's own child, not yet waited for: it cannot be another
 * process.
 *
 * <p>Inside, the pod's volumes may cover any path, {@code /usr/bin} or {@code /etc/ld.so.preload}
 * included, so the supervisor never executes a program there: mounts are made by the host's {@code
 * mount}; missing mount points and working directories are made by the host's {@code mkdir} and
 * {@code touch}, run as the container's user with its working directory in the namespace and its
 * root on the host. What runs in the namespace after the gate is the container itself.
 */
final class MountNamespace {

  private final SupervisorOptions opts;
  private final String pid;

  /** The namespace of {@code container}, a child of this process waiting at its gate. */
  MountNamespace(SupervisorOptions opts, Process container) {
    this.opts = opts;
    this.pid = Long.toString(container.pid());
  }

  /** The namespace's root as this process reaches it. */
  Path root() {
    return Path.of("/proc", pid, "root");
  }

  /**
   * {@code path} as the supervisor reaches it inside the namespace (through the process's root).
   */
  Path inside(String path) {
    return Path.of(root() + Path.of(path).normalize().toString());
  }

  /**
   * {@code mountPath} with every symbolic link resolved as the namespace sees it (like a container
   * runtime resolves a mount destination within the container's root), so the mount and its check
   * name one path without links.
   */
  String resolve(String mountPath) throws StartFailure {
    Deque<String> todo = new ArrayDeque<>(parts(mountPath));
    Deque<String> done = new ArrayDeque<>();
    int links = 0;
    while (!todo.isEmpty()) {
      String part = todo.pollFirst();
      if (part.equals(".")) {
        continue;
      }
      if (part.equals("..")) {
        done.pollLast();
        continue;
      }
      Path p = inside("/" + String.join("/", done) + "/" + part);
      if (!Files.isSymbolicLink(p)) {
        done.addLast(part);
        continue;
      }
      if (++links > 40) {
        throw new StartFailure("mountPath " + mountPath + ": too many symbolic links");
      }
      try {
        String target = Files.readSymbolicLink(p).toString();
        if (target.startsWith("/")) {
          done.clear();
        }
        List<String> more = parts(target);
        for (int i = more.size() - 1; i >= 0; i--) {
          todo.addFirst(more.get(i));
        }
      } catch (IOException e) {
        throw new StartFailure("mountPath " + mountPath + ": " + e.getMessage());
      }
    }
    return "/" + String.join("/", done);
  }

  private static List<String> parts(String path) {
    List<String> out = new ArrayList<>();
    for (String s : path.split("/")) {
      if (!s.isEmpty()) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * Creates a missing mount point as the pod's user, so the bridge never makes a file or directory
   * at a path a pod chose: what the pod's user cannot create, the pod cannot mount at. {@code
   * target} is a path without links ({@link #resolve}).
   */
  void mountPoint(String target, boolean file, RunAs runAs) throws StartFailure {
    if (Files.exists(inside(target), LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    String dir = file ? Path.of(target).getParent().toString() : target;
    helper(runAs, List.of(opts.tool("mkdir"), "-p", "--", relative(dir)), "create the mount point");
    if (file) {
      helper(runAs, List.of(opts.tool("touch"), "--", relative(target)), "create the mount point");
    }
  }

  /** Creates a missing working directory {@code wd} as the pod's user, once its volumes are in. */
  void workingDir(String wd, RunAs runAs) throws StartFailure {
    String resolved = resolve(wd);
    if (!Files.isDirectory(inside(resolved), LinkOption.NOFOLLOW_LINKS)) {
      helper(
          runAs,
          List.of(opts.tool("mkdir"), "-p", "--", relative(resolved)),
          "create the working directory " + wd);
    }
  }

  /** {@code path} (absolute, without links) relative to the namespace's root. */
  private static String relative(String path) {
    String r = path.replaceFirst("^/+", "");
    return r.isEmpty() ? "." : r;
  }

  /**
   * Runs a host file command ({@code mkdir}, {@code touch}: resolved and loaded on the host, never
   * in the namespace) as the pod's user, in the namespace's root: its relative path walks the
   * namespace. The pod's own links there may lead it anywhere the pod's user may write anyway.
   */
  private void helper(RunAs runAs, List<String> cmd, String what) throws StartFailure {
    List<String> all = new ArrayList<>(runAs.setpriv(opts.tool("setpriv")));
    all.addAll(cmd);
    Tools.Result r = Tools.run(all, 10_000, root());
    if (!r.ok()) {
      throw new StartFailure("cannot " + what + " as uid " + runAs.uid() + ": " + r.output());
    }
  }

  /** Bind-mounts {@code source} (of volume {@code volume}) at {@code target}, from outside. */
  void bind(String volume, Path source, String target, boolean readOnly) throws StartFailure {
    List<String> cmd =
        new ArrayList<>(List.of(opts.tool("mount"), "-N", "/proc/" + pid + "/ns/mnt", "--bind"));
    if (readOnly) {
      cmd.add("-o");
      cmd.add("ro");
    }
    cmd.add(source.toString());
    cmd.add(target);
    Tools.Result r = Tools.run(cmd, 10_000);
    if (!r.ok()) {
      throw new StartFailure("cannot mount volume " + volume + " at " + target + ": " + r.output());
    }
  }

  /**
   * Checks that what is mounted at {@code target} (a path without links, see {@link #resolve}) is
   * the file {@code key} that was checked, not something a link swapped in meanwhile, and that it
   * is read-only when it must be. Walks there without following any link.
   */
  void verify(String volume, String target, Object key, boolean readOnly) throws StartFailure {
    Object seen;
    try {
      seen = SafeWalk.key(root(), parts(target));
    } catch (IOException e) {
      seen = e.toString();
    }
    if (!key.equals(seen)) {
      throw new StartFailure(
          "volume "
              + volume
              + " at "
              + target
              + " is not what was checked before mounting (a path changed meanwhile)");
    }
    if (readOnly && !readOnlyMount(target)) {
      throw new StartFailure("volume " + volume + " at " + target + " is not mounted read-only");
    }
  }

  /** Whether the last mount at {@code target} in the namespace is read-only. */
  private boolean readOnlyMount(String target) {
    try {
      boolean ro = false;
      String mountinfo = Files.readString(Path.of("/proc", pid, "mountinfo"));
      for (MountInfo.Entry m : MountInfo.parse(mountinfo)) {
        if (m.point().toString().equals(target)) {
          ro = m.mountOptions().contains("ro");
        }
      }
      return ro;
    } catch (IOException e) {
      return false;
    }
  }
}
