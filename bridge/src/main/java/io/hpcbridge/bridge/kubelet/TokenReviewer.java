package io.hpcbridge.bridge.kubelet;

import java.util.Optional;

/** Who a bearer token belongs to, as the API server's TokenReview says; empty if nobody. */
interface TokenReviewer {
  Optional<Identity> review(String token);

  /** Accepts no token (no API server to ask). */
  TokenReviewer NONE = token -> Optional.empty();
}
