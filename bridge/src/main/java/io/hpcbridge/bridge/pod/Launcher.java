package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Submission;
import io.hpcbridge.bridge.Json;
import io.hpcbridge.state.PodIntent;
import io.hpcbridge.state.StateStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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
    state.recordIntent(intent(pod, plan));
  }

  private PodIntent intent(Pod pod, PodPlan plan) {
    return new PodIntent(
        plan.pod(),
        plan.nodeName() == null ? "" : plan.nodeName(),
        backend.name(),
        Serialization.asJson(withoutManagedFields(pod)),
        Json.write(stored(plan)));
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

  /**
   * {@link #launch} for many pods at once: their intents in one transaction, then one {@link
   * Backend#submitNew} for the pods whose intent row this call created (no earlier process can have
   * submitted those), a lookup by UID for the others, and their handles in one transaction.
   *
   * @return one outcome per pod, in order
   */
  public List<Submission> launchAll(List<Pod> pods, List<PodPlan> plans) {
    List<PodIntent> intents = new ArrayList<>(plans.size());
    for (int i = 0; i < plans.size(); i++) {
      intents.add(intent(pods.get(i), plans.get(i)));
    }
    long t0 = System.nanoTime();
    Set<String> fresh = state.recordIntents(intents);
    Failpoints.hit("after-intent");
    long t1 = System.nanoTime();
    Map<String, Submission> done = new HashMap<>();
    List<PodPlan> submit = new ArrayList<>();
    for (PodPlan p : plans) {
      if (fresh.contains(p.pod().uid())) {
        submit.add(p);
        continue;
      }
      try {
        Optional<Handle> existing = backend.find(p.pod());
        if (existing.isPresent()) {
          log.info(
              "found existing work {} for pod {}, not submitting again", existing.get(), p.pod());
          done.put(p.pod().uid(), Submission.submitted(p.pod(), existing.get()));
        } else {
          submit.add(p);
        }
      } catch (BackendException e) {
        done.put(p.pod().uid(), Submission.failed(p.pod(), e));
      }
    }
    if (!submit.isEmpty()) {
      for (Submission s : backend.submitNew(submit)) {
        done.put(s.pod().uid(), s);
      }
      Failpoints.hit("after-submit");
    }
    Map<String, Handle> handles = new LinkedHashMap<>();
    List<Submission> out = new ArrayList<>(plans.size());
    for (PodPlan p : plans) {
      Submission s = done.get(p.pod().uid());
      if (s == null) {
        s = Submission.failed(p.pod(), new BackendException.Transient("the backend said nothing"));
      }
      if (s.ok()) {
        handles.put(p.pod().uid(), s.handle());
        log.debug("submitted pod {} as {}", p.pod(), s.handle());
      }
      out.add(s);
    }
    long t2 = System.nanoTime();
    state.recordSubmitted(handles);
    log.info(
        "launched {} pods ({} new): intents {} ms, backend {} ms, handles {} ms",
        plans.size(),
        fresh.size(),
        (t1 - t0) / 1_000_000,
        (t2 - t1) / 1_000_000,
        (System.nanoTime() - t2) / 1_000_000);
    return out;
  }

  private static Pod withoutManagedFields(Pod pod) {
    Pod copy = Serialization.clone(pod);
    if (copy.getMetadata() != null) {
      copy.getMetadata().setManagedFields(null);
    }
    return copy;
  }
}
