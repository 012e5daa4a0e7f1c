package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.PodRef;

/**
 * Container, volume and label names, following the kubelet's Docker conventions so {@code docker
 * ps} on a host reads like it does on a real node: {@code
 * k8s_<container>_<pod>_<namespace>_<uid>_0} and {@code k8s_POD_...} for the sandbox.
 */
public final class Names {
  private Names() {}

  public static final String LABEL_POD_UID = "io.kubernetes.pod.uid";
  public static final String LABEL_POD_NAME = "io.kubernetes.pod.name";
  public static final String LABEL_POD_NAMESPACE = "io.kubernetes.pod.namespace";
  public static final String LABEL_CONTAINER_NAME = "io.kubernetes.container.name";

  /** The bridge's node name: one list call per host finds all of this node's containers. */
  public static final String LABEL_NODE = "io.hpcbridge.node";

  /** {@code sandbox}, {@code init} or {@code container}. */
  public static final String LABEL_ROLE = "io.hpcbridge.role";

  /** Position of an init container. */
  public static final String LABEL_INIT_INDEX = "io.hpcbridge.init-index";

  /** On the sandbox: init container names, comma separated, in order. */
  public static final String LABEL_INIT_CONTAINERS = "io.hpcbridge.pod.init-containers";

  /** On the sandbox: container names, comma separated. */
  public static final String LABEL_CONTAINERS = "io.hpcbridge.pod.containers";

  /** On the sandbox: the pod's restartPolicy in Kubernetes' spelling. */
  public static final String LABEL_RESTART_POLICY = "io.hpcbridge.pod.restart-policy";

  /** On the sandbox: CPU the pod requests, millicores (placement reads it back). */
  public static final String LABEL_CPU_REQUEST = "io.hpcbridge.pod.cpu-request-millis";

  /** On the sandbox: memory the pod requests, bytes. */
  public static final String LABEL_MEMORY_REQUEST = "io.hpcbridge.pod.memory-request-bytes";

  /** On the sandbox: the pod's activeDeadlineSeconds, when set. */
  public static final String LABEL_ACTIVE_DEADLINE = "io.hpcbridge.pod.active-deadline-seconds";

  /** On the sandbox: the pod's termination grace period in seconds. */
  public static final String LABEL_GRACE = "io.hpcbridge.pod.grace-seconds";

  /** On the sandbox: the pod shares the host's network (its IP is the host's). */
  public static final String LABEL_HOST_NETWORK = "io.hpcbridge.pod.host-network";

  public static final String ROLE_SANDBOX = "sandbox";
  public static final String ROLE_INIT = "init";
  public static final String ROLE_CONTAINER = "container";

  /** The container name the kubelet gives sandboxes. */
  public static final String SANDBOX = "POD";

  /** {@code k8s_<container>_<pod>_<namespace>_<uid>_0}. */
  public static String container(PodRef pod, String container) {
    return "k8s_"
        + clean(container)
        + "_"
        + clean(pod.name())
        + "_"
        + clean(pod.namespace())
        + "_"
        + clean(pod.uid())
        + "_0";
  }

  public static String sandbox(PodRef pod) {
    return container(pod, SANDBOX);
  }

  /** A Docker volume of the pod: {@code k8s_vol_<volume>_<uid>}. */
  public static String volume(PodRef pod, String volume) {
    return "k8s_vol_" + clean(volume) + "_" + clean(pod.uid());
  }

  /** Where the sandbox mounts a pod volume so files can be copied into it. */
  public static String sandboxVolumePath(String volume) {
    return "/.hpcbridge/volumes/" + clean(volume);
  }

  /** A number from a label; 0 when absent or malformed. */
  static long number(String s) {
    try {
      return s == null ? 0 : Long.parseLong(s);
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  /** A comma-separated list of names from a label, without empty entries. */
  static java.util.List<String> split(String s) {
    if (s == null || s.isEmpty()) {
      return java.util.List.of();
    }
    return java.util.Arrays.stream(s.split(",")).filter(x -> !x.isEmpty()).toList();
  }

  /** Docker allows {@code [a-zA-Z0-9][a-zA-Z0-9_.-]*}; anything else becomes '-'. */
  static String clean(String s) {
    String out = s.replaceAll("[^A-Za-z0-9.-]", "-");
    if (out.isEmpty() || !Character.isLetterOrDigit(out.charAt(0))) {
      out = "x" + out;
    }
    return out;
  }
}
