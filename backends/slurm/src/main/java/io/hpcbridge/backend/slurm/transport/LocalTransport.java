package io.hpcbridge.backend.slurm.transport;

import io.hpcbridge.backend.BackendException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.exec.CommandLine;
import org.apache.commons.exec.DefaultExecutor;
import org.apache.commons.exec.ExecuteException;
import org.apache.commons.exec.ExecuteWatchdog;
import org.apache.commons.exec.PumpStreamHandler;

/**
 * For a bridge running on the login node itself: bash through commons-exec, files through java.nio.
 */
public final class LocalTransport implements Transport {
  private final Duration timeout;

  public LocalTransport(Duration timeout) {
    this.timeout = timeout;
  }

  @Override
  public Result exec(String script, byte[] stdin) throws BackendException.Transient {
    ExecuteWatchdog dog =
        ExecuteWatchdog.builder().setTimeout(timeout.plus(Duration.ofSeconds(10))).get();
    BoundedBuffer out = new BoundedBuffer(MAX_OUTPUT, dog::destroyProcess);
    BoundedBuffer err = new BoundedBuffer(MAX_ERROR);
    // Under timeout(1) like on a login node: nothing the script starts outlives the timeout.
    CommandLine cl =
        new CommandLine("timeout")
            .addArgument("-k")
            .addArgument("5")
            .addArgument(String.valueOf(Math.max(1, timeout.toSeconds())))
            .addArgument("bash")
            .addArgument("-c")
            .addArgument(script, false);
    DefaultExecutor ex = DefaultExecutor.builder().get();
    ex.setWatchdog(dog);
    ex.setExitValues(null);
    ex.setStreamHandler(
        new PumpStreamHandler(
            out, err, new ByteArrayInputStream(stdin == null ? new byte[0] : stdin)));
    int rc;
    try {
      rc = ex.execute(cl);
    } catch (ExecuteException e) {
      rc = e.getExitValue();
    } catch (IOException e) {
      throw new BackendException.Transient("cannot run bash: " + e.getMessage(), e);
    }
    if (out.overflowed()) {
      throw new BackendException.Transient(
          "a local command printed more than " + MAX_OUTPUT + " bytes; stopped");
    }
    if (dog.killedProcess() || rc == TIMED_OUT) {
      throw new BackendException.Transient(
          "local command timed out after " + timeout.toSeconds() + " s");
    }
    return new Result(rc, out.bytes(), err.text());
  }

  @Override
  public void write(List<FileWrite> files) throws BackendException.Transient {
    try {
      for (FileWrite f : files) {
        Path p = Path.of(f.path());
        Files.createDirectories(p.getParent());
        Files.deleteIfExists(p);
        Files.createFile(p, PosixFilePermissions.asFileAttribute(perms(0600)));
        Files.write(p, f.content(), StandardOpenOption.TRUNCATE_EXISTING);
        Files.setPosixFilePermissions(p, perms(f.mode()));
      }
    } catch (IOException e) {
      throw new BackendException.Transient("cannot write files: " + e.getMessage(), e);
    }
  }

  @Override
  public void replace(String base, List<FileWrite> files) throws BackendException {
    try {
      for (FileWrite f : files) {
        Path file = Path.of(f.path());
        Path dir = file.getParent();
        Path at = Path.of(base);
        requireDir(at);
        for (Path part : at.relativize(dir)) {
          if (part.toString().isEmpty()) {
            continue;
          }
          at = at.resolve(part);
          if (!Files.exists(at, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectory(at);
          }
          requireDir(at);
        }
        Path tmp = dir.resolve(".hpcb-" + Replace.randomName() + ".tmp");
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(perms(0600)));
        Files.write(tmp, f.content(), StandardOpenOption.TRUNCATE_EXISTING);
        Files.setPosixFilePermissions(tmp, perms(f.mode()));
        Files.move(
            tmp,
            file,
            java.nio.file.StandardCopyOption.ATOMIC_MOVE,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new BackendException.Transient("cannot replace files: " + e.getMessage(), e);
    }
  }

  private static void requireDir(Path p) throws BackendException.InvalidPod {
    if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      throw Replace.unsafe(p.toString());
    }
  }

  static Set<PosixFilePermission> perms(int mode) {
    Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
          PosixFilePermission.OWNER_EXECUTE,
      PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
          PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
          PosixFilePermission.OTHERS_EXECUTE
    };
    for (int i = 0; i < 9; i++) {
      if ((mode & (1 << (8 - i))) != 0) {
        s.add(order[i]);
      }
    }
    return s;
  }

  @Override
  public String describe() {
    return "local";
  }

  @Override
  public void close() {}
}
