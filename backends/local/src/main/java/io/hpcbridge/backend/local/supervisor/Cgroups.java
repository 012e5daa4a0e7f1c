package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.local.common.MountInfo;
import io.hpcbridge.backend.local.common.ProcFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where containers' cgroups go, found from {@code /proc/self/cgroup} and {@code
 * /proc/self/mountinfo}: cgroup v2 when its memory and cpu controllers can be used below this
 * process's cgroup (and its pids controller when it has one), else the cgroup v1 memory (and cpu,
 * and pids) hierarchies, below this process's cgroup in each. Creating cgroups needs root; without
 * root or a memory controller, limits are not enforced and {@link #problem()} says why.
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
  private final Path pids; // v1 pids cgroup, null when absent or on v2
  private final boolean v2Pids; // v2 with the pids controller
  private final String problem;

  private Cgroups(boolean v2, Path memory, Path cpu, Path pids, boolean v2Pids, String problem) {
    this.v2 = v2;
    this.memory = memory;
    this.cpu = cpu;
    this.pids = pids;
    this.v2Pids = v2Pids;
    this.problem = problem;
  }

  private static Cgroups none(String problem) {
    return new Cgroups(false, null, null, null, false, problem);
  }

  /** What this process can use. */
  public static Cgroups detect() {
    try {
      return detect(
          Files.readString(Path.of("/proc/self/cgroup")),
          Files.readString(Path.of("/proc/self/mountinfo")),
          ProcFs.effectiveUid());
    } catch (IOException | RuntimeException e) {
      return none("cannot read this process's cgroups: " + e);
    }
  }

  static Cgroups detect(String selfCgroup, String mountinfo, long euid) {
    if (euid != 0) {
      return none("the bridge does not run as root (uid " + euid + ")");
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
      List<String> controllers = controllers(base);
      if (controllers.containsAll(List.of("memory", "cpu"))) {
        return new Cgroups(true, base, null, null, controllers.contains("pids"), null);
      }
    }
    Path mem = dir(mounts, "cgroup", "memory", paths.get("memory"));
    if (mem == null) {
      return none("no memory cgroup controller is mounted");
    }
    return new Cgroups(
        false,
        mem,
        dir(mounts, "cgroup", "cpu", paths.get("cpu")),
        dir(mounts, "cgroup", "pids", paths.get("pids")),
        false,
        null);
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
        ? "cgroup v2 below " + memory + (v2Pids ? "" : ", no pids controller")
        : "cgroup v1, memory below "
            + memory
            + (cpu == null ? ", no cpu controller" : ", cpu below " + cpu)
            + (pids == null ? ", no pids controller" : ", pids below " + pids);
  }

  /** Why the number of processes of containers is not limited, or empty when it is. */
  public Optional<String> pidsProblem() {
    if (problem != null) {
      return Optional.of(problem);
    }
    return v2Pids || (!v2 && pids != null)
        ? Optional.empty()
        : Optional.of("no pids cgroup controller is available");
  }

  /**
   * Creates the cgroup of one container run with its limits, or returns null when cgroups are not
   * available here.
   */
  ContainerCgroup create(String podUid, String container, Resources r, long maxProcesses)
      throws IOException {
    if (problem != null) {
      return null;
    }
    String pod = "hpc-bridge-" + podUid;
    String name = "c-" + container;
    return v2
        ? ContainerCgroup.createV2(memory.resolve(pod), name, r, v2Pids, maxProcesses)
        : ContainerCgroup.createV1(
            memory.resolve(pod),
            cpu == null ? null : cpu.resolve(pod),
            pids == null ? null : pids.resolve(pod),
            name,
            r,
            maxProcesses);
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
    List<Path> bases = new ArrayList<>(List.of(memory));
    if (cpu != null) {
      bases.add(cpu);
    }
    if (pids != null) {
      bases.add(pids);
    }
    for (Path base : bases) {
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
   * On cgroup v2, prepares the bridge's own cgroup to hand memory, cpu (and pids) down: the bridge
   * moves itself into a leaf {@value #BRIDGE_LEAF} below it (its supervisors start there too), and
   * the controllers are enabled for the pods' cgroups beside that leaf. Nothing to do on v1.
   * Returns why that failed, or empty.
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
      ContainerCgroup.delegate(
          memory, v2Pids ? List.of("memory", "cpu", "pids") : List.of("memory", "cpu"));
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
