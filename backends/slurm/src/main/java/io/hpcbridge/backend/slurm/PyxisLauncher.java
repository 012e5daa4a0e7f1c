package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * enroot through the pyxis SPANK plugin: {@code srun --overlap --ntasks=1 --container-image=IMAGE
 * COMMAND}, a job step inside the pod's allocation. Pyxis takes the container's env from srun's own
 * environment, so the wrapper sources the env file just before srun; names that would change srun
 * are refused ({@link EnvRules}).
 */
final class PyxisLauncher implements ContainerLauncher {

  @Override
  public Launch launch(Target t) throws BackendException.InvalidPod {
    ContainerPlan c = t.container();
    ContainerLauncher.checkImage(c);
    if (c.argv().isEmpty()) {
      throw Invalid.pod(
          "MissingCommand",
          "container "
              + c.name()
              + ": the pyxis runtime needs a command or args (srun cannot start an image's"
              + " entrypoint)");
    }
    if (c.argv().get(0).startsWith("-")) {
      throw Invalid.pod(
          "InvalidCommand", "container " + c.name() + ": the command must not start with '-'");
    }
    List<String> a = new ArrayList<>();
    a.add(t.binary());
    a.add("--overlap");
    a.add("--ntasks=1");
    a.add("--container-image=" + image(c.image()));
    a.addAll(t.options());
    if (c.security().readOnlyRootFilesystem()) {
      a.add("--container-readonly");
    }
    if (!t.binds().isEmpty()) {
      a.add("--container-mounts=" + String.join(",", t.binds().stream().map(Bind::spec).toList()));
    }
    if (c.workingDir() != null) {
      a.add("--container-workdir=" + c.workingDir());
    }
    Map<String, String> env = c.env();
    if (Trampoline.needed(c)) {
      a.addAll(Trampoline.argv());
      env = Trampoline.env(env, c.argv());
    } else {
      a.addAll(c.argv());
    }
    return new Launch(a, Mode.SRUN, env, EnvFormat.SHELL, "", false, t.binds());
  }

  /** {@code registry.io:5000/ns/img:tag} becomes pyxis' {@code registry.io:5000#ns/img:tag}. */
  static String image(String image) {
    String i = image.startsWith("docker://") ? image.substring("docker://".length()) : image;
    if (i.startsWith("/")) {
      return i;
    }
    int slash = i.indexOf('/');
    if (slash > 0) {
      String first = i.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        return first + "#" + i.substring(slash + 1);
      }
    }
    return i;
  }
}
