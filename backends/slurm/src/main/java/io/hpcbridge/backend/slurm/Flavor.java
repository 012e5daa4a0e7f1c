package io.hpcbridge.backend.slurm;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An operator-defined set of defaults a pod selects with the {@code flavor} annotation ({@code
 * flavors.NAME} in the settings).
 *
 * @param flags sbatch flags in long form, lower precedence than anything the pod says
 * @param runtime the container runtime for pods of this flavor, or null for the default
 * @param runtimeOptions extra runtime options, or null for the runtime's defaults
 */
public record Flavor(Flags flags, ContainerRuntime runtime, Words runtimeOptions) {
  public Flavor {
    flags = flags == null ? new Flags(List.of()) : flags;
  }

  /** The flavor's runtime options, or null when it sets none. */
  public List<String> options() {
    return runtimeOptions == null ? null : runtimeOptions.values();
  }

  /**
   * A flavor's sbatch flags: a list ({@code [--qos=long, --gres=gpu:1]}), one string of flags, or a
   * map ({@code {qos: long, exclusive: true}}). Each is checked like a pod's raw flag; flags the
   * bridge manages are refused.
   */
  public record Flags(List<SbatchFlag> values) {
    public Flags {
      values = List.copyOf(values);
    }

    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static Flags of(Object raw) {
      List<SbatchFlag> out = new ArrayList<>();
      if (raw instanceof Map<?, ?> m) {
        for (var e : m.entrySet()) {
          Object v = e.getValue();
          out.add(flag("--" + e.getKey() + (v == null || v.equals(true) ? "" : "=" + v)));
        }
      } else {
        for (String t : Words.of(raw).values()) {
          out.add(flag(t));
        }
      }
      return new Flags(out);
    }

    private static SbatchFlag flag(String text) {
      SbatchFlag f =
          SbatchFlag.parse(text)
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "not a long sbatch flag --name[=value] with a safe value: " + text));
      if (SlurmConfig.MANAGED_FLAGS.contains(f.name())) {
        throw new IllegalArgumentException(
            "--" + f.name() + " is set by the bridge and cannot be set here");
      }
      return f;
    }
  }
}
