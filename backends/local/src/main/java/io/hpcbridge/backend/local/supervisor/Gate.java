package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Holds a new container process back until the supervisor has put it into its cgroups, so not one
 * byte it allocates escapes the limit. The process starts with {@code flock -F -s GATE} and waits
 * for a shared lock; the supervisor holds the exclusive lock through a helper ({@code flock -F -x
 * GATE cat}, which keeps it while {@code cat} reads from the supervisor) and releases it by closing
 * that pipe. Nothing of the pod's passes through here, and no shell is involved (a shell step would
 * change the pod's env: dash adds PWD, resets IFS and drops names like {@code a.b}).
 */
final class Gate implements AutoCloseable {

  private final Process holder;
  private final Path file;

  private Gate(Process holder, Path file) {
    this.holder = holder;
    this.file = file;
  }

  static Gate hold(SupervisorOptions opts, Path file)
      throws StartFailure, IOException, InterruptedException {
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
        return new Gate(p, file); // flock got the lock and became cat
      }
      Thread.sleep(2);
    }
    p.destroyForcibly();
    throw new StartFailure("cannot hold the start gate " + file + " (timed out)");
  }

  String file() {
    return file.toString();
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
