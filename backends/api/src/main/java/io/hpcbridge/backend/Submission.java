package io.hpcbridge.backend;

import java.util.Objects;

/**
 * One pod's outcome in {@link Backend#submitNew}: the handle of its work, or the error {@link
 * Backend#submit} would have thrown for it.
 */
public record Submission(PodRef pod, Handle handle, BackendException error) {
  public Submission {
    Objects.requireNonNull(pod, "pod");
    if ((handle == null) == (error == null)) {
      throw new IllegalArgumentException("a submission has either a handle or an error");
    }
  }

  public static Submission submitted(PodRef pod, Handle handle) {
    return new Submission(pod, handle, null);
  }

  public static Submission failed(PodRef pod, BackendException error) {
    return new Submission(pod, null, error);
  }

  public boolean ok() {
    return handle != null;
  }
}
