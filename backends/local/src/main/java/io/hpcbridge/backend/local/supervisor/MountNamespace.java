package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.Tools;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A private mount namespace for one container run. A short-lived holder process ({@code unshare
 * --mount --propagation private sleep}) owns a fresh namespace; volumes are bind-mounted into it
 * ({@code nsenter -t HOLDER -m -- mount --bind}); the container joins it with {@code nsenter -t
 * HOLDER -m}. Once the container has joined, the holder goes ({@link #close()}): the namespace
 * lives as long as the container's processes.
 */
final class MountNamespace implements AutoCloseable {

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

  /** Starts a holder and waits until it owns a namespace of its own. */
  static MountNamespace create(SupervisorOptions opts)
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

  /** {@code path} as the supervisor reaches it inside the namespace (through the holder's root). */
  Path inside(String path) {
    return Path.of("/proc/" + holderPid + "/root" + Path.of(path).normalize());
  }

  /**
   * Creates a missing mount point as the pod's user ({@code asPodUser}), so the bridge never makes
   * a file or directory at a path a pod chose: what the pod's user cannot create, the pod cannot
   * mount at.
   */
  void mountPoint(String mountPath, boolean file, List<String> asPodUser) throws StartFailure {
    String target = Path.of(mountPath).normalize().toString();
    String dir = file ? Path.of(target).getParent().toString() : target;
    helper(asPodUser, List.of(opts.tool("mkdir"), "-p", "--", dir), "create the mount point");
    if (file) {
      helper(asPodUser, List.of(opts.tool("touch"), "--", target), "create the mount point");
    }
  }

  private static void helper(List<String> prefix, List<String> cmd, String what)
      throws StartFailure {
    List<String> all = new ArrayList<>(prefix);
    all.addAll(cmd);
    Tools.Result r = Tools.run(all, 10_000);
    if (!r.ok()) {
      throw new StartFailure("cannot " + what + " as the pod's user: " + r.output());
    }
  }

  /** Bind-mounts {@code source} (of volume {@code volume}) at {@code mountPath} inside. */
  void bind(String volume, Path source, String mountPath, boolean readOnly) throws StartFailure {
    String target = Path.of(mountPath).normalize().toString();
    List<String> cmd = new ArrayList<>(enter());
    cmd.addAll(List.of(opts.tool("mount"), "--bind"));
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
   * Checks that what is mounted at {@code mountPath} is the file with device {@code dev} and inode
   * {@code ino}: the source that was checked, not something a link swapped in meanwhile.
   */
  void verify(String volume, String mountPath, long dev, long ino) throws StartFailure {
    String target = Path.of(mountPath).normalize().toString();
    List<String> cmd = new ArrayList<>(enter());
    cmd.addAll(List.of(opts.tool("stat"), "-L", "-c", "%d %i", "--", target));
    Tools.Result r = Tools.run(cmd, 10_000);
    if (!r.ok() || !r.output().equals(dev + " " + ino)) {
      throw new StartFailure(
          "volume "
              + volume
              + " at "
              + target
              + " is not what was checked before mounting (a path changed meanwhile): "
              + r.output());
    }
  }

  /** The argv prefix that runs a command inside the namespace: {@code nsenter -t H -m --}. */
  List<String> enter() {
    return List.of(opts.tool("nsenter"), "-t", holderPid, "-m", "--");
  }

  /**
   * Like {@link #enter()}, with the working directory {@code wd} as seen inside the namespace
   * (opened before nsenter enters it, so through the holder's root: a mounted volume, not the
   * directory under it, is the cwd).
   */
  List<String> enter(String wd) {
    return List.of(opts.tool("nsenter"), "-t", holderPid, "-m", "--wd=" + inside(wd), "--");
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
