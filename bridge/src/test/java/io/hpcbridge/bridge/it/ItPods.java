package io.hpcbridge.bridge.it;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Pods the integration tests send to a bridge node. */
final class ItPods {
  private ItPods() {}

  /**
   * A pod pinned to {@code node}, tolerating its provider taint, with one container {@code main}
   * running {@code sh -c script}, restartPolicy Never.
   */
  static PodBuilder onNode(String node, String ns, String name, String image, String script) {
    return new PodBuilder()
        .withNewMetadata()
        .withNamespace(ns)
        .withName(name)
        .endMetadata()
        .withNewSpec()
        .withNodeSelector(Map.of("kubernetes.io/hostname", node))
        .addNewToleration()
        .withKey("virtual-kubelet.io/provider")
        .withOperator("Exists")
        .endToleration()
        .withRestartPolicy("Never")
        .addNewContainer()
        .withName("main")
        .withImage(image)
        .withCommand("sh", "-c", script)
        .endContainer()
        .endSpec();
  }

  /** Waits until a pod of Job {@code job} runs and returns its name. */
  static String runningPodOfJob(KubernetesClient client, String ns, String job, Duration atMost) {
    return await("a pod of job " + ns + "/" + job + " running")
        .atMost(atMost)
        .pollInterval(Duration.ofMillis(300))
        .until(
            () -> {
              List<Pod> pods =
                  client.pods().inNamespace(ns).withLabel("job-name", job).list().getItems();
              return pods.stream()
                  .filter(p -> p.getStatus() != null && "Running".equals(p.getStatus().getPhase()))
                  .map(p -> p.getMetadata().getName())
                  .findFirst()
                  .orElse(null);
            },
            n -> n != null);
  }
}
