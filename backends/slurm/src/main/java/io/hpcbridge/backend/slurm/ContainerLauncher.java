package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How the job's wrapper starts one container: one implementation per {@link ContainerRuntime}. A
 * launcher turns a container into a command line and an environment, both shipped as 0600 files
 * next to the job (never in the script, never in a launcher's argv when they hold a Secret); it
 * refuses what its runtime cannot do.
 */
interface ContainerLauncher {

  /** The command line and environment of container {@code c}, and how the wrapper uses them. */
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
   * @param options the runtime's options: isolation first, then the extra ones (settings or flavor)
   * @param binds the container's volume mounts
   * @param envFile the absolute path of the container's env file
   */
  record Target(
      ContainerPlan container,
      String binary,
      List<String> options,
      List<Bind> binds,
      String envFile) {}

  /** How the wrapper starts the command line ({@code HPCB_MODE}). */
  enum Mode {
    /** Runs the runtime's binary with the command line; the runtime reads the env file itself. */
    EXEC,
    /** Like EXEC, but the env file is sourced into the runtime's own environment first (srun). */
    SRUN,
    /**
     * Runtime none: a fresh bash (after setsid, and setpriv for no_new_privs) reads the command
     * line, changes to the working directory, sources the env file and execs the command.
     */
    DIRECT
  }

  /** The env file's syntax. */
  enum EnvFormat {
    /** {@code export NAME='value'} lines: sourced by bash, read by apptainer's --env-file. */
    SHELL,
    /** {@code NAME=value} lines (podman's --env-file): no value may hold a newline. */
    PLAIN
  }

  /**
   * A container's start, as the wrapper performs it.
   *
   * @param argv the command line, shipped in {@code run/NAME.argv}
   * @param mode how the wrapper runs it
   * @param env the container's environment, shipped in {@code env/NAME.env}
   * @param envFormat the env file's syntax
   * @param workDir a directory to change to first (runtime none), or empty
   * @param noNewPrivs whether the wrapper sets no_new_privs itself (runtime none, with setpriv)
   * @param binds the container's binds, whose sources the wrapper checks before each start
   */
  record Launch(
      List<String> argv,
      Mode mode,
      Map<String, String> env,
      EnvFormat envFormat,
      String workDir,
      boolean noNewPrivs,
      List<Bind> binds) {
    public Launch {
      argv = List.copyOf(argv);
      binds = List.copyOf(binds);
      env = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(env));
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
