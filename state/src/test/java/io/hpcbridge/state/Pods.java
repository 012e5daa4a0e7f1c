package io.hpcbridge.state;

/** Intents for tests. */
final class Pods {
  private Pods() {}

  static PodIntent intent(String uid) {
    return intent(uid, "default", "pod-" + uid, "node-a");
  }

  static PodIntent intent(String uid, String namespace, String name, String node) {
    return new PodIntent(
        uid,
        namespace,
        name,
        node,
        "local",
        "{\"metadata\":{\"uid\":\"" + uid + "\"}}",
        "{\"containers\":[]}");
  }
}
