package io.hpcbridge.bridge.kubelet;

import io.fabric8.kubernetes.api.model.Pod;
import io.hpcbridge.backend.LogOptions;
import java.io.InputStream;
import java.util.List;

/** What the kubelet API needs from the rest of the bridge: container logs and the node's pods. */
public interface PodLogSource {

  /**
   * Opens a container log filtered by {@code options}. The server closes the stream when the
   * response ends or the client goes away; with {@code options.follow()} the stream should block
   * for new output and end when the container terminates.
   *
   * @throws java.util.NoSuchElementException when the pod or container is unknown (HTTP 404)
   * @throws IllegalArgumentException when the options cannot be served, e.g. no previous run (400)
   */
  InputStream open(String namespace, String pod, String container, LogOptions options)
      throws Exception;

  /** The pods bound to this node, for {@code GET /pods} (serialized as a v1 PodList). */
  List<Pod> pods();
}
