package io.hpcbridge.bridge.kubelet;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Settings of the kubelet HTTPS API.
 *
 * @param bindAddress address to listen on, e.g. {@code 0.0.0.0}
 * @param port TCP port (10250 like a kubelet; 0 picks a free port)
 * @param tlsCertFile PEM serving certificate (chain), or null to generate a self-signed one
 * @param tlsKeyFile PEM private key of {@code tlsCertFile} (PKCS#1, SEC1 or PKCS#8; RSA or EC)
 * @param clientCaFile PEM CA bundle that client certificates must chain to (the cluster CA that
 *     signed the apiserver's kubelet client certificate), or null
 * @param allowAnonymous let requests without a client certificate through
 * @param serverNames subject alternative names (IP addresses and DNS names) of the self-signed
 *     certificate; ignored when {@code tlsCertFile} is set
 * @param authorization who may use what: the API server decides ({@link Authorization#WEBHOOK}, the
 *     kubelet's default) or every authenticated client may do everything
 * @param maxRequests requests served at once; as many more wait up to 5 s, the rest get 503 (log
 *     follows are counted apart)
 * @param maxFollows log follows streaming at once; more get 503
 * @param maxFollowsPerNamespace log follows of one namespace's pods streaming at once
 * @param idleTimeout how long a connection may stay silent while a request is read or a response
 *     written (a log follow waiting for new lines is not silent in this sense)
 */
public record KubeletServerConfig(
    String bindAddress,
    int port,
    Path tlsCertFile,
    Path tlsKeyFile,
    Path clientCaFile,
    boolean allowAnonymous,
    List<String> serverNames,
    Authorization authorization,
    int maxRequests,
    int maxFollows,
    int maxFollowsPerNamespace,
    Duration idleTimeout) {

  /** How requests are authorized. */
  public enum Authorization {
    /** A SubjectAccessReview per (cached) identity and subresource, like the kubelet. */
    WEBHOOK,
    /** Every authenticated client may do everything: an explicit, insecure choice. */
    ALWAYS_ALLOW
  }

  /** Webhook authorization, 128 requests, 256 follows (32 per namespace), 30 s idle timeout. */
  public KubeletServerConfig(
      String bindAddress,
      int port,
      Path tlsCertFile,
      Path tlsKeyFile,
      Path clientCaFile,
      boolean allowAnonymous,
      List<String> serverNames) {
    this(
        bindAddress,
        port,
        tlsCertFile,
        tlsKeyFile,
        clientCaFile,
        allowAnonymous,
        serverNames,
        Authorization.WEBHOOK,
        128,
        256,
        32,
        Duration.ofSeconds(30));
  }

  /** Configuration keys, as named in error messages. */
  public static final String KEY_BIND_ADDRESS = "kubelet.bindAddress";

  public static final String KEY_PORT = "kubelet.port";
  public static final String KEY_TLS_CERT_FILE = "kubelet.tlsCertFile";
  public static final String KEY_TLS_KEY_FILE = "kubelet.tlsKeyFile";
  public static final String KEY_CLIENT_CA_FILE = "kubelet.clientCaFile";
  public static final String KEY_ALLOW_ANONYMOUS = "kubelet.allowAnonymous";
  public static final String KEY_SERVER_NAMES = "kubelet.serverNames";

  public KubeletServerConfig {
    serverNames = serverNames == null ? List.of() : List.copyOf(serverNames);
    authorization = authorization == null ? Authorization.WEBHOOK : authorization;
  }

  /**
   * Checks the settings that do not need the file system.
   *
   * @throws IllegalArgumentException with one line naming the offending key
   */
  public void validate() {
    if (bindAddress == null || bindAddress.isBlank()) {
      throw new IllegalArgumentException(KEY_BIND_ADDRESS + ": must be set, e.g. 0.0.0.0");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(KEY_PORT + ": " + port + " is not a TCP port (0-65535)");
    }
    if ((tlsCertFile == null) != (tlsKeyFile == null)) {
      String missing = tlsCertFile == null ? KEY_TLS_CERT_FILE : KEY_TLS_KEY_FILE;
      throw new IllegalArgumentException(
          missing
              + ": must be set together with "
              + (tlsCertFile == null ? KEY_TLS_KEY_FILE : KEY_TLS_CERT_FILE)
              + " (or leave both unset for a self-signed certificate)");
    }
    if (clientCaFile == null && !allowAnonymous) {
      throw new IllegalArgumentException(
          KEY_CLIENT_CA_FILE
              + ": not set; set it to the cluster CA file that signed the apiserver's kubelet"
              + " client certificate, or set "
              + KEY_ALLOW_ANONYMOUS
              + ": true to serve logs without client authentication");
    }
    if (maxRequests < 1) {
      throw new IllegalArgumentException("kubelet.maxRequests: must be at least 1");
    }
    if (maxFollows < 1 || maxFollowsPerNamespace < 1) {
      throw new IllegalArgumentException(
          "kubelet.maxFollows, kubelet.maxFollowsPerNamespace: must be at least 1");
    }
    if (idleTimeout == null || idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException("kubelet.idleTimeout: must be positive");
    }
    for (String name : serverNames) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException(KEY_SERVER_NAMES + ": contains an empty name");
      }
    }
  }
}
