package io.hpcbridge.bridge.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.bridge.bench.BenchTable.Row;
import io.hpcbridge.bridge.bench.BenchTable.Stats;
import io.hpcbridge.bridge.bench.BenchTable.Target;
import java.util.List;
import org.junit.jupiter.api.Test;

class BenchTableTest {

  @Test
  void throughputRatioIsBridgeOverRawAndFailsBelowTheFloor() {
    Row ok = Row.throughput(Target.SLURM_SUBMIT, 100, 50, 45, Stats.NONE);
    assertThat(ok.ratio()).isEqualTo(0.9);
    assertThat(ok.meetsTarget()).isTrue();
    assertThat(ok.regressed()).isFalse();

    Row below = Row.throughput(Target.SLURM_SUBMIT, 100, 50, 25, Stats.NONE);
    assertThat(below.ratio()).isEqualTo(0.5);
    assertThat(below.meetsTarget()).isFalse();
    assertThat(below.regressed()).as("0.5 is not below the floor").isFalse();

    Row bad = Row.throughput(Target.SLURM_SUBMIT, 100, 50, 4.9, Stats.NONE);
    assertThat(bad.regressed()).as("below the floor of 0.1").isTrue();
    assertThat(Target.SLURM_SUBMIT.floor).isLessThanOrEqualTo(Target.SLURM_SUBMIT.minRatio / 2);
  }

  @Test
  void latencyRatioIsRawOverBridgeSoHigherIsBetterToo() {
    // bridge 1.2× raw is exactly the target
    Row atTarget = Row.latency(Target.DOCKER_START_ONE, 5, 1.0, 1.2, Stats.NONE);
    assertThat(atTarget.ratio()).isCloseTo(1 / 1.2, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(atTarget.meetsTarget()).isTrue();
    // floor 0.2: 5× raw is exactly the floor, not yet a failure; a little more is
    assertThat(Row.latency(Target.DOCKER_START_ONE, 5, 1.0, 5.0, Stats.NONE).regressed()).isFalse();
    assertThat(Row.latency(Target.DOCKER_START_ONE, 5, 1.0, 5.1, Stats.NONE).regressed()).isTrue();
    // local has no floor: reported against its target, never failing the run
    assertThat(Row.latency(Target.LOCAL_START, 5, 0.01, 1.2, Stats.NONE).meetsTarget()).isFalse();
    assertThat(Row.latency(Target.LOCAL_START, 5, 0.01, 1.2, Stats.NONE).regressed()).isFalse();
  }

  @Test
  void aReportRowHasNoTargetAndAFailedRowAlwaysFails() {
    Row status = Row.report(Target.SLURM_STATUS, 100, Stats.of(List.of(1.0, 2.0)));
    assertThat(status.ratio()).isNull();
    assertThat(status.regressed()).isFalse();
    assertThat(Row.failed(Target.SLURM_DELETE, 100, "timed out").regressed()).isTrue();
  }

  @Test
  void percentilesAreNearestRank() {
    List<Double> v = new java.util.ArrayList<>();
    for (int i = 100; i >= 1; i--) {
      v.add((double) i);
    }
    assertThat(BenchTable.percentile(v, 50)).isEqualTo(50.0);
    assertThat(BenchTable.percentile(v, 95)).isEqualTo(95.0);
    assertThat(BenchTable.percentile(List.of(3.0), 95)).isEqualTo(3.0);
    assertThat(Stats.of(List.of())).isEqualTo(Stats.NONE);
  }

  @Test
  void rendersAnAlignedMarkdownTableWithUnitsAndVerdicts() {
    BenchTable t = new BenchTable();
    t.add(Row.throughput(Target.SLURM_SUBMIT, 100, 52.14, 4.1, new Stats(4.1, 8.25)));
    t.add(Row.report(Target.SLURM_STATUS, 100, new Stats(1.5, 2.0)));
    t.add(Row.latency(Target.DOCKER_START_ONE, 5, 0.36, 0.4, new Stats(0.4, 0.5)));
    t.add(Row.failed(Target.LOCAL_START, 5, "bridge did not start"));
    String out = t.render();
    List<String> lines = out.lines().toList();
    assertThat(lines.get(0)).startsWith("| operation ").contains("| bridge p50 |");
    assertThat(lines.get(1)).matches("\\|[-|: ]+\\|");
    assertThat(lines.subList(0, 6)).allSatisfy(l -> assertThat(l).hasSize(lines.get(0).length()));
    assertThat(lines.get(2))
        .contains("slurm submit", "52.1/s", "4.1/s", "0.08", "0.80", "4.10 s", "8.25 s", "FAIL");
    assertThat(lines.get(3)).contains("reported", "1.50 s", "2.00 s").doesNotContain("FAIL");
    assertThat(lines.get(4)).contains("0.36 s", "0.40 s", "0.90", "0.83", "ok");
    assertThat(lines.get(5)).contains("ERROR: bridge did not start");
    assertThat(t.regressions())
        .extracting(r -> r.target())
        .containsExactly(Target.SLURM_SUBMIT, Target.LOCAL_START);
  }
}
