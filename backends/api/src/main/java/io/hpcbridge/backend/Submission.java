package io.hpcbridge.backend;

import java.util.ArrayList;
import java.util.List;
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

  /** Something that submits one pod. */
  @FunctionalInterface
  public interface Submitter {
    Handle submit(PodPlan plan) throws BackendException;
  }

  /** Submits each plan in turn; one pod's failure is its own outcome, never the others'. */
  public static List<Submission> each(List<PodPlan> plans, Submitter submitter) {
    List<Submission> out = new ArrayList<>(plans.size());
    for (PodPlan p : plans) {
      try {
        out.add(submitted(p.pod(), submitter.submit(p)));
      } catch (BackendException e) {
        out.add(failed(p.pod(), e));
      }
    }
    return out;
  }

  public boolean ok() {
    return handle != null;
  }
}
