package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;

/**
 * Runtime {@code none}: the container's command runs directly on the compute node, as the job's
 * account; the image is only recorded. It cannot bind volumes. The pod's env is set only in the
 * final exec (a fresh bash sources it and execs the command), so it never reaches the wrapper,
 * setsid or setpriv.
 */
final class DirectLauncher implements ContainerLauncher {

  @Override
  public boolean bindsVolumes() {
    return false;
  }

  @Override
  public Launch launch(Target t) throws BackendException.InvalidPod {
    ContainerPlan c = t.container();
    if (c.argv().isEmpty()) {
      throw Invalid.pod(
          "MissingCommand",
          "container "
              + c.name()
              + ": runtime none runs the command directly, so the container needs a command or"
              + " args");
    }
    return new Launch(
        c.argv(),
        Mode.DIRECT,
        c.env(),
        EnvFormat.SHELL,
        c.workingDir() == null ? "" : c.workingDir(),
        c.security().noNewPrivileges(),
        t.binds());
  }
}
