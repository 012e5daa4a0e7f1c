package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.Resources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The cgroup of one container run: its memory limit without swap, its CPU quota, how many processes
 * it may have, whether the OOM killer struck in it, and the processes left in it when the run ends.
 * On cgroup v1 it is one directory in the memory hierarchy (and one in the cpu hierarchy when a CPU
 * limit is set, one in the pids hierarchy when it is mounted); on v2 one directory.
 */
final class ContainerCgroup {

  private static final long CPU_PERIOD_US = 100_000;

  private final boolean v2;
  private final Path memory;
  private final Path cpu; // v1 only, or null
  private final Path pids; // v1 only, or null

  private ContainerCgroup(boolean v2, Path memory, Path cpu, Path pids) {
    this.v2 = v2;
    this.memory = memory;
    this.cpu = cpu;
    this.pids = pids;
  }

  /** A container cgroup that exists already (one hierarchy at a time). */
  static ContainerCgroup existing(boolean v2, Path dir) {
    return new ContainerCgroup(v2, dir, null, null);
  }

  /**
   * cgroup v1: {@code memory.limit_in_bytes} (+ memsw), {@code cpu.cfs_quota_us}, {@code pids.max}
   * ({@code pidsPod} null: no pids hierarchy; {@code maxProcesses} 0: no limit).
   */
  static ContainerCgroup createV1(
      Path memoryPod, Path cpuPod, Path pidsPod, String name, Resources r, long maxProcesses)
      throws IOException {
    Path mem = memoryPod.resolve(name);
    Path cpu = r.cpuLimitMillis() > 0 && cpuPod != null ? cpuPod.resolve(name) : null;
    Path pids = maxProcesses > 0 && pidsPod != null ? pidsPod.resolve(name) : null;
    ContainerCgroup cg = new ContainerCgroup(false, mem, cpu, pids);
    try {
      Files.createDirectories(mem);
      if (r.memoryLimitBytes() > 0) {
        String limit = Long.toString(r.memoryLimitBytes());
        write(mem.resolve("memory.limit_in_bytes"), limit);
        // memory + swap = memory: no swap, like the kubelet.
        if (Files.exists(mem.resolve("memory.memsw.limit_in_bytes"))) {
          write(mem.resolve("memory.memsw.limit_in_bytes"), limit);
        }
      }
      if (cpu != null) {
        Files.createDirectories(cpu);
        write(cpu.resolve("cpu.cfs_period_us"), Long.toString(CPU_PERIOD_US));
        write(cpu.resolve("cpu.cfs_quota_us"), Long.toString(quota(r)));
      }
      if (pids != null) {
        Files.createDirectories(pids);
        write(pids.resolve("pids.max"), Long.toString(maxProcesses));
      }
    } catch (IOException e) {
      cg.remove();
      throw e;
    }
    return cg;
  }

  /**
   * cgroup v2: {@code memory.max}, {@code memory.swap.max} 0, {@code cpu.max}, and {@code pids.max}
   * when {@code withPids} (the pids controller is there) and {@code maxProcesses} is set.
   */
  static ContainerCgroup createV2(
      Path pod, String name, Resources r, boolean withPids, long maxProcesses) throws IOException {
    Path dir = pod.resolve(name);
    ContainerCgroup cg = new ContainerCgroup(true, dir, null, null);
    List<String> controllers =
        withPids ? List.of("memory", "cpu", "pids") : List.of("memory", "cpu");
    try {
      delegate(pod.getParent(), controllers);
      if (!Files.isDirectory(pod)) {
        Files.createDirectory(pod);
      }
      delegate(pod, controllers);
      Files.createDirectories(dir);
      if (r.memoryLimitBytes() > 0) {
        write(dir.resolve("memory.max"), Long.toString(r.memoryLimitBytes()));
        if (Files.exists(dir.resolve("memory.swap.max"))) {
          write(dir.resolve("memory.swap.max"), "0");
        }
      }
      if (Files.exists(dir.resolve("memory.oom.group"))) {
        write(dir.resolve("memory.oom.group"), "1"); // the OOM killer takes the whole container
      }
      if (r.cpuLimitMillis() > 0) {
        write(dir.resolve("cpu.max"), quota(r) + " " + CPU_PERIOD_US);
      }
      if (withPids && maxProcesses > 0) {
        write(dir.resolve("pids.max"), Long.toString(maxProcesses));
      }
    } catch (IOException e) {
      cg.remove();
      throw e;
    }
    return cg;
  }

  /** Hands {@code controllers} down to the children of a v2 cgroup (a no-op when they are). */
  static void delegate(Path cgroup, List<String> controllers) throws IOException {
    Path f = cgroup.resolve("cgroup.subtree_control");
    String now = Files.exists(f) ? Files.readString(f) : "";
    if (!List.of(now.trim().split("\\s+")).containsAll(controllers)) {
      write(f, "+" + String.join(" +", controllers));
    }
  }

  /** Microseconds per period: 500m → 50000 of 100000; at least the kernel's 1 ms. */
  static long quota(Resources r) {
    return Math.max(1000, r.cpuLimitMillis() * CPU_PERIOD_US / 1000);
  }

  private static void write(Path file, String value) throws IOException {
    try {
      Files.writeString(file, value);
    } catch (IOException e) {
      throw new IOException("cannot write " + value + " to " + file + ": " + e.getMessage(), e);
    }
  }

  /** The {@code cgroup.procs} files a process must be written to, to join this cgroup. */
  List<Path> procsFiles() {
    List<Path> out = new ArrayList<>();
    out.add(memory.resolve("cgroup.procs"));
    if (cpu != null) {
      out.add(cpu.resolve("cgroup.procs"));
    }
    if (pids != null) {
      out.add(pids.resolve("cgroup.procs"));
    }
    return out;
  }

  /** Puts process {@code pid} into this cgroup. */
  void join(long pid) throws IOException {
    for (Path f : procsFiles()) {
      write(f, Long.toString(pid));
    }
  }

  /** Whether the OOM killer killed a process of this cgroup. */
  boolean oomKilled() {
    Path f = memory.resolve(v2 ? "memory.events" : "memory.oom_control");
    try {
      for (String line : Files.readAllLines(f)) {
        String[] kv = line.trim().split("\\s+");
        if (kv.length == 2 && kv[0].equals("oom_kill")) {
          return Long.parseLong(kv[1]) > 0;
        }
      }
    } catch (IOException | RuntimeException e) {
      // unknown: not reported as OOM
    }
    return false;
  }

  /** The processes in this cgroup now. */
  List<Long> processes() {
    List<Long> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(memory.resolve("cgroup.procs"))) {
        if (!line.isBlank()) {
          out.add(Long.parseLong(line.trim()));
        }
      }
    } catch (IOException | RuntimeException e) {
      // gone
    }
    return out;
  }

  /** SIGKILL to every process in the cgroup, including those that left the process group. */
  void killAll() {
    if (v2 && Files.exists(memory.resolve("cgroup.kill"))) {
      try {
        Files.writeString(memory.resolve("cgroup.kill"), "1");
        return;
      } catch (IOException e) {
        // fall back to one by one
      }
    }
    for (long pid : processes()) {
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }
  }

  /** Kills what is left and removes the cgroup, waiting up to ~5 s for its processes to go. */
  void removeAfterKilling() throws InterruptedException {
    for (int i = 0; i < 500 && !processes().isEmpty(); i++) {
      killAll();
      Thread.sleep(10);
    }
    remove();
  }

  /** Removes the directories (and the pod's, once empty); what still has processes stays. */
  void remove() {
    List<Path> dirs = new ArrayList<>(List.of(memory));
    if (cpu != null) {
      dirs.add(cpu);
    }
    if (pids != null) {
      dirs.add(pids);
    }
    for (Path d : dirs) {
      rmdir(d);
      rmdir(d.getParent());
    }
  }

  private static void rmdir(Path d) {
    try {
      Files.deleteIfExists(d);
    } catch (NoSuchFileException e) {
      // gone
    } catch (IOException e) {
      // busy (processes, or another container's cgroup in the pod's): stays
    }
  }
}
