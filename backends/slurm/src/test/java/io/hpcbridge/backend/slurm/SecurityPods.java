package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.VolumePlan;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;

/** Pods of {@link SlurmSecurityIT}: a victim that holds a Secret, and the attackers' parts. */
final class SecurityPods {
  private SecurityPods() {}

  static final String SECRET = "s3cr3t-" + UUID.randomUUID();

  /** A container running {@code script} with sh; a Secret env TOKEN, also expanded into args. */
  static ContainerPlan victim(String name, String script) {
    return new ContainerPlan(
        name,
        "busybox:1.36",
        null,
        List.of("sh", "-c", script),
        List.of("victim", "--token=" + SECRET),
        null,
        new TreeMap<>(Map.of("TOKEN", SECRET)),
        Set.of("TOKEN"),
        null,
        List.of(new ContainerPlan.Mount("creds", "/creds", null, true)),
        List.of());
  }

  static ContainerPlan sh(String script) {
    return Plans.container("main", "busybox:1.36", List.of("sh", "-c", script), List.of());
  }

  static VolumePlan creds() {
    return new VolumePlan(
        "creds",
        VolumePlan.Type.SECRET,
        // A mode with setuid, setgid and sticky bits: only 0755 is kept.
        List.of(Plans.file("token", SECRET, 0600), Plans.file("tool", "#!/bin/sh\n", 07755)),
        null,
        true);
  }

  static ContainerPlan mounted(ContainerPlan c, ContainerPlan.Mount... mounts) {
    return Plans.with(c, null, null, null, List.of(mounts));
  }

  static VolumePlan hostPath(String name, String path) {
    return new VolumePlan(name, VolumePlan.Type.HOST_PATH, List.of(), path, false);
  }
}
