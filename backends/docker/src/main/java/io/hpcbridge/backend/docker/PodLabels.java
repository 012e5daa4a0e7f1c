package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What start-up needs to know of a pod: from its plan, or from its sandbox's labels when the plan
 * is lost (data directory gone).
 *
 * @param policy the pod's restartPolicy
 * @param inits init container names, in order
 * @param names container names
 * @param activeDeadline activeDeadlineSeconds, or null
 * @param grace the termination grace period
 */
record PodLabels(
    PodPlan.RestartPolicy policy,
    List<String> inits,
    List<String> names,
    Duration activeDeadline,
    Duration grace) {

  static PodLabels of(PodPlan p) {
    return new PodLabels(
        p.restartPolicy(),
        p.initContainers().stream().map(ContainerPlan::name).toList(),
        p.containers().stream().map(ContainerPlan::name).toList(),
        p.activeDeadline().orElse(null),
        p.terminationGracePeriod());
  }

  static PodLabels of(ContainerView sandbox) {
    if (sandbox == null) {
      return null;
    }
    Map<String, String> l = sandbox.labels();
    PodPlan.RestartPolicy policy;
    try {
      policy = PodPlan.RestartPolicy.fromKubernetes(l.get(Names.LABEL_RESTART_POLICY));
    } catch (IllegalArgumentException e) {
      policy = PodPlan.RestartPolicy.ALWAYS;
    }
    String d = l.get(Names.LABEL_ACTIVE_DEADLINE);
    return new PodLabels(
        policy,
        Names.split(l.get(Names.LABEL_INIT_CONTAINERS)),
        Names.split(l.get(Names.LABEL_CONTAINERS)),
        d == null ? null : Duration.ofSeconds(Names.number(d)),
        Duration.ofSeconds(Names.number(l.get(Names.LABEL_GRACE))));
  }
}
