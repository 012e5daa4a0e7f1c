package io.hpcbridge.backend;

import java.util.Objects;

/**
 * The backend's name for a running pod: a Slurm job id, a container id, a directory. Opaque to the
 * bridge, which stores {@link #toString()} and restores it with {@link #parse}.
 */
public record Handle(String backend, String id) {
  public Handle {
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(id, "id");
    if (backend.contains(":")) {
      throw new IllegalArgumentException("backend name must not contain ':': " + backend);
    }
  }

  public static Handle parse(String text) {
    int i = text.indexOf(':');
    if (i <= 0) {
      throw new IllegalArgumentException("not a handle: " + text);
    }
    return new Handle(text.substring(0, i), text.substring(i + 1));
  }

  @Override
  public String toString() {
    return backend + ":" + id;
  }
}
