package io.hpcbridge.bridge.kubelet;

import java.util.List;

/**
 * Who sent a kubelet API request, as Kubernetes names users: from a client certificate (CN is the
 * user, each O a group), a bearer token (its TokenReview), or nobody ({@code system:anonymous}).
 */
record Identity(String user, List<String> groups) {
  static final Identity ANONYMOUS =
      new Identity("system:anonymous", List.of("system:unauthenticated"));

  Identity {
    groups = List.copyOf(groups);
  }

  @Override
  public String toString() {
    return user + (groups.isEmpty() ? "" : " " + groups);
  }
}
