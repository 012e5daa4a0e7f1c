package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/** Small plan builders for tests. */
final class Plans {
  private Plans() {}

  static ContainerPlan container(
      String name, String image, List<String> command, List<String> args) {
    return new ContainerPlan(
        name,
        image,
        "IfNotPresent",
        command,
        args,
        null,
        Map.of(),
        null,
        Resources.NONE,
        List.of(),
        List.of());
  }

  static ContainerPlan sh(String name, String script) {
    return container(name, "local/busybox:1", List.of("sh", "-c", script), List.of());
  }

  /** A copy of {@code c} with these mounts. */
  static ContainerPlan withMounts(ContainerPlan c, ContainerPlan.Mount... mounts) {
    return new ContainerPlan(
        c.name(),
        c.image(),
        c.imagePullPolicy(),
        c.command(),
        c.args(),
        c.workingDir(),
        c.env(),
        c.secretEnv(),
        c.resources(),
        List.of(mounts),
        c.ports(),
        c.security());
  }

  static PodPlan pod(String name, List<ContainerPlan> inits, List<ContainerPlan> containers) {
    return pod(name, inits, containers, List.of(), PodPlan.RestartPolicy.NEVER);
  }

  static PodPlan pod(
      String name,
      List<ContainerPlan> inits,
      List<ContainerPlan> containers,
      List<VolumePlan> volumes,
      PodPlan.RestartPolicy policy) {
    return new PodPlan(
        new PodRef("default", name, UUID.randomUUID().toString()),
        "vnode",
        inits,
        containers,
        volumes,
        policy,
        Duration.ofSeconds(30),
        Optional.empty(),
        Map.of("app", name),
        Map.of());
  }

  /** The same pod in namespace {@code ns}. */
  static PodPlan inNamespace(String ns, PodPlan p) {
    return new PodPlan(
        new PodRef(ns, p.pod().name(), p.pod().uid()),
        p.nodeName(),
        p.initContainers(),
        p.containers(),
        p.volumes(),
        p.restartPolicy(),
        p.terminationGracePeriod(),
        p.activeDeadline(),
        p.labels(),
        p.annotations(),
        p.hostAccess(),
        p.allowedHosts());
  }
}
