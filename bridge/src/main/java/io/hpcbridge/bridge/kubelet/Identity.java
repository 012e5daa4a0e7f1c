package io.hpcbridge.bridge.kubelet;

import java.util.List;
import java.util.Map;

/**
 * Who sent a kubelet API request, as Kubernetes names users: from a client certificate (CN is the
 * user, each O a group), a bearer token (its TokenReview: user, uid, groups, extra), or nobody
 * ({@code system:anonymous}). A record: equal identities are equal keys of the decision cache.
 */
record Identity(String user, String uid, List<String> groups, Map<String, List<String>> extra) {
  static final Identity ANONYMOUS =
      new Identity("system:anonymous", null, List.of("system:unauthenticated"), Map.of());

  Identity {
    groups = List.copyOf(groups);
    extra = extra == null ? Map.of() : Map.copyOf(extra);
  }

  Identity(String user, List<String> groups) {
    this(user, null, groups, Map.of());
  }

  @Override
  public String toString() {
    return user + (groups.isEmpty() ? "" : " " + groups);
  }
}
