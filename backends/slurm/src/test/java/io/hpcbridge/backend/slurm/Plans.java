package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Small builders for pod plans in tests. */
final class Plans {
  private Plans() {}

  static final String UID = "0b9e4c1e-5f7a-4d2b-9c61-3f0a2d7e8b11";

  static ContainerPlan container(
      String name, String image, List<String> command, List<String> args) {
    return new ContainerPlan(
        name,
        image,
        null,
        command,
        args,
        null,
        Map.of(),
        Set.of(),
        Resources.NONE,
        List.of(),
        List.of());
  }

  static Builder pod(String name) {
    return new Builder(name);
  }

  static final class Builder {
    String namespace = "default";
    String name;
    String uid = UID;
    final List<ContainerPlan> init = new ArrayList<>();
    final List<ContainerPlan> main = new ArrayList<>();
    final List<VolumePlan> volumes = new ArrayList<>();
    PodPlan.RestartPolicy policy = PodPlan.RestartPolicy.NEVER;
    Duration grace = Duration.ofSeconds(30);
    Duration deadline;
    final Map<String, String> annotations = new LinkedHashMap<>();

    Builder(String name) {
      this.name = name;
    }

    Builder uid(String u) {
      uid = u;
      return this;
    }

    Builder init(ContainerPlan c) {
      init.add(c);
      return this;
    }

    Builder main(ContainerPlan c) {
      main.add(c);
      return this;
    }

    Builder volume(VolumePlan v) {
      volumes.add(v);
      return this;
    }

    Builder policy(PodPlan.RestartPolicy p) {
      policy = p;
      return this;
    }

    Builder grace(long s) {
      grace = Duration.ofSeconds(s);
      return this;
    }

    Builder deadline(long s) {
      deadline = Duration.ofSeconds(s);
      return this;
    }

    Builder annotate(String key, String value) {
      annotations.put(key.contains("/") ? key : SlurmConfig.PREFIX + key, value);
      return this;
    }

    PodPlan build() {
      return new PodPlan(
          new PodRef(namespace, name, uid),
          "hpc",
          init,
          main,
          volumes,
          policy,
          grace,
          Optional.ofNullable(deadline),
          Map.of("app", name),
          annotations);
    }
  }

  static ContainerPlan with(
      ContainerPlan c,
      Map<String, String> env,
      String workingDir,
      Resources r,
      List<ContainerPlan.Mount> mounts) {
    return new ContainerPlan(
        c.name(),
        c.image(),
        c.imagePullPolicy(),
        c.command(),
        c.args(),
        workingDir,
        env == null ? c.env() : env instanceof LinkedHashMap ? env : new java.util.TreeMap<>(env),
        c.secretEnv(),
        r == null ? c.resources() : r,
        mounts == null ? c.mounts() : mounts,
        c.ports());
  }

  static Resources res(long cpuReq, long cpuLim, long memReq, long memLim, long gpus) {
    return new Resources(cpuReq, cpuLim, memReq, memLim, gpus, Map.of());
  }

  static VolumePlan.FilePlan file(String path, String content, int mode) {
    return new VolumePlan.FilePlan(path, content.getBytes(StandardCharsets.UTF_8), mode);
  }
}
