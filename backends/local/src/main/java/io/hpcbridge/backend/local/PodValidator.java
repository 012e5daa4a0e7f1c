package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.RootHelperEnv;
import io.hpcbridge.backend.local.common.RunAs;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Everything the local backend cannot or must not run is refused here, before anything is created:
 * names that cannot name files, commands and env a process cannot receive, mounts that leave their
 * volume, volume mounts where no private mount namespace can be made, and securityContext fields it
 * cannot enforce ({@link SecurityContexts}).
 */
final class PodValidator {

  private final HostTools tools;
  private final SecurityContexts security;

  PodValidator(HostTools tools, SecurityContexts security) {
    this.tools = tools;
    this.security = security;
  }

  /** Checks the plan; returns who each container will run as, by container name. */
  Map<String, RunAs> validate(PodPlan plan) throws BackendException.InvalidPod {
    String uid = plan.pod().uid();
    if (!PodDirectory.safeName(uid)) {
      throw invalid("InvalidUID", "pod UID '" + uid + "' cannot name a directory");
    }
    Set<String> volumeNames = volumes(plan);
    Set<String> names = new HashSet<>();
    boolean mounts = false;
    for (ContainerPlan c : plan.allContainers().toList()) {
      String what = "container '" + c.name() + "'";
      if (!PodDirectory.safeName(c.name())) {
        throw invalid("InvalidContainerName", what + ": the name is not valid");
      }
      if (!names.add(c.name())) {
        throw invalid("InvalidContainerName", what + " is declared twice");
      }
      command(c, what);
      env(c, what);
      if (c.workingDir() != null
          && (!c.workingDir().startsWith("/") || c.workingDir().indexOf('\0') >= 0)) {
        throw invalid("InvalidWorkingDir", what + ": workingDir must be an absolute path");
      }
      for (ContainerPlan.Mount m : c.mounts()) {
        mounts = true;
        mount(m, what, volumeNames);
      }
    }
    if (mounts) {
      Optional<String> problem = tools.mountNamespaceProblem();
      if (problem.isPresent()) {
        throw invalid(
            "MountNamespaceUnavailable",
            "the pod mounts volumes, which the local backend does in a private mount namespace,"
                + " and that is not possible here: "
                + problem.get());
      }
    }
    return security.resolve(plan);
  }

  private static Set<String> volumes(PodPlan plan) throws BackendException.InvalidPod {
    Set<String> volumeNames = new HashSet<>();
    for (VolumePlan v : plan.volumes()) {
      if (!PodDirectory.safeName(v.name())) {
        throw invalid("InvalidVolume", "volume name '" + v.name() + "' is not valid");
      }
      if (!volumeNames.add(v.name())) {
        throw invalid("InvalidVolume", "volume '" + v.name() + "' is declared twice");
      }
      if (v.type() == VolumePlan.Type.HOST_PATH) {
        HostPaths.check(v);
      }
    }
    return volumeNames;
  }

  private static void command(ContainerPlan c, String what) throws BackendException.InvalidPod {
    if (c.argv().isEmpty()) {
      throw invalid(
          "MissingCommand",
          what
              + " has neither command nor args; the local backend runs commands on the host and"
              + " has no image to supply an entrypoint (image "
              + (c.image().isEmpty() ? "unset" : c.image())
              + ")");
    }
    for (String a : c.argv()) {
      if (a.indexOf('\0') >= 0) {
        throw invalid("InvalidCommand", what + ": command or args contain a NUL character");
      }
    }
    if (c.argv().get(0).contains("=")) {
      // The last step before the program may be env(1), which takes NAME=VALUE for a variable.
      throw invalid(
          "InvalidCommand", what + ": the program name cannot contain '=': " + c.argv().get(0));
    }
  }

  private void env(ContainerPlan c, String what) throws BackendException.InvalidPod {
    for (String name : c.secretEnv()) {
      if (security.host().root() && RootHelperEnv.unsafe(name) && c.env().containsKey(name)) {
        // It would have to travel on env(1)'s command line, which every user can read.
        throw invalid(
            "UnsupportedEnv",
            what
                + ": env "
                + name
                + " comes from a Secret, and the local backend can only pass this variable on a"
                + " command line other users of the host can read");
      }
    }
    for (Map.Entry<String, String> e : c.env().entrySet()) {
      if (e.getKey().isEmpty() || e.getKey().indexOf('=') >= 0 || e.getKey().indexOf('\0') >= 0) {
        throw invalid("InvalidEnv", what + ": env name '" + e.getKey() + "' is not valid");
      }
      if (e.getValue() != null && e.getValue().indexOf('\0') >= 0) {
        throw invalid("InvalidEnv", what + ": env " + e.getKey() + " contains a NUL character");
      }
    }
  }

  private static void mount(ContainerPlan.Mount m, String what, Set<String> volumes)
      throws BackendException.InvalidPod {
    String mw = what + ", mount of volume '" + m.volume() + "'";
    if (!volumes.contains(m.volume())) {
      throw invalid("VolumeNotFound", mw + ": the pod has no such volume");
    }
    if (!m.mountPath().startsWith("/")
        || m.mountPath().indexOf('\0') >= 0
        || Path.of(m.mountPath()).normalize().getNameCount() == 0) {
      throw invalid("InvalidMountPath", mw + ": mountPath must be an absolute path below /");
    }
    String sp = m.subPath();
    if (sp != null && !sp.isEmpty()) {
      if (sp.startsWith("/") || sp.indexOf('\0') >= 0 || List.of(sp.split("/")).contains("..")) {
        throw invalid(
            "InvalidSubPath", mw + ": subPath must be relative and stay inside the volume");
      }
    }
  }

  static BackendException.InvalidPod invalid(String reason, String message) {
    return new BackendException.InvalidPod(reason, message);
  }
}
