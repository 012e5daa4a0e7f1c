package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.exception.DockerException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Creates what a pod's start-up needs, in the start-up's CREATING stage: the pod's volumes and
 * sandbox, then each container once its image is present (pulled by {@link ImagePuller} with its
 * own back-off) and its securityContext allows it (runAsNonRoot against the image's user). What
 * keeps a container from being created is kept as its waiting reason, for observe.
 */
final class PodCreator {
  private final PodStartup pod;
  private final PodStartup.Env env;
  private final Map<String, PodStatusMapper.Waiting> waiting = new ConcurrentHashMap<>();
  private final Map<String, Long> nextCreateNanos = new ConcurrentHashMap<>();

  PodCreator(PodStartup pod, PodStartup.Env env) {
    this.pod = pod;
    this.env = env;
  }

  /** Why containers not created yet wait, by container name. */
  Map<String, PodStatusMapper.Waiting> waiting() {
    return waiting;
  }

  /** Creates the pod's volumes and its sandbox (not started yet); its id. */
  String createSandbox(PodPlan plan) {
    PodVolumes.create(pod.host, plan, env.nodeName());
    String image = env.settings().sandboxImage();
    try {
      env.puller().ensure(pod.host, plan.pod().namespace(), image, "IfNotPresent");
    } catch (ImagePuller.PullFailure e) {
      throw new SandboxImageMissing(
          "sandbox image " + image + " on docker host " + pod.host.name() + ": " + e.getMessage());
    }
    synchronized (pod) {
      if (pod.cancelled) {
        throw new IllegalStateException("pod " + pod.uid + " was cancelled while starting");
      }
      return Containers.create(
          pod.host, ContainerSpecs.sandbox(plan, env.nodeName(), env.settings()));
    }
  }

  /** The sandbox image cannot be made present: submit reports it, a later step tries again. */
  static final class SandboxImageMissing extends RuntimeException {
    SandboxImageMissing(String message) {
      super(message);
    }
  }

  /**
   * Creates the missing containers in order, each once its image is present. Returns the
   * milliseconds until a failed pull or create may be tried again (-1: none), or 0 when a pull is
   * due and {@code mayPull} is false.
   */
  long createMissing(
      PodPlan plan, String sandboxId, Map<String, PodStartup.Entry> byName, boolean mayPull) {
    long retry = -1;
    List<ContainerPlan> all = plan.allContainers().toList();
    for (int i = 0; i < all.size(); i++) {
      ContainerPlan c = all.get(i);
      if (byName.containsKey(c.name())) {
        continue;
      }
      pod.stage(PodStartup.Stage.CREATING);
      long now = System.nanoTime();
      Long due = nextCreateNanos.get(c.name());
      if (due != null && now - due < 0) {
        retry = PodStartup.min(retry, TimeUnit.NANOSECONDS.toMillis(due - now) + 1);
        continue;
      }
      ImagePuller.Outcome pulled =
          env.puller().pull(pod.host, plan.pod().namespace(), pod.uid, c, mayPull);
      if (pulled.deferred()) {
        return 0;
      }
      if (!pulled.present()) {
        waiting.put(c.name(), pulled.waiting());
        retry = PodStartup.min(retry, pulled.retryMillis());
        continue;
      }
      String imageUser =
          pulled.image().getConfig() == null ? null : pulled.image().getConfig().getUser();
      String refusal = SecuritySpecs.nonRootViolation(plan.pod(), c, imageUser);
      if (refusal != null) {
        // like the kubelet: the container is not made, the pod waits
        waiting.put(c.name(), new PodStatusMapper.Waiting("CreateContainerConfigError", refusal));
        continue;
      }
      int initIndex = i < plan.initContainers().size() ? i : -1;
      String id;
      try {
        Map<String, String> volumePaths = new HashMap<>();
        for (String v : PodVolumes.subPathVolumes(plan, c)) {
          volumePaths.put(
              v,
              pod.host.client.inspectVolumeCmd(Names.volume(plan.pod(), v)).exec().getMountpoint());
        }
        synchronized (pod) {
          if (pod.cancelled) {
            return -1;
          }
          id =
              Containers.create(
                  pod.host,
                  ContainerSpecs.container(
                      plan,
                      env.nodeName(),
                      env.settings(),
                      c,
                      initIndex,
                      sandboxId,
                      imageUser,
                      volumePaths));
        }
      } catch (DockerException e) {
        if (DockerHost.isConnectionFailure(e)) {
          throw e;
        }
        waiting.put(
            c.name(), new PodStatusMapper.Waiting("CreateContainerError", DockerHost.describe(e)));
        nextCreateNanos.put(c.name(), now + TimeUnit.SECONDS.toNanos(10));
        retry = PodStartup.min(retry, 10_000);
        continue;
      }
      waiting.remove(c.name());
      nextCreateNanos.remove(c.name());
      byName.put(c.name(), new PodStartup.Entry(id, c.name(), "created", null));
    }
    return retry;
  }

  /** Found by label with the data directory lost: run what exists, say what cannot be made. */
  long lost(PodLabels labels, Map<String, PodStartup.Entry> byName) {
    List<String> names = new ArrayList<>(labels.inits());
    names.addAll(labels.names());
    for (String n : names) {
      if (!byName.containsKey(n)) {
        waiting.putIfAbsent(
            n,
            new PodStatusMapper.Waiting(
                "CreateContainerConfigError",
                "the backend's record of this pod is gone (data directory lost); submit the"
                    + " pod again"));
      }
    }
    return -1;
  }
}
