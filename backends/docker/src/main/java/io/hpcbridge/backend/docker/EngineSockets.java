package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The one hostPath rule no policy can lift: a pod never gets a container engine's socket. Whoever
 * can talk to it runs anything as root on that host. Refused: the configured hosts' own sockets,
 * the usual Docker and containerd sockets, every directory above one of them ({@code /}, {@code
 * /run}, {@code /var}, {@code /var/run}...), and {@code /proc} (every process's root file system is
 * reachable through it). Paths are compared after removing {@code .}, {@code ..} and repeated
 * slashes; symbolic links are resolved by the Docker host, out of the backend's sight: hostPath
 * prefixes the bridge's policy allows must not be writable by tenants.
 */
final class EngineSockets {
  private EngineSockets() {}

  static final String REASON = "PolicyViolation";

  /** Where Docker and containerd put their sockets on common systems. */
  static final List<String> USUAL =
      List.of(
          "/var/run/docker.sock",
          "/run/docker.sock",
          "/run/containerd/containerd.sock",
          "/var/run/containerd/containerd.sock",
          "/run/docker/containerd/containerd.sock",
          "/var/run/docker/containerd/containerd.sock");

  /** The usual sockets and the unix sockets of the configured hosts. */
  static Set<String> of(Collection<DockerSettings.HostSettings> hosts) {
    Set<String> out = new LinkedHashSet<>(USUAL);
    for (DockerSettings.HostSettings h : hosts) {
      if ("unix".equals(h.uri().getScheme())) {
        out.add(normalize(h.uri().getPath()));
      }
    }
    return out;
  }

  static String normalize(String path) {
    return Path.of(path).normalize().toString();
  }

  /** Refuses a pod whose hostPath volumes (with each mount's subPath) reach an engine socket. */
  static void check(PodPlan plan, Set<String> sockets) throws BackendException.InvalidPod {
    for (VolumePlan v : plan.volumes()) {
      if (v.type() != VolumePlan.Type.HOST_PATH || v.hostPath() == null) {
        continue;
      }
      List<String> paths = new ArrayList<>();
      paths.add(v.hostPath());
      plan.allContainers()
          .flatMap(c -> c.mounts().stream())
          .filter(m -> m.volume().equals(v.name()) && PodVolumes.hasSubPath(m))
          .map(ContainerPlan.Mount::subPath)
          .forEach(sub -> paths.add(v.hostPath() + "/" + sub));
      for (String p : paths) {
        String n = normalize(p);
        if (n.equals("/proc") || n.startsWith("/proc/")) {
          throw refused(v, n, "/proc reaches every process's root file system and engine socket");
        }
        for (String s : sockets) {
          if (s.equals(n) || n.equals("/") || s.startsWith(n + "/")) {
            throw refused(
                v,
                n,
                "it "
                    + (s.equals(n) ? "is" : "holds")
                    + " the container engine's socket "
                    + s
                    + ", and whoever reaches it is root on the host");
          }
        }
      }
    }
  }

  private static BackendException.InvalidPod refused(VolumePlan v, String path, String why) {
    return new BackendException.InvalidPod(
        REASON,
        "hostPath volume "
            + v.name()
            + " ("
            + path
            + ") is refused: "
            + why
            + "; the docker backend never binds an engine socket or a directory above one");
  }
}
