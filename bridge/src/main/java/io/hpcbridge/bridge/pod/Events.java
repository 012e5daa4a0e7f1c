package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.bridge.status.StatusSynth;
import java.time.Instant;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Records core/v1 Events about pods, as the kubelet does (source component + host). */
public final class Events {
  private static final Logger log = LoggerFactory.getLogger(Events.class);
  public static final String COMPONENT = "hpc-bridge";

  private final KubernetesClient client;
  private final String node;

  public Events(KubernetesClient client, String node) {
    this.client = client;
    this.node = node;
  }

  public void normal(Pod pod, String reason, String message) {
    emit(pod, "Normal", reason, message);
  }

  public void warning(Pod pod, String reason, String message) {
    emit(pod, "Warning", reason, message);
  }

  private void emit(Pod pod, String type, String reason, String message) {
    var md = pod.getMetadata();
    String now = StatusSynth.ts(Instant.now());
    try {
      client
          .v1()
          .events()
          .inNamespace(md.getNamespace())
          .resource(
              new EventBuilder()
                  .withNewMetadata()
                  .withNamespace(md.getNamespace())
                  .withName(md.getName() + "." + UUID.randomUUID().toString().substring(0, 8))
                  .endMetadata()
                  .withInvolvedObject(
                      new ObjectReferenceBuilder()
                          .withApiVersion("v1")
                          .withKind("Pod")
                          .withNamespace(md.getNamespace())
                          .withName(md.getName())
                          .withUid(md.getUid())
                          .build())
                  .withType(type)
                  .withReason(reason)
                  .withMessage(StatusSynth.cap(message, 1024))
                  .withNewSource()
                  .withComponent(COMPONENT)
                  .withHost(node)
                  .endSource()
                  .withReportingComponent(COMPONENT)
                  .withReportingInstance(node)
                  .withFirstTimestamp(now)
                  .withLastTimestamp(now)
                  .withCount(1)
                  .build())
          .create();
    } catch (RuntimeException e) {
      // Events are best effort; the status carries the same information.
      log.warn(
          "could not record event {} on {}/{}: {}",
          reason,
          md.getNamespace(),
          md.getName(),
          e.getMessage());
    }
  }
}
