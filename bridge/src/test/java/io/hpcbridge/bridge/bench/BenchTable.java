package io.hpcbridge.bridge.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The benchmark's result table. Every ratio reads "higher is better": for a throughput row it is
 * bridge/raw (operations per second), for a latency row raw/bridge (seconds), so one rule — {@link
 * Row#regressed()}, a ratio below the row's floor — works for every row.
 *
 * <p>The floor is half the target where the bridge meets it on the documented machine; where it
 * does not yet (docs/benchmarks.md says what bounds each), the floor sits at about half of what the
 * bridge reaches there, so a regression still fails the run while the gap stays visible.
 */
final class BenchTable {

  /** What the raw and bridge cells of a row hold. */
  enum Kind {
    /** operations per second; ratio = bridge / raw */
    THROUGHPUT,
    /** seconds for one operation (a median); ratio = raw / bridge */
    LATENCY,
    /** only the bridge's p50 / p95 (seconds); no raw counterpart, no target */
    REPORT
  }

  /**
   * The targets, as a minimum ratio. A latency target "bridge ≤ F × raw" is the ratio
   * target 1/F.
   */
  enum Target {
    SLURM_SUBMIT("slurm submit", Kind.THROUGHPUT, 0.8, 0.1, "≥0.80× raw"),
    // raw scancel of 100 jobs takes 0.2 to 5 s depending on how fast they drain: a loose floor
    SLURM_DELETE("slurm delete", Kind.THROUGHPUT, 0.8, 0.02, "≥0.80× raw"),
    SLURM_STATUS("slurm end→Succeeded", Kind.REPORT, 0, 0, "reported"),
    // two containers (the pod's sandbox and its container) for the raw tool's one
    DOCKER_START_ONE("docker start (1)", Kind.LATENCY, 1 / 1.2, 0.2, "≤1.2× raw"),
    DOCKER_START_PARALLEL("docker start par", Kind.THROUGHPUT, 0.8, 0.2, "≥0.80× raw"),
    // a raw spawn takes milliseconds; a pod's Running goes through the API server: no floor
    LOCAL_START("local start (1)", Kind.LATENCY, 1 / 1.5, 0, "≤1.5× raw");

    final String operation;
    final Kind kind;

    /** the minimum ratio (higher is better); 0 for a row without a target */
    final double minRatio;

    /** below this ratio the benchmark fails (0: never) */
    final double floor;

    /** the target as the issue words it */
    final String text;

    Target(String operation, Kind kind, double minRatio, double floor, String text) {
      this.operation = operation;
      this.kind = kind;
      this.minRatio = minRatio;
      this.floor = Math.min(floor, minRatio / 2);
      this.text = text;
    }
  }

  /**
   * One row.
   *
   * @param target the operation and its target
   * @param n how many operations were measured (for a latency row: repetitions)
   * @param raw the raw tool: ops/s (throughput) or seconds (latency); null if not measured
   * @param bridge the bridge, same unit; null if not measured
   * @param p50 the bridge's per-operation latency, seconds, or null
   * @param p95 the bridge's per-operation latency, seconds, or null
   * @param error why the row could not be measured, or null
   */
  record Row(
      Target target, int n, Double raw, Double bridge, Double p50, Double p95, String error) {

    static Row throughput(Target t, int n, double rawPerSec, double bridgePerSec, Stats lat) {
      return new Row(t, n, rawPerSec, bridgePerSec, lat.p50(), lat.p95(), null);
    }

    static Row latency(Target t, int n, double rawSec, double bridgeSec, Stats lat) {
      return new Row(t, n, rawSec, bridgeSec, lat.p50(), lat.p95(), null);
    }

    static Row report(Target t, int n, Stats lat) {
      return new Row(t, n, null, null, lat.p50(), lat.p95(), null);
    }

    static Row failed(Target t, int n, String error) {
      return new Row(t, n, null, null, null, null, error);
    }

    /** Higher is better; null when there is nothing to compare. */
    Double ratio() {
      if (raw == null || bridge == null || raw <= 0 || bridge <= 0) {
        return null;
      }
      return switch (target.kind) {
        case THROUGHPUT -> bridge / raw;
        case LATENCY -> raw / bridge;
        case REPORT -> null;
      };
    }

    /** Below its floor, or not measured at all: what fails the benchmark. */
    boolean regressed() {
      if (error != null) {
        return true;
      }
      Double r = ratio();
      return target.minRatio > 0 && (r == null || (target.floor > 0 && r < target.floor));
    }

    boolean meetsTarget() {
      Double r = ratio();
      return target.minRatio == 0 || (r != null && r >= target.minRatio);
    }
  }

  /** p50 and p95 of a sample, seconds. */
  record Stats(Double p50, Double p95) {
    static final Stats NONE = new Stats(null, null);

    static Stats of(List<Double> seconds) {
      if (seconds.isEmpty()) {
        return NONE;
      }
      return new Stats(percentile(seconds, 50), percentile(seconds, 95));
    }
  }

  /** Nearest-rank percentile. */
  static double percentile(List<Double> values, double p) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    int rank = (int) Math.ceil(p / 100 * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size(), rank) - 1));
  }

  private final List<Row> rows = new ArrayList<>();

  synchronized void add(Row row) {
    rows.add(row);
  }

  synchronized List<Row> rows() {
    return List.copyOf(rows);
  }

  /** Rows below half their target, or not measured. */
  synchronized List<Row> regressions() {
    return rows.stream().filter(Row::regressed).toList();
  }

  private static final String[] HEADER = {
    "operation", "N", "raw", "bridge", "ratio", "target", "bridge p50", "p95", ""
  };

  /** The table as Markdown (readable as plain text too), with a legend. */
  synchronized String render() {
    List<String[]> cells = new ArrayList<>();
    cells.add(HEADER);
    for (Row r : rows) {
      Double ratio = r.ratio();
      String verdict =
          r.error != null
              ? "ERROR: " + r.error
              : r.target.minRatio == 0
                  ? ""
                  : r.meetsTarget() ? "ok" : r.regressed() ? "FAIL" : "below";
      cells.add(
          new String[] {
            r.target.operation,
            Integer.toString(r.n),
            value(r.target.kind, r.raw),
            value(r.target.kind, r.bridge),
            ratio == null ? "—" : fmt("%.2f", ratio),
            r.target.minRatio == 0 ? r.target.text : fmt("%.2f", r.target.minRatio),
            seconds(r.p50),
            seconds(r.p95),
            verdict
          });
    }
    int[] width = new int[HEADER.length];
    for (int i = 0; i < width.length; i++) {
      width[i] = 3; // a Markdown separator needs at least three characters
    }
    for (String[] row : cells) {
      for (int i = 0; i < row.length; i++) {
        width[i] = Math.max(width[i], row[i].length());
      }
    }
    StringBuilder b = new StringBuilder();
    for (int r = 0; r < cells.size(); r++) {
      line(b, cells.get(r), width);
      if (r == 0) {
        String[] sep = new String[HEADER.length];
        for (int i = 0; i < sep.length; i++) {
          boolean left = i == 0 || i == sep.length - 1;
          sep[i] = left ? "-".repeat(width[i]) : "-".repeat(width[i] - 1) + ":";
        }
        line(b, sep, width);
      }
    }
    b.append('\n')
        .append("raw/bridge: throughput rows in operations per second, latency rows in seconds")
        .append(" (median).\n")
        .append("ratio: higher is better — bridge/raw for throughput, raw/bridge for latency;")
        .append(" target: the minimum ratio")
        .append(" (≥0.80 = 0.8× raw throughput, 0.83 = bridge ≤1.2× raw time, 0.67 = ≤1.5×).\n")
        .append(
            "ok: meets the target; below: under it; FAIL: under the row's floor (the test fails;"
                + " see docs/benchmarks.md).\n");
    return b.toString();
  }

  private static void line(StringBuilder b, String[] row, int[] width) {
    b.append('|');
    for (int i = 0; i < row.length; i++) {
      String c = row[i];
      boolean left = i == 0 || i == row.length - 1;
      String pad = " ".repeat(width[i] - c.length());
      b.append(' ').append(left ? c + pad : pad + c).append(" |");
    }
    b.append('\n');
  }

  private static String value(Kind kind, Double v) {
    if (v == null) {
      return "—";
    }
    return kind == Kind.THROUGHPUT ? fmt("%.1f/s", v) : seconds(v);
  }

  private static String seconds(Double s) {
    return s == null ? "—" : fmt("%.2f s", s);
  }

  private static String fmt(String f, double v) {
    return String.format(Locale.ROOT, f, v);
  }
}
