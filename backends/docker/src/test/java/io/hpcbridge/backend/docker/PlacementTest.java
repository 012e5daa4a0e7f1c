package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Resources;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlacementTest {
  static final long GI = 1L << 30;

  static Placement.HostLoad host(
      String n, long cpu, long mem, long usedCpu, long usedMem, int pods) {
    return new Placement.HostLoad(n, cpu, mem, 110, usedCpu, usedMem, pods);
  }

  @Test
  void spreadAlternatesEmptyRequestsByPodCount() {
    List<Placement.HostLoad> hosts =
        new ArrayList<>(
            List.of(host("a", 2000, 4 * GI, 0, 0, 0), host("b", 8000, 16 * GI, 0, 0, 0)));
    int[] count = new int[2];
    for (int i = 0; i < 10; i++) {
      String h =
          Placement.choose(Placement.Policy.SPREAD, hosts, new Placement.Request(0, 0))
              .orElseThrow();
      int idx = h.equals("a") ? 0 : 1;
      count[idx]++;
      Placement.HostLoad l = hosts.get(idx);
      hosts.set(
          idx,
          new Placement.HostLoad(
              l.name(), l.cpuMillis(), l.memoryBytes(), l.maxPods(), 0, 0, l.pods() + 1));
    }
    assertThat(count).containsExactly(5, 5);
  }

  @Test
  void spreadPrefersLeastUtilisedHost() {
    var hosts = List.of(host("a", 2000, 4 * GI, 1000, 0, 1), host("b", 8000, 16 * GI, 2000, 0, 3));
    assertThat(Placement.choose(Placement.Policy.SPREAD, hosts, new Placement.Request(500, 0)))
        .contains("b");
  }

  @Test
  void binpackFillsTheFullestHostThatFits() {
    var hosts = List.of(host("a", 2000, 4 * GI, 0, 0, 0), host("b", 4000, 4 * GI, 3000, GI, 2));
    assertThat(Placement.choose(Placement.Policy.BINPACK, hosts, new Placement.Request(500, 0)))
        .contains("b");
    // b has no room for 1500m any more
    assertThat(Placement.choose(Placement.Policy.BINPACK, hosts, new Placement.Request(1500, 0)))
        .contains("a");
  }

  @Test
  void binpackWithEmptyRequestsStaysOnFirstHost() {
    var hosts = List.of(host("a", 2000, 4 * GI, 0, 0, 3), host("b", 2000, 4 * GI, 0, 0, 0));
    assertThat(Placement.choose(Placement.Policy.BINPACK, hosts, new Placement.Request(0, 0)))
        .contains("a");
  }

  @Test
  void nothingFitsWhenFullButCouldFitLater() {
    var hosts = List.of(host("a", 2000, 4 * GI, 2000, 0, 1));
    var req = new Placement.Request(1000, 0);
    assertThat(Placement.choose(Placement.Policy.SPREAD, hosts, req)).isEmpty();
    assertThat(Placement.couldEverFit(hosts, req)).isTrue();
    assertThat(Placement.couldEverFit(hosts, new Placement.Request(0, 8 * GI))).isFalse();
  }

  @Test
  void maxPodsIsACapacity() {
    var hosts =
        List.of(
            new Placement.HostLoad("a", 2000, GI, 2, 0, 0, 2),
            new Placement.HostLoad("b", 2000, GI, 2, 0, 0, 1));
    assertThat(Placement.choose(Placement.Policy.BINPACK, hosts, new Placement.Request(0, 0)))
        .contains("b");
  }

  @Test
  void podRequestIsMaxOfInitAndSumOfContainers() {
    ContainerPlan init = withRes(Plans.sh("i", "true"), new Resources(3000, 0, GI, 0, 0, Map.of()));
    ContainerPlan a =
        withRes(Plans.sh("a", "true"), new Resources(1000, 2000, 0, 2 * GI, 0, Map.of()));
    ContainerPlan b =
        withRes(Plans.sh("b", "true"), new Resources(500, 0, 512L << 20, 0, 0, Map.of()));
    var r = Placement.Request.of(Plans.pod("p", List.of(init), List.of(a, b)));
    assertThat(r.cpuMillis()).isEqualTo(3000);
    // a has no memory request: the limit counts as request
    assertThat(r.memoryBytes()).isEqualTo(2 * GI + (512L << 20));
  }

  static ContainerPlan withRes(ContainerPlan c, Resources r) {
    return new ContainerPlan(
        c.name(),
        c.image(),
        c.imagePullPolicy(),
        c.command(),
        c.args(),
        c.workingDir(),
        c.env(),
        c.secretEnv(),
        r,
        c.mounts(),
        c.ports());
  }
}
