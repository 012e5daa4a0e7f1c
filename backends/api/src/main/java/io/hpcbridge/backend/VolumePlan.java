package io.hpcbridge.backend;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * A pod volume, materialized. ConfigMap, Secret, downwardAPI and projected volumes carry their
 * files; emptyDir carries none; hostPath carries {@code hostPath}.
 *
 * @param name the volume name
 * @param type what kind of volume it is
 * @param files files relative to the volume root, with their modes
 * @param hostPath the host path for {@link Type#HOST_PATH}, else null
 * @param sensitive true when the files come from a Secret (never printed or stored)
 */
public record VolumePlan(
    String name, Type type, List<FilePlan> files, String hostPath, boolean sensitive) {

  public VolumePlan {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(type, "type");
    files = List.copyOf(files == null ? List.of() : files);
  }

  public enum Type {
    CONFIG_MAP,
    SECRET,
    DOWNWARD_API,
    PROJECTED,
    EMPTY_DIR,
    HOST_PATH
  }

  VolumePlan redacted() {
    if (!sensitive) {
      return this;
    }
    return new VolumePlan(
        name,
        type,
        files.stream()
            .map(
                f ->
                    new FilePlan(
                        f.path(),
                        ContainerPlan.REDACTED.getBytes(StandardCharsets.UTF_8),
                        f.mode()))
            .toList(),
        hostPath,
        true);
  }

  /**
   * One file of a volume.
   *
   * @param path relative path inside the volume, never absolute, never containing {@code ..}
   * @param content the bytes
   * @param mode POSIX mode, e.g. {@code 0644}, {@code 0600} for secrets
   */
  public record FilePlan(String path, byte[] content, int mode) {
    public FilePlan {
      Objects.requireNonNull(path, "path");
      Objects.requireNonNull(content, "content");
      if (path.isEmpty() || path.startsWith("/") || List.of(path.split("/")).contains("..")) {
        throw new IllegalArgumentException("file path must be relative and stay inside: " + path);
      }
    }
  }
}
