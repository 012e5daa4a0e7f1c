package io.hpcbridge.backend.local.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.Resources;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Finding the cgroup hierarchies and writing limits, on a file tree laid out like cgroupfs (v2 is
 * not mounted on the test machines, so this is where its code runs; {@code LocalSecurityIT} runs v1
 * for real).
 */
class CgroupsTest {

  @TempDir Path fs;

  static final Resources LIMITS = new Resources(0, 500, 0, 64L << 20, 0, Map.of());

  private String v1Mounts() {
    return String.join(
        "\n",
        "22 1 0:20 / /sys rw - sysfs sysfs rw",
        "30 22 0:26 / " + fs.resolve("memory") + " rw,relatime - cgroup cgroup rw,memory",
        "31 22 0:27 / " + fs.resolve("cpu") + " rw,relatime - cgroup cgroup rw,cpu",
        "33 22 0:29 / " + fs.resolve("pids") + " rw,relatime - cgroup cgroup rw,pids",
        "32 22 0:28 / " + fs.resolve("unified") + " rw,relatime - cgroup2 cgroup2 rw",
        "");
  }

  @Test
  void cgroupV1IsFoundBelowThisProcesssCgroupInEachHierarchy() throws Exception {
    Files.createDirectories(fs.resolve("unified")); // hybrid: v2 without controllers
    Cgroups cg =
        Cgroups.detect("8:pids:/p\n4:memory:/jobs/a\n1:cpu,cpuacct:/\n0::/\n", v1Mounts(), 0);
    assertThat(cg.problem()).isEmpty();
    assertThat(cg.pidsProblem()).isEmpty();
    assertThat(cg.describe())
        .contains(
            "cgroup v1",
            fs.resolve("memory/jobs/a").toString(),
            "cpu below " + fs.resolve("cpu"),
            "pids below " + fs.resolve("pids/p"));

    ContainerCgroup c = cg.create("uid-1", "app", LIMITS, 4096);
    Path mem = fs.resolve("memory/jobs/a/hpc-bridge-uid-1/c-app");
    Path cpu = fs.resolve("cpu/hpc-bridge-uid-1/c-app");
    Path pids = fs.resolve("pids/p/hpc-bridge-uid-1/c-app");
    assertThat(Files.readString(mem.resolve("memory.limit_in_bytes"))).isEqualTo("67108864");
    assertThat(Files.readString(cpu.resolve("cpu.cfs_quota_us"))).isEqualTo("50000");
    assertThat(Files.readString(cpu.resolve("cpu.cfs_period_us"))).isEqualTo("100000");
    assertThat(Files.readString(pids.resolve("pids.max"))).isEqualTo("4096");
    assertThat(c.procsFiles())
        .containsExactly(
            mem.resolve("cgroup.procs"), cpu.resolve("cgroup.procs"), pids.resolve("cgroup.procs"));

    Files.writeString(
        mem.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
    assertThat(c.oomKilled()).isFalse();
    Files.writeString(
        mem.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    assertThat(c.oomKilled()).isTrue();
  }

  @Test
  void swapIsOffWhereTheKernelAccountsForIt() throws Exception {
    Path pod = fs.resolve("memory/hpc-bridge-u");
    Files.createDirectories(pod.resolve("c-app"));
    Files.writeString(pod.resolve("c-app/memory.memsw.limit_in_bytes"), "9223372036854771712");
    ContainerCgroup.createV1(pod, null, null, "c-app", LIMITS, 4096);
    assertThat(Files.readString(pod.resolve("c-app/memory.memsw.limit_in_bytes")))
        .isEqualTo("67108864");
    assertThat(pod.resolve("c-app/cpu.cfs_quota_us")).doesNotExist();
  }

  @Test
  void cgroupV2IsPreferredWhenItHasTheControllers() throws Exception {
    Path own = Files.createDirectories(fs.resolve("v2/bridge.service"));
    Files.writeString(own.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
    String mounts = "40 1 0:30 / " + fs.resolve("v2") + " rw - cgroup2 cgroup2 rw\n";
    Cgroups cg = Cgroups.detect("0::/bridge.service\n", mounts, 0);
    assertThat(cg.describe()).isEqualTo("cgroup v2 below " + own);

    ContainerCgroup c = cg.create("uid-2", "app", LIMITS, 1000);
    Path dir = own.resolve("hpc-bridge-uid-2/c-app");
    assertThat(Files.readString(own.resolve("cgroup.subtree_control")))
        .isEqualTo("+memory +cpu +pids");
    assertThat(Files.readString(own.resolve("hpc-bridge-uid-2/cgroup.subtree_control")))
        .isEqualTo("+memory +cpu +pids");
    assertThat(Files.readString(dir.resolve("memory.max"))).isEqualTo("67108864");
    assertThat(Files.readString(dir.resolve("cpu.max"))).isEqualTo("50000 100000");
    assertThat(Files.readString(dir.resolve("pids.max"))).isEqualTo("1000");
    assertThat(c.procsFiles()).containsExactly(dir.resolve("cgroup.procs"));
    Files.writeString(dir.resolve("memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    assertThat(c.oomKilled()).isTrue();

    // A bridge that moved into its leaf: the pods' cgroups go beside it.
    Files.createDirectories(own.resolve(Cgroups.BRIDGE_LEAF));
    assertThat(Cgroups.detect("0::/bridge.service/hpc-bridge\n", mounts, 0).describe())
        .isEqualTo("cgroup v2 below " + own);
  }

  @Test
  void withoutRootOrAMemoryControllerNothingIsEnforced() throws Exception {
    assertThat(Cgroups.detect("4:memory:/\n", v1Mounts(), 1000).problem())
        .hasValueSatisfying(p -> assertThat(p).contains("not run as root"));
    String noMemory = "31 22 0:27 / " + fs.resolve("cpu") + " rw - cgroup cgroup rw,cpu\n";
    Cgroups none = Cgroups.detect("1:cpu:/\n", noMemory, 0);
    assertThat(none.problem()).hasValueSatisfying(p -> assertThat(p).contains("memory"));
    assertThat(none.create("u", "app", LIMITS, 4096)).isNull();
    // Memory without a pids controller: limits, but no process count.
    String noPids = "30 22 0:26 / " + fs.resolve("memory") + " rw - cgroup cgroup rw,memory\n";
    assertThat(Cgroups.detect("4:memory:/\n", noPids, 0).pidsProblem()).isPresent();
  }

  @Test
  void mountPointsWithEscapedCharactersAndNonRootMounts() {
    var m =
        Cgroups.mounts(
            "30 22 0:26 /jobs /sys/fs/cgroup/my\\040memory rw - cgroup cgroup rw,memory\n");
    assertThat(m).hasSize(1);
    assertThat(m.get(0).point()).isEqualTo(Path.of("/sys/fs/cgroup/my memory"));
    assertThat(m.get(0).root()).isEqualTo("/jobs");
    Cgroups cg =
        Cgroups.detect(
            "4:memory:/jobs/a\n",
            "30 22 0:26 /jobs " + fs.resolve("mem") + " rw - cgroup cgroup rw,memory\n",
            0);
    assertThat(cg.describe()).contains(fs.resolve("mem/a").toString());
  }
}
