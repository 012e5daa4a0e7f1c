package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.List;

/**
 * How the job's wrapper starts one container: one implementation per {@link ContainerRuntime}. A
 * launcher turns a container into a command line; it refuses what its runtime cannot do.
 */
interface ContainerLauncher {

  /** The command line of container {@code c}, and how the wrapper prepares it. */
  Launch launch(Target c) throws BackendException.InvalidPod;

  /** Whether volumes can be bound into the container (runtime none cannot). */
  default boolean bindsVolumes() {
    return true;
  }

  /**
   * What a launcher needs to know about one container.
   *
   * @param container the container
   * @param binary the runtime's executable (from the settings)
   * @param options the runtime's extra options (settings or flavor)
   * @param binds the container's volume mounts
   * @param envFile the absolute path of the container's env file
   */
  record Target(
      ContainerPlan container,
      String binary,
      List<String> options,
      List<Bind> binds,
      String envFile) {}

  /**
   * A container's start, as the wrapper performs it.
   *
   * @param argv the command line
   * @param envSource an env file the wrapper sources before running {@code argv}, or empty
   * @param workDir a directory the wrapper changes to first, or empty
   * @param resolveBinary whether {@code argv[0]} is looked up with the wrapper's PATH before the
   *     env file is sourced (the runtime's own binary), rather than with the pod's
   */
  record Launch(List<String> argv, String envSource, String workDir, boolean resolveBinary) {
    public Launch {
      argv = List.copyOf(argv);
    }
  }

  static ContainerLauncher of(ContainerRuntime runtime) {
    return switch (runtime) {
      case APPTAINER, SINGULARITY -> new ApptainerLauncher();
      case PODMAN -> new PodmanLauncher();
      case PYXIS -> new PyxisLauncher();
      case NONE -> new DirectLauncher();
    };
  }

  /** Refuses an image reference no runtime should see: empty, with spaces, or like an option. */
  static void checkImage(ContainerPlan c) throws BackendException.InvalidPod {
    if (c.image().isBlank()
        || c.image().startsWith("-")
        || c.image().chars().anyMatch(Character::isWhitespace)) {
      throw Invalid.pod(
          "InvalidImage",
          "container "
              + c.name()
              + ": image must be non-empty, without spaces, and not start with '-'");
    }
  }
}
