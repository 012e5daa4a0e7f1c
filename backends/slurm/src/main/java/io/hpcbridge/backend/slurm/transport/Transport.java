package io.hpcbridge.backend.slurm.transport;

import io.hpcbridge.backend.BackendException;
import java.io.InputStream;
import java.util.List;

/**
 * How the backend reaches the cluster: commands on a login node and files on the shared file
 * system. All methods are safe to call from several threads.
 */
public interface Transport extends AutoCloseable {

  /** What a command printed and returned. */
  record Result(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** A file to write: absolute path, content, POSIX mode. */
  record FileWrite(String path, byte[] content, int mode) {}

  /**
   * Runs a bash script on the cluster. {@code stdin}, when not null, is fed to the script's
   * standard input, which is then closed. Fails with {@link BackendException.Transient} when the
   * cluster cannot be reached or the command takes longer than the configured timeout.
   */
  Result exec(String script, byte[] stdin) throws BackendException.Transient;

  /** Creates parent directories as needed and writes each file with its mode. */
  void write(List<FileWrite> files) throws BackendException.Transient;

  /** Reads a file from {@code offset}; {@link BackendException.NotFound} when it does not exist. */
  InputStream read(String path, long offset)
      throws BackendException.Transient, BackendException.NotFound;

  /** The file's size, or -1 when it does not exist. */
  long size(String path) throws BackendException.Transient;

  /** For messages: e.g. {@code ssh hpc@login:22}. */
  String describe();

  @Override
  void close();
}
