package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.MountInfo;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RunAs;
import io.hpcbridge.backend.local.common.Tools;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * A private mount namespace for one container run. A short-lived holder process ({@code unshare
 * --mount --propagation private sleep}) owns a fresh namespace; volumes are bind-mounted into it
 * from outside ({@code mount -N /proc/HOLDER/ns/mnt --bind}); the container joins it with {@code
 * nsenter -t HOLDER -m}. Once the container has joined, the holder goes ({@link #close()}): the
 * namespace lives as long as the container's processes.
 *
 * <p>Inside, the pod's volumes may cover any path, {@code /usr/bin} or {@code /etc/ld.so.preload}
 * included, so nothing ever runs there as root for a non-root container: mounts are made by the
 * host's {@code mount}, checks are made by this process through {@code /proc/HOLDER/root}, and
 * {@code nsenter} itself switches to the container's user ({@code -S}) before it executes anything
 * it finds inside.
 */
final class MountNamespace implements AutoCloseable {

  /** What nsenter needs to enter and then drop to the container's user; gone after that. */
  private static final String NSENTER_CAPS = "-all,+sys_admin,+sys_chroot,+sys_ptrace,+setuid";

  private final SupervisorOptions opts;
  private final Process holder;
  private final String holderPid;
  private final String id;

  private MountNamespace(SupervisorOptions opts, Process holder, String id) {
    this.opts = opts;
    this.holder = holder;
    this.holderPid = Long.toString(holder.pid());
    this.id = id;
  }

  /**
   * Starts a holder in {@code workDir} (the working directory containers of the pod get unless they
   * name one) and waits until it owns a namespace of its own.
   */
  static MountNamespace create(SupervisorOptions opts, Path workDir)
      throws StartFailure, IOException, InterruptedException {
    ProcessBuilder pb =
        new ProcessBuilder(
            opts.tool("unshare"),
            "--mount",
            "--propagation",
            "private",
            "--",
            opts.tool("sleep"),
            "300");
    pb.environment().clear();
    pb.directory(workDir.toFile());
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectErrorStream(true);
    Process h = pb.start();
    String mine = ProcFs.mountNamespace("self");
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      String ns = ProcFs.mountNamespace(Long.toString(h.pid()));
      if (ns != null && !ns.equals(mine) && h.isAlive()) {
        return new MountNamespace(opts, h, ns);
      }
      if (!h.isAlive()) {
        String out = new String(h.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        throw new StartFailure("cannot create a private mount namespace: " + out);
      }
      Thread.sleep(2);
    }
    h.destroyForcibly();
    throw new StartFailure("cannot create a private mount namespace: unshare did not start");
  }

  /** The namespace's root as this process reaches it. */
  Path root() {
    return Path.of("/proc", holderPid, "root");
  }

  /** {@code path} as the supervisor reaches it inside the namespace (through the holder's root). */
  Path inside(String path) {
    return Path.of(root() + Path.of(path).normalize().toString());
  }

  /**
   * The argv prefix that runs the next word inside the namespace as {@code runAs}, in the holder's
   * working directory ({@code workDir} of {@link #create}) or in {@code /}. That directory was
   * entered on the host before the namespace was made, so no volume the pod mounts over one of its
   * parents (with a link planted there) can make root open another directory for it. For a non-root
   * container, its groups, capabilities and no_new_privs are set before nsenter, which keeps just
   * what it needs to enter, and switches to the uid inside before executing anything found there. A
   * uid 0 container is root anyway: setpriv then runs inside.
   */
  List<String> enter(RunAs runAs, boolean inWorkDir) {
    List<String> cmd = new ArrayList<>();
    boolean dropFirst = runAs.switchUser() && runAs.uid() != 0;
    if (dropFirst) {
      cmd.add(opts.tool("setpriv"));
      cmd.add("--regid=" + runAs.gid());
      cmd.add(RunAs.groupsOption(runAs.groups()));
      cmd.add("--inh-caps=-all");
      cmd.add("--bounding-set=" + NSENTER_CAPS);
      cmd.add("--no-new-privs");
      cmd.add("--");
    }
    cmd.addAll(List.of(opts.tool("nsenter"), "-t", holderPid, "-m"));
    if (inWorkDir) {
      cmd.add("--wd"); // the holder's: opened through /proc/HOLDER/cwd, not by a path
    }
    if (dropFirst) {
      cmd.addAll(List.of("-S", Long.toString(runAs.uid())));
    }
    cmd.add("--");
    if (!dropFirst) {
      cmd.addAll(runAs.setpriv(opts.tool("setpriv")));
    }
    return cmd;
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
   * at a path a pod chose: what the pod's user cannot create, the pod cannot mount at.
   */
  void mountPoint(String target, boolean file, RunAs runAs) throws StartFailure {
    String dir = file ? Path.of(target).getParent().toString() : target;
    helper(runAs, List.of(opts.tool("mkdir"), "-p", "--", dir), "create the mount point");
    if (file) {
      helper(runAs, List.of(opts.tool("touch"), "--", target), "create the mount point");
    }
  }

  /** Runs a file command ({@code mkdir}, {@code touch}) inside, as the pod's user. */
  void helper(RunAs runAs, List<String> cmd, String what) throws StartFailure {
    List<String> all = new ArrayList<>(enter(runAs, false));
    all.addAll(cmd);
    Tools.Result r = Tools.run(all, 10_000);
    if (!r.ok()) {
      throw new StartFailure("cannot " + what + " as uid " + runAs.uid() + ": " + r.output());
    }
  }

  /** Bind-mounts {@code source} (of volume {@code volume}) at {@code target}, from outside. */
  void bind(String volume, Path source, String target, boolean readOnly) throws StartFailure {
    List<String> cmd =
        new ArrayList<>(
            List.of(opts.tool("mount"), "-N", "/proc/" + holderPid + "/ns/mnt", "--bind"));
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
      String mountinfo = Files.readString(Path.of("/proc", holderPid, "mountinfo"));
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

  /** Whether process {@code pid} has joined the namespace. */
  boolean joined(long pid) {
    return id.equals(ProcFs.mountNamespace(Long.toString(pid)));
  }

  @Override
  public void close() throws InterruptedException {
    holder.destroyForcibly();
    holder.waitFor();
  }
}
