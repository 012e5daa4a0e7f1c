package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.plan.PlanException;
import io.hpcbridge.bridge.status.StatusSynth;
import io.hpcbridge.state.PodIntent;
import io.hpcbridge.state.StateStore;
import io.hpcbridge.state.TrackedPod;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Brings one pod (by UID) to where it should be: plans and submits a new pod, turns the latest
 * observation into its status, and hands deletions to {@link PodDeletion}. The ONLY code that
 * writes pod status and pod events. The work queue calls it for one UID at a time.
 */
final class PodReconciler {
  private static final Logger log = LoggerFactory.getLogger(PodReconciler.class);

  private final String nodeName;
  private final String hostIP;
  private final Backend backend;
  private final StateStore state;
  private final PlanBuilder plans;
  private final SubmitQueue submits;
  private final StatusSynth synth;
  private final StatusWriter status;
  private final Events events;
  private final ObjectCache objects;
  private final PodDeletion deletion;
  private final Function<String, Pod> pods;
  private final TokenRotator tokens;

  /** Warnings already emitted per UID, so a retrying pod does not flood events. */
  private final Map<String, Set<String>> warned = new ConcurrentHashMap<>();

  /**
   * @param pods the informer's pod by UID, or null
   */
  PodReconciler(
      String nodeName,
      String hostIP,
      Backend backend,
      StateStore state,
      PlanBuilder plans,
      StatusWriter status,
      Events events,
      ObjectCache objects,
      PodDeletion deletion,
      Function<String, Pod> pods,
      SubmitQueue submits,
      TokenRotator tokens) {
    this.nodeName = nodeName;
    this.hostIP = hostIP;
    this.backend = backend;
    this.state = state;
    this.plans = plans;
    this.submits = submits;
    this.synth = new StatusSynth(backend.name());
    this.status = status;
    this.events = events;
    this.objects = objects;
    this.deletion = deletion;
    this.pods = pods;
    this.tokens = tokens;
  }

  WorkQueue.Outcome reconcile(String uid) throws Exception {
    if (submits.busy(uid)) {
      return WorkQueue.DONE; // the submit queue hands the pod back when it is done
    }
    Optional<SubmitQueue.Done> launched = submits.take(uid);
    Pod pod = pods.apply(uid);
    Optional<TrackedPod> rec = state.get(uid);
    try {
      MDC.put("uid", uid);
      if (pod != null) {
        MDC.put("pod", pod.getMetadata().getNamespace() + "/" + pod.getMetadata().getName());
      } else {
        rec.ifPresent(r -> MDC.put("pod", r.key()));
      }
      if (pod == null) {
        WorkQueue.Outcome o = deletion.forget(uid, rec);
        if (o instanceof WorkQueue.Done) {
          tokens.untrack(uid);
          warned.remove(uid);
          status.forget(uid);
          objects.untrack(uid);
        }
        return o;
      }
      if (pod.getMetadata().getDeletionTimestamp() != null) {
        return deletion.deleting(pod, rec);
      }
      if (launched.isPresent()) {
        return launched(pod, launched.get(), rec);
      }
      if (rec.isPresent() && rec.get().isSubmitted()) {
        report(pod, rec.get());
        return WorkQueue.DONE;
      }
      if (rec.isPresent() && rec.get().phase() == Observed.Phase.FAILED) {
        // Refused by the bridge: make sure Kubernetes shows it (after a restart, say).
        TrackedPod r = rec.get();
        status.write(pod, synth.failed(pod, r.reason(), r.message(), Instant.now()));
        return WorkQueue.DONE;
      }
      String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
      if (rec.isEmpty() && ("Succeeded".equals(phase) || "Failed".equals(phase))) {
        return WorkQueue.DONE; // finished before this state file knew it
      }
      return submit(pod);
    } finally {
      MDC.clear();
    }
  }

  /** The status from the latest observation; events for each new phase. */
  private void report(Pod pod, TrackedPod rec) {
    if (rec.isTerminal()) {
      tokens.untrack(rec.uid());
    } else if (!tokens.tracking(rec.uid())) {
      tokens.trackRunning(pod, rec.handle().orElseThrow()); // submitted before this process ran
    }
    Instant now = Instant.now();
    PodStatus before = status.current(pod);
    PodStatus desired =
        rec.observed().isPresent()
            ? synth.synth(pod, rec.observed().get(), now, hostIP)
            : synth.pending(pod, now, hostIP);
    if (status.write(pod, desired)) {
      announce(pod, before, desired, rec.observed().orElse(null));
    }
  }

  private void announce(Pod pod, PodStatus before, PodStatus after, Observed o) {
    String was = before == null ? null : before.getPhase();
    if (after.getPhase().equals(was) || o == null) {
      return;
    }
    switch (o.phase()) {
      case RUNNING -> events.normal(pod, "Started", "Started on " + backend.name());
      case SUCCEEDED -> events.normal(pod, "Completed", "All containers completed");
      case FAILED ->
          events.warning(
              pod,
              "Failed",
              (o.reason() == null ? "Error" : o.reason())
                  + (o.message() == null ? "" : ": " + o.message()));
      default -> {}
    }
  }

  private WorkQueue.Outcome submit(Pod pod) {
    int refs = ObjectCache.references(pod).size();
    if (refs > ObjectCache.MAX_REFERENCES) {
      return fail(
          pod,
          "InvalidPod",
          "the pod references "
              + refs
              + " ConfigMaps and Secrets; this node watches at most "
              + ObjectCache.MAX_REFERENCES
              + " for one pod");
    }
    objects.track(pod);
    PlanBuilder.Result result;
    try {
      result = plans.build(pod);
    } catch (PlanException e) {
      if (e instanceof PlanException.Invalid) {
        return fail(pod, e.reason(), e.getMessage());
      }
      // A ConfigMap or Secret is missing: wait for it, like the kubelet (its informer retries us).
      warnOnce(pod, e.reason(), e.getMessage());
      status.write(pod, waiting(pod, e.reason(), e.getMessage()));
      return new WorkQueue.Retry(e.getMessage());
    }
    for (String w : result.warnings()) {
      warnOnce(pod, "InvalidEnvironmentVariableNames", w);
    }
    submits.add(pod, result.plan(), result.tokens());
    return WorkQueue.DONE;
  }

  /**
   * What the submit queue did with the pod. The status comes from the row, which an observation may
   * have reached already: the pod's change and its return from the queue can be one reconcile.
   */
  private WorkQueue.Outcome launched(Pod pod, SubmitQueue.Done done, Optional<TrackedPod> rec) {
    if (done.submission().ok() && rec.isPresent() && rec.get().isSubmitted()) {
      Handle h = done.submission().handle();
      tokens.track(done.plan().pod(), h, done.tokens());
      events.normal(pod, "Submitted", "Submitted to " + backend.name() + " as " + h.id());
      report(pod, rec.get());
      return WorkQueue.DONE;
    }
    if (done.submission().ok()) {
      return new WorkQueue.Retry("the pod's handle is not in the state file");
    }
    BackendException e = done.submission().error();
    if (e instanceof BackendException.InvalidPod invalid) {
      return fail(pod, invalid.reason(), e.getMessage());
    }
    warnOnce(pod, "SubmitFailed", e.getMessage());
    return new WorkQueue.Retry(e.getMessage());
  }

  /** The pod can never run: Failed with a reason, a Warning event, a row that says why. */
  private WorkQueue.Outcome fail(Pod pod, String reason, String message) {
    var md = pod.getMetadata();
    log.warn("pod {}/{} cannot run: {}: {}", md.getNamespace(), md.getName(), reason, message);
    state.recordIntent(
        new PodIntent(
            new PodRef(md.getNamespace(), md.getName(), md.getUid()),
            nodeName,
            backend.name(),
            Serialization.asJson(pod),
            null));
    state.recordFailed(md.getUid(), reason, message);
    objects.untrack(md.getUid()); // nothing to wait for any more
    events.warning(pod, reason, message);
    status.write(pod, synth.failed(pod, reason, message, Instant.now()));
    return WorkQueue.DONE;
  }

  private PodStatus waiting(Pod pod, String reason, String message) {
    List<Observed.ContainerStatus> cs = new ArrayList<>();
    for (var c : pod.getSpec().getContainers()) {
      cs.add(Observed.ContainerStatus.waiting(c.getName(), reason, message));
    }
    Instant now = Instant.now();
    return synth.synth(
        pod,
        new Observed(Observed.Phase.PENDING, null, null, hostIP, null, now, List.of(), cs),
        now,
        hostIP);
  }

  private void warnOnce(Pod pod, String reason, String message) {
    if (warned
        .computeIfAbsent(pod.getMetadata().getUid(), k -> ConcurrentHashMap.newKeySet())
        .add(reason + message)) {
      events.warning(pod, reason, message);
    }
  }
}
