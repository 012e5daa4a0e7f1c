package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The hostPath rule no policy can lift: a pod never gets a container engine's socket, the engines'
 * own directories or the host's kernel interfaces. Images run as root by default and hostPaths are
 * mounted read-write, so each of them is root on the host. A rule is a socket (refused with every
 * directory above it) or a tree (refused with everything under it and every directory above it);
 * {@code *} stands for one path segment (a user's id under {@code /run/user}). Rules under {@code
 * /run} hold for {@code /var/run} too and the other way round (one is usually a link to the other).
 * Paths are compared after removing {@code .}, {@code ..} and repeated slashes, with each mount's
 * subPath; symbolic links are resolved by the Docker host, out of the backend's sight: hostPath
 * prefixes the bridge's policy allows must not be writable by tenants.
 */
final class EngineSockets {
  static final String REASON = "PolicyViolation";

  /** A socket, or a directory refused whole. */
  record Rule(String path, boolean tree, String what) {}

  private static final String SOCKET = "the container engine's socket";

  /** Where engines put their sockets and data on common systems, and the kernel's interfaces. */
  static final List<Rule> USUAL =
      List.of(
          socket("/run/docker.sock"),
          socket("/run/user/*/docker.sock"),
          tree("/run/docker", "Docker's run directory: containerd's and plugins' sockets"),
          tree("/run/user/*/docker", "rootless Docker's run directory and sockets"),
          tree("/run/containerd", "containerd's sockets, its shims' too"),
          tree("/run/user/*/containerd-rootless", "rootless containerd's sockets"),
          tree("/run/podman", "Podman's socket"),
          tree("/run/user/*/podman", "rootless Podman's socket"),
          tree("/run/crio", "CRI-O's socket"),
          tree("/run/buildkit", "BuildKit's socket"),
          tree("/run/user/*/buildkit", "rootless BuildKit's socket"),
          tree("/var/lib/docker", "Docker's data: every container's files"),
          tree("/var/lib/containerd", "containerd's data: every container's files"),
          tree("/var/lib/containers", "Podman's and CRI-O's data: every container's files"),
          tree("/var/lib/buildkit", "BuildKit's data"),
          tree("/proc", "every process's root file system and engine socket are reachable here"),
          tree("/sys", "the host's kernel settings and cgroups"),
          tree("/dev", "the host's devices"));

  private final List<Rule> rules;

  private EngineSockets(List<Rule> rules) {
    Map<String, Rule> all = new LinkedHashMap<>();
    for (Rule r : rules) {
      Rule n = new Rule(normalize(r.path()), r.tree(), r.what());
      all.putIfAbsent(n.path(), n);
      String twin = twin(n.path());
      if (twin != null) {
        all.putIfAbsent(twin, new Rule(twin, n.tree(), n.what()));
      }
    }
    this.rules = List.copyOf(all.values());
  }

  /**
   * The usual rules, the configured hosts' unix sockets with their directories (an engine with a
   * socket of its own keeps its run directory there) and the operator's {@code refusedHostPaths}.
   */
  static EngineSockets of(DockerSettings settings) {
    List<Rule> out = new ArrayList<>(USUAL);
    for (DockerSettings.HostSettings h : settings.hosts()) {
      if ("unix".equals(h.uri().getScheme())) {
        String s = normalize(h.uri().getPath());
        out.add(socket(s));
        Path dir = Path.of(s).getParent();
        if (dir != null && !List.of("/", "/run", "/var/run").contains(dir.toString())) {
          out.add(tree(dir.toString(), "the directory of docker host " + h.name() + "'s socket"));
        }
      }
    }
    for (String p : settings.refusedHostPaths()) {
      out.add(tree(p, "listed in backends.docker.refusedHostPaths"));
    }
    return new EngineSockets(out);
  }

  /** These rules and the engines' data roots (as the engines report them). */
  EngineSockets withDataRoots(Collection<String> roots) {
    List<Rule> out = new ArrayList<>(rules);
    for (String r : roots) {
      if (r != null && r.startsWith("/")) {
        out.add(tree(r, "an engine's data root: every container's files"));
      }
    }
    return new EngineSockets(out);
  }

  List<Rule> rules() {
    return rules;
  }

  private static Rule socket(String path) {
    return new Rule(path, false, null);
  }

  private static Rule tree(String path, String what) {
    return new Rule(path, true, what);
  }

  private static String twin(String path) {
    if (path.startsWith("/run/")) {
      return "/var" + path;
    }
    if (path.startsWith("/var/run/")) {
      return path.substring("/var".length());
    }
    return null;
  }

  static String normalize(String path) {
    return Path.of(path).normalize().toString();
  }

  /** Refuses a pod whose hostPath volumes (with each mount's subPath) reach a rule. */
  void check(PodPlan plan) throws BackendException.InvalidPod {
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
        for (Rule r : rules) {
          String relation = relation(segments(n), segments(r.path()), r.tree());
          if (relation != null) {
            throw refused(v, n, relation, r);
          }
        }
      }
    }
  }

  private static String[] segments(String path) {
    return path.equals("/") ? new String[0] : path.substring(1).split("/");
  }

  /** "is", "holds" (a directory above), "is under" (a tree's), or null. */
  private static String relation(String[] path, String[] rule, boolean tree) {
    int common = Math.min(path.length, rule.length);
    for (int i = 0; i < common; i++) {
      if (!rule[i].equals("*") && !rule[i].equals(path[i])) {
        return null;
      }
    }
    if (path.length == rule.length) {
      return "is";
    }
    if (path.length < rule.length) {
      return "holds";
    }
    return tree ? "is under" : null;
  }

  private static BackendException.InvalidPod refused(
      VolumePlan v, String path, String relation, Rule r) {
    String why =
        r.tree()
            ? "it " + relation + " " + r.path() + " (" + r.what() + ")"
            : "it " + relation + " " + SOCKET + " " + r.path();
    return new BackendException.InvalidPod(
        REASON,
        "hostPath volume "
            + v.name()
            + " ("
            + path
            + ") is refused: "
            + why
            + ", and whoever reaches it is root on the host; the docker backend never binds an"
            + " engine socket, an engine's directories or the host's kernel interfaces, nor a"
            + " directory above one");
  }
}
