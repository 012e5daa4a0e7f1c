package io.hpcbridge.backend.slurm;

import java.util.List;
import java.util.Objects;

/**
 * An operator-defined set of defaults a pod selects with the {@code flavor} annotation.
 *
 * @param name the flavor's name
 * @param flags sbatch flags in long form, lower precedence than anything the pod says
 * @param runtime the container runtime for pods of this flavor, or null for the default
 * @param runtimeOptions extra runtime options, or null for the runtime's defaults
 */
public record Flavor(
    String name, List<SbatchFlag> flags, ContainerRuntime runtime, List<String> runtimeOptions) {
  public Flavor {
    Objects.requireNonNull(name, "name");
    flags = List.copyOf(flags);
    runtimeOptions = runtimeOptions == null ? null : List.copyOf(runtimeOptions);
  }
}
