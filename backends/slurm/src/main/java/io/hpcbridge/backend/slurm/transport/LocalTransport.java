package io.hpcbridge.backend.slurm.transport;

import io.hpcbridge.backend.BackendException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
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
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CommandLine cl = new CommandLine("bash").addArgument("-c").addArgument(script, false);
    ExecuteWatchdog dog = ExecuteWatchdog.builder().setTimeout(timeout).get();
    DefaultExecutor ex = DefaultExecutor.builder().get();
    ex.setWatchdog(dog);
    ex.setExitValues(null);
    ex.setStreamHandler(
        new PumpStreamHandler(
            out, err, new ByteArrayInputStream(stdin == null ? new byte[0] : stdin)));
    try {
      int rc = ex.execute(cl);
      if (dog.killedProcess()) {
        throw new BackendException.Transient(
            "local command timed out after " + timeout.toSeconds() + " s");
      }
      return new Result(
          rc, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } catch (ExecuteException e) {
      return new Result(
          e.getExitValue(),
          out.toString(StandardCharsets.UTF_8),
          err.toString(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new BackendException.Transient("cannot run bash: " + e.getMessage(), e);
    }
  }

  @Override
  public void write(List<FileWrite> files) throws BackendException.Transient {
    try {
      for (FileWrite f : files) {
        Path p = Path.of(f.path());
        Files.createDirectories(p.getParent());
        Files.deleteIfExists(p);
        Files.createFile(
            p, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(perms(0600)));
        Files.write(p, f.content(), StandardOpenOption.TRUNCATE_EXISTING);
        Files.setPosixFilePermissions(p, perms(f.mode()));
      }
    } catch (IOException e) {
      throw new BackendException.Transient("cannot write files: " + e.getMessage(), e);
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
  public InputStream read(String path, long offset)
      throws BackendException.Transient, BackendException.NotFound {
    try {
      InputStream in = Files.newInputStream(Path.of(path));
      in.skipNBytes(Math.min(offset, Files.size(Path.of(path))));
      return in;
    } catch (NoSuchFileException e) {
      throw new BackendException.NotFound("no file " + path);
    } catch (IOException e) {
      throw new BackendException.Transient("cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  @Override
  public long size(String path) {
    try {
      return Files.size(Path.of(path));
    } catch (IOException e) {
      return -1;
    }
  }

  @Override
  public String describe() {
    return "local";
  }

  @Override
  public void close() {}
}
