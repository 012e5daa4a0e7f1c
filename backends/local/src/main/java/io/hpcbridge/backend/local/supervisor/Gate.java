package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RunAs;
import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Holds a new container process back: as root, until the supervisor has put it into its cgroups, so
 * not one byte it allocates escapes the limit; then, once it is the container's user in its own
 * mount namespace, until the supervisor has mounted its volumes, so nothing of the pod's runs
 * before they are in. The process waits for a shared lock with {@code flock -F -s GATE}; the
 * supervisor holds the exclusive lock through a helper ({@code flock -F -x GATE cat}, which keeps
 * it while {@code cat} reads from the supervisor) and releases it by closing that pipe. A gate a
 * container's user waits at is handed to that user only once that lock is held, in a directory only
 * root can write. Nothing of the pod's passes through here, and no shell is involved (a shell step
 * would change the pod's env: dash adds PWD, resets IFS and drops names like {@code a.b}).
 */
final class Gate implements AutoCloseable {

  private final SupervisorOptions opts;
  private final Process holder;
  private final Path file;
  private final Object key;

  private Gate(SupervisorOptions opts, Process holder, Path file) throws IOException {
    this.opts = opts;
    this.holder = holder;
    this.file = file;
    this.key =
        Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
  }

  /**
   * Creates the gate {@code file} and holds it shut; {@code waiter}, when not null, is the user the
   * process waits as, who gets to open it.
   */
  static Gate hold(SupervisorOptions opts, Path file, RunAs waiter)
      throws StartFailure, IOException, InterruptedException {
    AtomicFiles.mkdir(file.getParent(), 0711);
    AtomicFiles.write(file, new byte[0], 0600);
    String cat = Path.of(opts.tool("cat")).toRealPath().toString();
    ProcessBuilder pb =
        new ProcessBuilder(opts.tool("flock"), "-F", "-x", file.toString(), cat)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.to(new File("/dev/null")));
    pb.environment().clear();
    Process p = pb.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new StartFailure("cannot hold the start gate " + file + " (flock exited)");
      }
      if (cat.equals(ProcFs.exe(p.pid()))) {
        // flock got the lock and became cat: no one else can hold one before it.
        Gate g = new Gate(opts, p, file);
        if (waiter != null && waiter.switchUser()) {
          try {
            AtomicFiles.own(file, waiter.uid(), waiter.gid());
            Files.setAttribute(file, "unix:mode", 0400, LinkOption.NOFOLLOW_LINKS);
          } catch (IOException e) {
            g.close();
            throw e;
          }
        }
        return g;
      }
      Thread.sleep(2);
    }
    p.destroyForcibly();
    throw new StartFailure("cannot hold the start gate " + file + " (timed out)");
  }

  /**
   * Waits until {@code container} waits at this gate: it executes flock with this gate open, so
   * everything before it in its argv chain ran (for the mounts gate, {@code ownNamespace}: the
   * namespace and the user switch).
   */
  void awaitWaiter(Process container, boolean ownNamespace)
      throws StartFailure, IOException, InterruptedException {
    String flock = Path.of(opts.tool("flock")).toRealPath().toString();
    String mine = ProcFs.mountNamespace("self");
    String pid = Long.toString(container.pid());
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      if (!container.isAlive()) {
        throw new StartFailure(
            "the container's process ended before its start gate (exit code "
                + container.exitValue()
                + ", see its log)");
      }
      if (flock.equals(ProcFs.exe(container.pid()))
          && (!ownNamespace || !mine.equals(ProcFs.mountNamespace(pid)))
          && holdsOpen(pid)) {
        return;
      }
      Thread.sleep(2);
    }
    throw new StartFailure("the container's process did not reach its start gate in 10 s");
  }

  /**
   * Whether process {@code pid} has this gate's file open: flock opened it before anything was
   * mounted, so nothing a volume covers can have stood in for it.
   */
  private boolean holdsOpen(String pid) {
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(Path.of("/proc", pid, "fd"))) {
      for (Path fd : fds) {
        try {
          if (key.equals(Files.readAttributes(fd, BasicFileAttributes.class).fileKey())) {
            return true;
          }
        } catch (IOException e) {
          // closed meanwhile
        }
      }
    } catch (IOException e) {
      // gone
    }
    return false;
  }

  Path file() {
    return file;
  }

  /** The gate's file name, for a waiter whose working directory is the gate's directory. */
  String name() {
    return file.getFileName().toString();
  }

  /** Lets the waiting process go on; harmless twice. */
  @Override
  public void close() throws InterruptedException {
    try {
      holder.getOutputStream().close();
    } catch (IOException e) {
      // already closed
    }
    if (!holder.waitFor(5, TimeUnit.SECONDS)) {
      holder.destroyForcibly();
      holder.waitFor();
    }
    try {
      Files.deleteIfExists(file);
    } catch (IOException e) {
      // a leftover empty file in the supervisor's own directory
    }
  }
}
