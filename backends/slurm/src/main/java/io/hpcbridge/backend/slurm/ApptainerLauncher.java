package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code apptainer exec|run} (or singularity): {@code exec} when the container has a command,
 * {@code run} (the image's runscript) when it has only args. The env travels in {@code --env-file};
 * images without a scheme are pulled from {@code docker://}.
 */
final class ApptainerLauncher implements ContainerLauncher {

  @Override
  public Launch launch(Target t) throws BackendException.InvalidPod {
    ContainerPlan c = t.container();
    ContainerLauncher.checkImage(c);
    List<String> a = new ArrayList<>();
    a.add(t.binary());
    a.add(c.command().isEmpty() ? "run" : "exec");
    a.addAll(t.options());
    if (c.resources().gpus() > 0) {
      a.add("--nv");
    }
    a.add("--env-file");
    a.add(t.envFile());
    for (Bind b : t.binds()) {
      a.add("--bind");
      a.add(b.spec());
    }
    if (c.workingDir() != null) {
      a.add("--pwd");
      a.add(c.workingDir());
    }
    a.add(image(c.image()));
    a.addAll(c.command().isEmpty() ? c.args() : c.argv());
    return new Launch(a, "", "", true);
  }

  /** {@code docker://IMAGE} unless the image names its scheme or is a local file. */
  static String image(String image) {
    return image.matches("^[a-z][a-z0-9+.-]*://.*") || image.startsWith("/")
        ? image
        : "docker://" + image;
  }
}
