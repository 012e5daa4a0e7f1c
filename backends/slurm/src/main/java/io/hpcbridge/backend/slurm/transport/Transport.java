package io.hpcbridge.backend.slurm.transport;

import io.hpcbridge.backend.BackendException;
import java.util.List;

/**
 * How the backend reaches the cluster: commands on a login node and files written to the shared
 * file system. Files are read only through commands, which can refuse symlinks and bound what they
 * read; the file protocol (SFTP) cannot. All methods are safe to call from several threads.
 */
public interface Transport extends AutoCloseable {

  /** The most a command may print on stdout; a command that prints more fails. */
  int MAX_OUTPUT = 16 << 20;

  /** What is kept of a command's stderr (the rest is dropped). */
  int MAX_ERROR = 64 << 10;

  /** The exit code of a command that ran out of time on the remote side ({@code timeout}). */
  int TIMED_OUT = 124;

  /**
   * What a command printed and returned.
   *
   * @param out its stdout, as bytes (at most {@link #MAX_OUTPUT})
   * @param stderr the beginning of its stderr (at most {@link #MAX_ERROR} bytes)
   */
  record Result(int exitCode, byte[] out, String stderr) {
    public Result(int exitCode, String stdout, String stderr) {
      this(exitCode, stdout.getBytes(java.nio.charset.StandardCharsets.UTF_8), stderr);
    }

    public boolean ok() {
      return exitCode == 0;
    }

    /** stdout as UTF-8 text. */
    public String stdout() {
      return new String(out, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /**
   * A file to write: absolute path, content, POSIX mode. Only the permission bits (0777) are kept:
   * a file a pod ships is never setuid, setgid or sticky.
   */
  record FileWrite(String path, byte[] content, int mode) {
    public FileWrite {
      mode &= 0777;
    }
  }

  /**
   * Runs a bash script on the cluster, under {@code timeout} there (so nothing it starts outlives
   * the configured command timeout). {@code stdin}, when not null, is fed to the script's standard
   * input, which is then closed. Fails with {@link BackendException.Transient} when the cluster
   * cannot be reached, the command takes longer than the timeout, or prints more than {@link
   * #MAX_OUTPUT} bytes.
   */
  Result exec(String script, byte[] stdin) throws BackendException.Transient;

  /**
   * Like {@link #exec(String, byte[])}, in {@code lane}: a transport with few channels keeps some
   * from {@link Lane#LOGS}, so log reads cannot hold up observe, submit or cancel.
   */
  default Result exec(String script, byte[] stdin, Lane lane) throws BackendException.Transient {
    return exec(script, stdin);
  }

  /** What a command is for, as far as sharing the transport's channels goes. */
  enum Lane {
    /** Observe, submit, cancel, find, capacity, files: everything but log reads. */
    CONTROL,
    /** A container's log, read for the kubelet API (many may run at once, for long). */
    LOGS
  }

  /** Creates parent directories as needed and writes each file with its mode. */
  void write(List<FileWrite> files) throws BackendException.Transient;

  /**
   * Replaces each file atomically where readers see it: the new content goes to a temporary file
   * with an unguessable name in the same directory, which is then renamed over the old one (a
   * symlink there is replaced, never followed). Every directory between {@code base} (itself
   * included) and a file must be a real directory, not a symlink; missing ones are created.
   *
   * @throws BackendException.InvalidPod when a directory on the way is a symlink or not a directory
   *     (reason {@code UnsafeVolumePath})
   */
  void replace(String base, List<FileWrite> files) throws BackendException;

  /** The most a command may print on stdout through this transport. */
  default int maxOutput() {
    return MAX_OUTPUT;
  }

  /** For messages: e.g. {@code ssh hpc@login:22}. */
  String describe();

  @Override
  void close();
}
