package io.hpcbridge.bridge.it;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

  /**
   * A directory every pod may write, as an operator would give pods a scratch area: the local
   * backend runs pods as an unprivileged user, not as the bridge's root.
   */
  static Path sharedDir(Path dir) throws java.io.IOException {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    for (Path p = dir.getParent();
        p != null && p.startsWith(dir.getRoot().resolve("tmp"));
        p = p.getParent()) {
      if (p.getNameCount() > 1) {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx--x--x"));
      }
    }
    return dir;
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
