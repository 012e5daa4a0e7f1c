package io.hpcbridge.backend.slurm;

import java.util.List;

/**
 * What submitting one pod takes: the sbatch script and the files shipped next to it.
 *
 * @param podDir the pod's directory on the shared file system (absolute)
 * @param jobName the Slurm job name (derived from the pod UID, used to find the job again)
 * @param script the sbatch script, fed to {@code sbatch --parsable} on stdin
 * @param files files to write under {@code podDir} before submitting (env files, volumes, manifest)
 * @param runtime the container runtime the script uses
 */
public record RenderedJob(
    String podDir,
    String jobName,
    String script,
    List<RemoteFile> files,
    ContainerRuntime runtime) {
  public RenderedJob {
    files = List.copyOf(files);
  }

  /**
   * A file to ship.
   *
   * @param path relative to the pod directory
   * @param content bytes
   * @param mode POSIX mode
   */
  public record RemoteFile(String path, byte[] content, int mode) {}
}
