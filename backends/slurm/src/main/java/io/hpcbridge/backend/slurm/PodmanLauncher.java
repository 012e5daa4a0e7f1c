package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code podman run --rm --network=host IMAGE}: the pod's network is the node's (like every Slurm
 * job); the command replaces the image's entrypoint.
 */
final class PodmanLauncher implements ContainerLauncher {

  @Override
  public Launch launch(Target t) throws BackendException.InvalidPod {
    ContainerPlan c = t.container();
    ContainerLauncher.checkImage(c);
    List<String> a = new ArrayList<>();
    a.add(t.binary());
    a.add("run");
    a.add("--rm");
    a.add("--network=host");
    a.add(
        "--pull="
            + switch (c.imagePullPolicy()) {
              case "Always" -> "always";
              case "Never" -> "never";
              default -> "missing";
            });
    a.addAll(t.options());
    if (c.resources().gpus() > 0) {
      a.add("--device=nvidia.com/gpu=all");
    }
    for (String name : c.env().keySet()) {
      a.add("--env=" + name);
    }
    for (Bind b : t.binds()) {
      a.add("--volume=" + b.spec());
    }
    if (c.workingDir() != null) {
      a.add("--workdir=" + c.workingDir());
    }
    if (!c.command().isEmpty()) {
      a.add("--entrypoint=" + c.command().get(0));
    }
    a.add(c.image());
    if (!c.command().isEmpty()) {
      a.addAll(c.command().subList(1, c.command().size()));
    }
    a.addAll(c.args());
    return new Launch(a, t.envFile(), "", true);
  }
}
