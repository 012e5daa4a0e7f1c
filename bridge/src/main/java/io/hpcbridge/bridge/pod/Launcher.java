package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.bridge.Json;
import io.hpcbridge.state.PodIntent;
import io.hpcbridge.state.StateStore;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exactly-once step of the data path: the intent row is committed before the backend is
 * touched, and the backend is asked for existing work with the pod's UID before anything is
 * submitted. A bridge killed between any two lines of {@link #launch} resumes without starting the
 * pod twice.
 */
public final class Launcher {
  private static final Logger log = LoggerFactory.getLogger(Launcher.class);

  private final StateStore state;
  private final Backend backend;

  public Launcher(StateStore state, Backend backend) {
    this.state = state;
    this.backend = backend;
  }

  /** Records the intent (if new). Secrets never reach the state file: the plan is redacted. */
  public void recordIntent(Pod pod, PodPlan plan) {
    var md = pod.getMetadata();
    state.recordIntent(
        new PodIntent(
            plan.pod(),
            plan.nodeName() == null ? "" : plan.nodeName(),
            backend.name(),
            Serialization.asJson(withoutManagedFields(pod)),
            Json.write(stored(plan))));
  }

  /**
   * The plan as the state file keeps it: no secret values, and no file contents at all (a pod's
   * ConfigMaps may be large; the backend has them, the file need not).
   */
  static io.hpcbridge.backend.PodPlan stored(PodPlan plan) {
    PodPlan r = plan.redacted();
    return r.withVolumes(
        r.volumes().stream()
            .map(
                v ->
                    new io.hpcbridge.backend.VolumePlan(
                        v.name(),
                        v.type(),
                        v.files().stream()
                            .map(
                                f ->
                                    new io.hpcbridge.backend.VolumePlan.FilePlan(
                                        f.path(), new byte[0], f.mode()))
                            .toList(),
                        v.hostPath(),
                        v.sensitive()))
            .toList());
  }

  /** Submits (or finds) the pod's work and records the handle. */
  public Handle launch(Pod pod, PodPlan plan) throws BackendException {
    recordIntent(pod, plan);
    Failpoints.hit("after-intent");
    Optional<Handle> existing = backend.find(plan.pod());
    Handle handle;
    if (existing.isPresent()) {
      handle = existing.get();
      log.info("found existing work {} for pod {}, not submitting again", handle, plan.pod());
    } else {
      handle = backend.submit(plan);
      Failpoints.hit("after-submit");
      log.info("submitted pod {} as {}", plan.pod(), handle);
    }
    state.recordSubmitted(plan.pod().uid(), handle);
    return handle;
  }

  private static Pod withoutManagedFields(Pod pod) {
    Pod copy = Serialization.clone(pod);
    if (copy.getMetadata() != null) {
      copy.getMetadata().setManagedFields(null);
    }
    return copy;
  }
}
