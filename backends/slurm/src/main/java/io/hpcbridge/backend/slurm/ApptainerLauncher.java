package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code apptainer exec|run} (or singularity): {@code exec} when the container has a command,
 * {@code run} (the image's runscript) when it has only args. Apptainer reads the env from {@code
 * --env-file} itself, so the pod's env never reaches the wrapper or apptainer. Images without a
 * scheme are pulled from {@code docker://}.
 */
final class ApptainerLauncher implements ContainerLauncher {
  /** What {@code apptainer run IMAGE ARGS} runs. */
  static final String RUNSCRIPT = "/.singularity.d/runscript";

  @Override
  public Launch launch(Target t) throws BackendException.InvalidPod {
    ContainerPlan c = t.container();
    ContainerLauncher.checkImage(c);
    boolean hide = Trampoline.needed(c);
    List<String> a = new ArrayList<>();
    a.add(t.binary());
    a.add(c.command().isEmpty() && !hide ? "run" : "exec");
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
    Map<String, String> env = c.env();
    if (hide) {
      List<String> argv = new ArrayList<>();
      if (c.command().isEmpty()) {
        argv.add(RUNSCRIPT);
      }
      argv.addAll(c.argv());
      a.addAll(Trampoline.argv());
      env = Trampoline.env(env, argv);
    } else {
      a.addAll(c.command().isEmpty() ? c.args() : c.argv());
    }
    return new Launch(a, Mode.EXEC, env, EnvFormat.SHELL, "", false, t.binds());
  }

  /** {@code docker://IMAGE} unless the image names its scheme or is a local file. */
  static String image(String image) {
    return image.matches("^[a-z][a-z0-9+.-]*://.*") || image.startsWith("/")
        ? image
        : "docker://" + image;
  }
}
