package io.hpcbridge.backend.slurm;

import java.util.Collections;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The effective options of one pod's job, after precedence: what {@link OptionResolver} decided.
 *
 * @param flavor the flavor in effect (named by the pod or the default), or null
 * @param runtime the container runtime
 * @param runtimeOptions the runtime's extra options
 * @param cpus {@code --cpus-per-task}, or null
 * @param mem {@code --mem}, or null
 * @param flags every other sbatch flag by name (a null value is a bare switch), sorted
 */
record JobOptions(
    String flavor,
    ContainerRuntime runtime,
    List<String> runtimeOptions,
    String cpus,
    String mem,
    SortedMap<String, String> flags) {
  JobOptions {
    runtimeOptions = List.copyOf(runtimeOptions);
    flags = Collections.unmodifiableSortedMap(new TreeMap<>(flags));
  }

  /** The effective value of flag {@code name} ({@code partition}, {@code time}…), or null. */
  String flag(String name) {
    return flags.get(name);
  }
}
