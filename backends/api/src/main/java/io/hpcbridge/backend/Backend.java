package io.hpcbridge.backend;

import java.io.InputStream;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs pods somewhere else. One instance serves one bridge node; all methods may be called from
 * several threads at once.
 *
 * <p>Failures are typed: {@link BackendException.Transient} (retry with backoff), {@link
 * BackendException.InvalidPod} (the pod can never run: fail it, do not retry) and {@link
 * BackendException.NotFound}.
 */
public interface Backend extends AutoCloseable {

  /** The name pods and config use for this backend, e.g. {@code local}, {@code slurm}. */
  String name();

  /**
   * Starts the pod. Must be idempotent: a backend first looks for work already tagged with {@code
   * plan.pod().uid()} (see {@link #find}) and returns its handle instead of starting it twice.
   */
  Handle submit(PodPlan plan) throws BackendException;

  /**
   * Starts pods the caller knows have no work yet: their intent was recorded by this process just
   * before, so no earlier process can have submitted them and the lookup {@link #submit} does is
   * skipped. Returns one {@link Submission} per plan, in order; one pod's failure never fails the
   * others. Backends that can, submit many pods per remote call; the default submits one by one.
   */
  default List<Submission> submitNew(List<PodPlan> plans) {
    return Submission.each(plans, this::submit);
  }

  /**
   * Observes many pods at once. Implementations make one batched remote call (or a fixed small
   * number), never one per handle. Handles the backend no longer knows map to an {@link Observed}
   * with phase {@link Observed.Phase#UNKNOWN} or are absent.
   */
  Map<Handle, Observed> observe(Collection<Handle> handles) throws BackendException;

  /**
   * Asks the pod to stop: SIGTERM (or the backend's equivalent) now, SIGKILL once {@code grace} has
   * passed. Returns at once; completion shows in {@link #observe}. Calling it again is harmless.
   */
  void cancel(Handle handle, Duration grace) throws BackendException;

  /**
   * {@link #cancel} for many pods with the same grace. Returns the handles that could not be
   * cancelled, with why; backends that can, cancel many per remote call (one {@code scancel} of
   * many ids); the default cancels one by one.
   */
  default Map<Handle, BackendException> cancelAll(Collection<Handle> handles, Duration grace) {
    Map<Handle, BackendException> failed = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        cancel(h, grace);
      } catch (BackendException e) {
        failed.put(h, e);
      }
    }
    return failed;
  }

  /**
   * Who to tell when a pod may have changed (a container started or ended), so the bridge observes
   * at once instead of at its next poll. Backends that learn of changes call it from any thread, as
   * often as they like (the bridge gathers calls into one observation); the default never does.
   */
  default void onChange(Runnable listener) {}

  /** A container's log, already filtered by {@code options} (tail, since, limit, timestamps). */
  InputStream logs(Handle handle, String container, LogOptions options) throws BackendException;

  /** What the node should advertise: totals, never what is free right now. */
  Capacity capacity() throws BackendException;

  /** Finds work this backend already runs for a pod UID, for resuming after a restart. */
  Optional<Handle> find(PodRef pod) throws BackendException;

  /** Cheap health check; throws when the backend cannot be reached. */
  void ping() throws BackendException;

  /**
   * Node conditions besides Ready, for problems that leave the backend usable (one of several hosts
   * down). The bridge calls it after each {@link #ping()} (every lease renewal) and publishes each
   * entry as a node condition; a change is written at once. Report the same types every time, with
   * status {@code TRUE} and a plain reason when all is well, so a recovery shows on the node. Must
   * be cheap: answer from what {@link #ping()} last learnt, make no remote call. Default: none.
   */
  default List<BackendCondition> conditions() {
    return List.of();
  }

  /**
   * What {@link #submit} would hand the backend's scheduler for this plan, for a dry run (e.g. the
   * exact sbatch script). Null when the backend has nothing textual to show.
   */
  default String render(PodPlan plan) throws BackendException {
    return null;
  }

  /**
   * The scheduling options the pod itself chose (through annotations or a preset it named), for the
   * bridge's policy to check before anything is submitted. Values that come from the operator's own
   * configuration (a default partition, a default runtime, what a named preset sets) are not
   * choices of the pod and are left out. Keys, each present only when chosen: {@link
   * #CHOICE_RUNTIME}, {@link #CHOICE_PARTITION}, {@link #CHOICE_ACCOUNT}, {@link #CHOICE_QOS},
   * {@link #CHOICE_NODES} (the largest node count asked for), {@link #CHOICE_EXCLUSIVE} ({@code
   * true}/{@code false}), {@link #CHOICE_TIME} (seconds), {@link #CHOICE_PRESET}. Pure: no remote
   * call. Default: none.
   *
   * @throws BackendException.InvalidPod when an option is malformed (same reasons as submit)
   */
  default Map<String, String> choices(PodPlan plan) throws BackendException {
    return Map.of();
  }

  String CHOICE_RUNTIME = "runtime";
  String CHOICE_PARTITION = "partition";
  String CHOICE_ACCOUNT = "account";
  String CHOICE_QOS = "qos";
  String CHOICE_NODES = "nodes";
  String CHOICE_EXCLUSIVE = "exclusive";
  String CHOICE_TIME = "time";
  String CHOICE_PRESET = "flavor";
  String CHOICE_RESERVATION = "reservation";

  /**
   * Replaces the files of one volume of a running pod, e.g. a rotated service account token: each
   * file is replaced atomically where the pod sees it. Default: not supported.
   */
  default void updateVolume(Handle handle, VolumePlan volume) throws BackendException {
    throw new UnsupportedOperationException(name() + " cannot update the volumes of a running pod");
  }

  /**
   * Forgets a finished pod: removes its working files, containers or directories. Called once the
   * pod is gone from Kubernetes; the default keeps everything.
   */
  default void release(Handle handle) throws BackendException {}

  @Override
  default void close() {}
}
