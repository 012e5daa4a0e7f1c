package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.local.common.MountInfo;
import io.hpcbridge.backend.local.common.ProcFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where containers' cgroups go, found from {@code /proc/self/cgroup} and {@code
 * /proc/self/mountinfo}: cgroup v2 when its memory and cpu controllers can be used below this
 * process's cgroup, else the cgroup v1 memory (and cpu) hierarchies, below this process's cgroup in
 * each. Creating cgroups needs root; without root or a memory controller, limits are not enforced
 * and {@link #problem()} says why.
 */
public final class Cgroups {

  /**
   * The leaf a bridge on cgroup v2 moves itself into, so that its own cgroup holds no process and
   * can hand memory and cpu down to the pods' cgroups beside it.
   */
  static final String BRIDGE_LEAF = "hpc-bridge";

  private final boolean v2;
  private final Path memory; // v1 memory cgroup, or the v2 cgroup
  private final Path cpu; // v1 cpu cgroup, null when absent or on v2
  private final String problem;

  private Cgroups(boolean v2, Path memory, Path cpu, String problem) {
    this.v2 = v2;
    this.memory = memory;
    this.cpu = cpu;
    this.problem = problem;
  }

  /** What this process can use. */
  public static Cgroups detect() {
    try {
      return detect(
          Files.readString(Path.of("/proc/self/cgroup")),
          Files.readString(Path.of("/proc/self/mountinfo")),
          ProcFs.effectiveUid());
    } catch (IOException | RuntimeException e) {
      return new Cgroups(false, null, null, "cannot read this process's cgroups: " + e);
    }
  }

  static Cgroups detect(String selfCgroup, String mountinfo, long euid) {
    if (euid != 0) {
      return new Cgroups(false, null, null, "the bridge does not run as root (uid " + euid + ")");
    }
    Map<String, String> paths = new LinkedHashMap<>(); // controller ("" for v2) -> path
    for (String line : selfCgroup.split("\n")) {
      String[] f = line.split(":", 3);
      if (f.length == 3) {
        for (String c : f[1].split(",")) {
          paths.put(c, f[2]);
        }
      }
    }
    List<MountInfo.Entry> mounts = mounts(mountinfo);
    Path unified = dir(mounts, "cgroup2", null, paths.get(""));
    if (unified != null) {
      // A bridge that moved into its leaf hands controllers down from the cgroup above.
      Path base = unified.endsWith(BRIDGE_LEAF) ? unified.getParent() : unified;
      if (controllers(base).containsAll(List.of("memory", "cpu"))) {
        return new Cgroups(true, base, null, null);
      }
    }
    Path mem = dir(mounts, "cgroup", "memory", paths.get("memory"));
    if (mem == null) {
      return new Cgroups(false, null, null, "no memory cgroup controller is mounted");
    }
    return new Cgroups(false, mem, dir(mounts, "cgroup", "cpu", paths.get("cpu")), null);
  }

  /** The controllers a v2 cgroup can hand down. */
  static List<String> controllers(Path cgroup) {
    try {
      return List.of(Files.readString(cgroup.resolve("cgroup.controllers")).trim().split("\\s+"));
    } catch (IOException e) {
      return List.of();
    }
  }

  static List<MountInfo.Entry> mounts(String mountinfo) {
    return MountInfo.parse(mountinfo).stream()
        .filter(m -> m.type().equals("cgroup") || m.type().equals("cgroup2"))
        .toList();
  }

  /** The directory of cgroup {@code path} in the hierarchy of {@code controller}, or null. */
  private static Path dir(
      List<MountInfo.Entry> mounts, String type, String controller, String path) {
    if (path == null) {
      return null;
    }
    for (MountInfo.Entry m : mounts) {
      if (m.type().equals(type) && (controller == null || m.superOptions().contains(controller))) {
        String rel = path;
        if (!m.root().equals("/") && rel.startsWith(m.root())) {
          rel = rel.substring(m.root().length());
        }
        Path d = m.point();
        for (String part : rel.split("/")) {
          if (!part.isEmpty()) {
            d = d.resolve(part);
          }
        }
        return d;
      }
    }
    return null;
  }

  /** Why limits cannot be enforced here, or empty when they can. */
  public Optional<String> problem() {
    return Optional.ofNullable(problem);
  }

  /** For the node log. */
  public String describe() {
    if (problem != null) {
      return "not available: " + problem;
    }
    return v2
        ? "cgroup v2 below " + memory
        : "cgroup v1, memory below "
            + memory
            + (cpu == null ? ", no cpu controller" : ", cpu below " + cpu);
  }

  /**
   * Creates the cgroup of one container run with its limits, or returns null when cgroups are not
   * available here.
   */
  ContainerCgroup create(String podUid, String container, Resources r) throws IOException {
    if (problem != null) {
      return null;
    }
    String pod = "hpc-bridge-" + podUid;
    String name = "c-" + container;
    return v2
        ? ContainerCgroup.createV2(memory.resolve(pod), name, r)
        : ContainerCgroup.createV1(
            memory.resolve(pod), cpu == null ? null : cpu.resolve(pod), name, r);
  }

  /**
   * Removes what is left of a pod's cgroups (its supervisor died before it could): the processes
   * still in them are killed first. For a pod that has ended.
   */
  public void removePod(String podUid) throws InterruptedException {
    if (problem != null) {
      return;
    }
    String pod = "hpc-bridge-" + podUid;
    for (Path base : cpu == null ? List.of(memory) : List.of(memory, cpu)) {
      Path dir = base.resolve(pod);
      if (!Files.isDirectory(dir)) {
        continue;
      }
      try (var children = Files.list(dir)) {
        for (Path c : children.filter(Files::isDirectory).toList()) {
          ContainerCgroup.existing(v2, c).removeAfterKilling();
        }
      } catch (IOException e) {
        // gone meanwhile
      }
      try {
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        // still busy: stays
      }
    }
  }

  /**
   * On cgroup v2, prepares the bridge's own cgroup to hand memory and cpu down: the bridge moves
   * itself into a leaf {@value #BRIDGE_LEAF} below it (its supervisors start there too), and the
   * controllers are enabled for the pods' cgroups beside that leaf. Nothing to do on v1. Returns
   * why that failed, or empty.
   */
  public Optional<String> prepareBridge() {
    if (problem != null || !v2) {
      return Optional.empty();
    }
    try {
      Path leaf = memory.resolve(BRIDGE_LEAF);
      if (!Files.isDirectory(leaf)) {
        Files.createDirectory(leaf);
      }
      Files.writeString(leaf.resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
      Files.writeString(memory.resolve("cgroup.subtree_control"), "+memory +cpu");
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(
          "cannot enable the memory and cpu controllers below "
              + memory
              + " (other processes share the bridge's cgroup?): "
              + e.getMessage());
    }
  }
}
