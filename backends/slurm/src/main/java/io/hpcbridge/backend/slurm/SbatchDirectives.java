package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.PodPlan;

/**
 * The {@code #SBATCH} lines of a job: first the flags the bridge manages (job name, comment,
 * output, working directory, signal, CPUs, memory), then the effective flags of {@link JobOptions},
 * sorted. Every value here was checked against a strict pattern, so none can break out of its line.
 */
final class SbatchDirectives {
  private SbatchDirectives() {}

  /** The comment that ties a job to its pod: {@code hpc-bridge:NAMESPACE/NAME/UID}. */
  static String comment(io.hpcbridge.backend.PodRef pod) {
    return "hpc-bridge:" + pod.namespace() + "/" + pod.name() + "/" + pod.uid();
  }

  static String render(PodPlan plan, String dir, String jobName, JobOptions o) {
    StringBuilder s = new StringBuilder();
    line(s, "job-name", jobName);
    line(s, "comment", comment(plan.pod()));
    line(s, "output", dir + "/slurm.out");
    line(s, "chdir", dir);
    line(s, "no-requeue", null);
    long grace = plan.terminationGracePeriod().toSeconds();
    if (grace > 0) {
      line(s, "signal", "B:TERM@" + Math.min(grace, 65535));
    }
    if (o.cpus() != null) {
      line(s, "cpus-per-task", o.cpus());
    }
    if (o.mem() != null) {
      line(s, "mem", o.mem());
    }
    o.flags().forEach((k, v) -> s.append(new SbatchFlag(k, v).directive()).append('\n'));
    return s.toString();
  }

  private static void line(StringBuilder s, String name, String value) {
    s.append(new SbatchFlag(name, value).directive()).append('\n');
  }
}
