package io.hpcbridge.backend.slurm;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** How a container's image is run on the compute node. */
public enum ContainerRuntime {
  /** {@code apptainer exec|run docker://IMAGE}. */
  APPTAINER("apptainer", "apptainer"),
  /** {@code singularity exec|run docker://IMAGE}. */
  SINGULARITY("singularity", "singularity"),
  /** enroot through the pyxis Slurm plugin: {@code srun --container-image=IMAGE}. */
  PYXIS("pyxis", "srun"),
  /** {@code podman run IMAGE}. */
  PODMAN("podman", "podman"),
  /** The command runs directly on the compute node; the image is only recorded. */
  NONE("none", "");

  private final String configName;
  private final String defaultBinary;

  ContainerRuntime(String configName, String defaultBinary) {
    this.configName = configName;
    this.defaultBinary = defaultBinary;
  }

  public String configName() {
    return configName;
  }

  public String defaultBinary() {
    return defaultBinary;
  }

  /** Parses a config or annotation value; {@code enroot} is an alias of {@code pyxis}. */
  public static Optional<ContainerRuntime> parse(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    if (v.equals("enroot")) {
      return Optional.of(PYXIS);
    }
    return Arrays.stream(values()).filter(r -> r.configName.equals(v)).findFirst();
  }

  /** Binds a settings value; an unknown name is refused with the known ones. */
  @JsonCreator
  public static ContainerRuntime fromSetting(String value) {
    return parse(value)
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "unknown runtime " + value + " (known: " + names() + ")"));
  }

  public static String names() {
    return "apptainer, singularity, pyxis (alias enroot), podman, none";
  }
}
