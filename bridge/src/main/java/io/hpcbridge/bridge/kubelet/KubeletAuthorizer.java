package io.hpcbridge.bridge.kubelet;

/**
 * Decides whether an identity may use a part of the kubelet API, like the kubelet in webhook mode:
 * {@code verb} on {@code nodes/<subresource>} of this node ({@code log}, {@code proxy}, {@code
 * stats}, {@code metrics}).
 */
interface KubeletAuthorizer {

  /**
   * @return null when allowed, else why not (for a 403)
   */
  String check(Identity who, String verb, String subresource);

  /** Everyone who authenticated may do everything: only when the operator asked for it. */
  KubeletAuthorizer ALWAYS_ALLOW = (who, verb, subresource) -> null;
}
