package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.SecurityPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code podman run --rm --network=host IMAGE}: the pod's network is the node's (like every Slurm
 * job); the command replaces the image's entrypoint. Podman reads the env from {@code --env-file}
 * itself, so the pod's env never reaches the wrapper or podman.
 */
final class PodmanLauncher implements ContainerLauncher {

  /** The securityContext as podman options ({@link SecurityRules} refused what cannot be). */
  static List<String> security(SecurityPlan s) {
    List<String> a = new ArrayList<>();
    if (s.noNewPrivileges()) {
      a.add("--security-opt=no-new-privileges");
    }
    if ("Unconfined".equals(s.seccompProfile())) {
      a.add("--security-opt=seccomp=unconfined");
    }
    if (s.readOnlyRootFilesystem()) {
      a.add("--read-only");
    }
    for (String cap : s.dropCapabilities()) {
      a.add("--cap-drop=" + cap);
    }
    if (s.runAsUser() != null || s.runAsGroup() != null || s.requiresNonRoot()) {
      // Rootless podman maps the account to root in the container; keep-id runs the container as
      // the account's own uid and gid, the only ones SecurityRules lets a pod ask for.
      a.add("--userns=keep-id");
    }
    return a;
  }

  @Override
  public Launch launch(Target t) throws BackendException.InvalidPod {
    ContainerPlan c = t.container();
    ContainerLauncher.checkImage(c);
    boolean hide = Trampoline.needed(c);
    if (hide && c.command().isEmpty()) {
      throw Invalid.pod(
          "UnsupportedSecretArgs",
          "container "
              + c.name()
              + ": its args hold a Secret value, which podman would show in its own command line;"
              + " give the container a command so the bridge can pass them another way");
    }
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
    a.addAll(security(c.security()));
    if (c.resources().gpus() > 0) {
      a.add("--device=nvidia.com/gpu=all");
    }
    a.add("--env-file=" + t.envFile());
    for (Bind b : t.binds()) {
      a.add("--volume=" + b.spec());
    }
    if (c.workingDir() != null) {
      a.add("--workdir=" + c.workingDir());
    }
    Map<String, String> env = c.env();
    if (hide) {
      a.add("--entrypoint=/bin/sh");
      a.add(c.image());
      a.addAll(Trampoline.argv().subList(1, Trampoline.argv().size()));
      env = Trampoline.env(env, c.argv());
      for (String v : env.values()) {
        if (v.indexOf('\n') >= 0) {
          throw Invalid.pod(
              "InvalidEnv",
              "container "
                  + c.name()
                  + ": an argument holding a Secret value has a newline, which podman's"
                  + " --env-file cannot carry");
        }
      }
    } else {
      if (!c.command().isEmpty()) {
        a.add("--entrypoint=" + c.command().get(0));
      }
      a.add(c.image());
      if (!c.command().isEmpty()) {
        a.addAll(c.command().subList(1, c.command().size()));
      }
      a.addAll(c.args());
    }
    return new Launch(a, Mode.EXEC, env, EnvFormat.PLAIN, "", false, t.binds());
  }
}
