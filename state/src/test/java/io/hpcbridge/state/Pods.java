package io.hpcbridge.state;

import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodRef;
import java.util.List;

/** Intents, handles and observations for tests. */
final class Pods {
  private Pods() {}

  static PodIntent intent(String uid) {
    return intent(uid, "default", "pod-" + uid, "node-a");
  }

  static PodIntent intent(String uid, String namespace, String name, String node) {
    return new PodIntent(
        new PodRef(namespace, name, uid),
        node,
        "local",
        "{\"metadata\":{\"uid\":\"" + uid + "\"}}",
        "{\"containers\":[]}");
  }

  static Handle handle(String id) {
    return new Handle("local", id);
  }

  /** An observation told apart from others of the same phase by its message. */
  static Observed observed(Phase phase, String message) {
    return new Observed(phase, null, message, null, null, null, List.of(), List.of());
  }
}
