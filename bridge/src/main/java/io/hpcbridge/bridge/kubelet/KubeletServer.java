package io.hpcbridge.bridge.kubelet;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.QoSHandler;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's kubelet HTTPS API, as far as a node that runs no containers can serve it:
 *
 * <ul>
 *   <li>{@code GET /containerLogs/{namespace}/{pod}/{container}} with {@code tailLines, follow,
 *       timestamps, limitBytes, sinceSeconds, sinceTime, previous}; streamed and flushed per write,
 *       so {@code kubectl logs -f} follows;
 *   <li>{@code GET /pods}: the node's pods as a v1 PodList;
 *   <li>{@code GET /healthz}: {@code ok} (no authentication, for probes);
 *   <li>{@code /exec, /attach, /portForward, /run}: 501, not supported by this node.
 * </ul>
 *
 * <p>Served by Jetty over TLS with HTTP/1.1 and HTTP/2: connections are non-blocking, so clients
 * that stall in the TLS handshake or while sending a request hold no thread and are dropped after
 * the idle timeout; at most {@code maxRequests} requests are served at once, as many more may wait
 * briefly, and the rest get 503. Who may do what is decided by {@link KubeletHandler}.
 */
public final class KubeletServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KubeletServer.class);

  /** How long a request beyond the limit may wait for a free slot before it gets 503. */
  static final Duration QUEUE_WAIT = Duration.ofSeconds(5);

  private final KubeletServerConfig cfg;
  private final PodLogSource source;
  private final TokenReviewer tokens;
  private final KubeletAuthorizer authorizer;
  private Server server;
  private ServerConnector connector;
  private KubeletHandler handler;

  /**
   * @param tokens checks bearer tokens (TokenReview)
   * @param authorizer decides who may use what (SubjectAccessReview, or always-allow)
   * @throws IllegalArgumentException when the configuration is invalid (one line naming the key)
   */
  public KubeletServer(
      KubeletServerConfig cfg,
      PodLogSource source,
      TokenReviewer tokens,
      KubeletAuthorizer authorizer) {
    cfg.validate();
    this.cfg = cfg;
    this.source = java.util.Objects.requireNonNull(source, "source");
    this.tokens = tokens;
    this.authorizer = authorizer;
  }

  /** With the API server deciding, through {@code client}, as the kubelet's webhook mode does. */
  public static KubeletServer withApiServer(
      KubeletServerConfig cfg,
      PodLogSource source,
      io.fabric8.kubernetes.client.KubernetesClient client,
      String nodeName) {
    ApiServerAuth auth = new ApiServerAuth(client, nodeName);
    return new KubeletServer(
        cfg,
        source,
        auth,
        cfg.authorization() == KubeletServerConfig.Authorization.ALWAYS_ALLOW
            ? KubeletAuthorizer.ALWAYS_ALLOW
            : auth);
  }

  /**
   * Loads or generates the TLS material, binds the port and starts serving.
   *
   * @throws IllegalArgumentException when a configured file is missing or invalid (names the key)
   * @throws IOException when the port cannot be bound
   */
  public synchronized void start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("kubelet API already started");
    }
    TlsMaterial.Identity identity =
        cfg.tlsCertFile() == null
            ? TlsMaterial.selfSigned(cfg.serverNames())
            : TlsMaterial.readIdentity(
                cfg.tlsCertFile(),
                KubeletServerConfig.KEY_TLS_CERT_FILE,
                cfg.tlsKeyFile(),
                KubeletServerConfig.KEY_TLS_KEY_FILE);
    List<X509Certificate> clientCa =
        cfg.clientCaFile() == null
            ? List.of()
            : TlsMaterial.readCertificates(
                cfg.clientCaFile(), KubeletServerConfig.KEY_CLIENT_CA_FILE);
    ClientCertVerifier verifier;
    SSLContext ctx;
    try {
      verifier = clientCa.isEmpty() ? null : new ClientCertVerifier(clientCa);
      ctx = TlsMaterial.serverContext(identity, verifier);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up TLS for the kubelet API: " + e, e);
    }
    InetSocketAddress addr = new InetSocketAddress(cfg.bindAddress(), cfg.port());
    if (addr.isUnresolved()) {
      throw new IllegalArgumentException(
          KubeletServerConfig.KEY_BIND_ADDRESS + ": cannot resolve '" + cfg.bindAddress() + "'");
    }
    QueuedThreadPool threads = new QueuedThreadPool(cfg.maxRequests() + cfg.maxFollows() + 16, 4);
    threads.setName("kubelet-api");
    threads.setDaemon(true);
    Server s = new Server(threads);
    s.setStopTimeout(5000);

    SslContextFactory.Server tls = new SslContextFactory.Server();
    tls.setSslContext(ctx);
    tls.setWantClientAuth(verifier != null);
    tls.setIncludeProtocols("TLSv1.3", "TLSv1.2");
    tls.setSniRequired(false);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    http.addCustomizer(new SecureRequestCustomizer(false)); // peer certificates, no SNI check
    HttpConnectionFactory h1 = new HttpConnectionFactory(http);
    HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(http);
    ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
    alpn.setDefaultProtocol(h1.getProtocol());
    ServerConnector c =
        new ServerConnector(s, new SslConnectionFactory(tls, alpn.getProtocol()), alpn, h2, h1);
    c.setHost(cfg.bindAddress());
    c.setPort(cfg.port());
    c.setIdleTimeout(cfg.idleTimeout().toMillis());
    s.addConnector(c);
    // Connections beyond what can be served are not accepted at all (stalled clients included).
    s.addBean(new NetworkConnectionLimit(4 * (cfg.maxRequests() + cfg.maxFollows()), c));

    KubeletHandler h =
        new KubeletHandler(
            source,
            verifier,
            tokens,
            authorizer,
            cfg.allowAnonymous(),
            new FollowLimits(cfg.maxFollows(), cfg.maxFollowsPerNamespace()));
    QoSHandler qos = new QoSHandler(h);
    qos.exclude(KubeletHandler::isFollow); // follows have limits of their own
    qos.setMaxRequestCount(cfg.maxRequests());
    qos.setMaxSuspendedRequestCount(cfg.maxRequests());
    qos.setMaxSuspend(QUEUE_WAIT);
    s.setHandler(qos);
    try {
      s.start();
    } catch (Exception e) {
      try {
        s.stop();
      } catch (Exception ignored) {
        // best effort
      }
      Throwable cause =
          e instanceof IOException && e.getCause() instanceof BindException ? e.getCause() : e;
      if (cause instanceof BindException || e instanceof IOException) {
        throw new IOException(
            KubeletServerConfig.KEY_PORT
                + ": cannot listen on "
                + cfg.bindAddress()
                + ":"
                + cfg.port()
                + ": "
                + cause.getMessage(),
            e);
      }
      throw new IllegalStateException("cannot start the kubelet API: " + e, e);
    }
    server = s;
    connector = c;
    handler = h;
    log.info(
        "kubelet API listening on https://{}:{} ({} certificate, client certificates {}{}, {}"
            + " authorization, at most {} requests at once)",
        cfg.bindAddress(),
        port(),
        cfg.tlsCertFile() == null ? "self-signed" : "configured",
        verifier != null ? "checked against " + cfg.clientCaFile() : "not requested",
        cfg.allowAnonymous() ? ", anonymous requests allowed" : "",
        cfg.authorization() == KubeletServerConfig.Authorization.ALWAYS_ALLOW
            ? "no"
            : "SubjectAccessReview",
        cfg.maxRequests());
  }

  /** The bound port (useful when configured as 0). */
  public synchronized int port() {
    if (connector == null) {
      throw new IllegalStateException("kubelet API not started");
    }
    return connector.getLocalPort();
  }

  /** Stops listening and ends running log streams. */
  @Override
  public synchronized void close() {
    if (server == null) {
      return;
    }
    handler.closeStreams();
    try {
      server.stop();
    } catch (Exception e) {
      log.warn("kubelet API: stopping failed: {}", e.toString());
    }
    server = null;
    connector = null;
    log.info("kubelet API stopped");
  }

  /** Percent-decoded path segments without the leading empty one; null if malformed. */
  static List<String> segments(String rawPath) {
    List<String> out = new ArrayList<>();
    if (rawPath == null) {
      return out;
    }
    String p = rawPath.startsWith("/") ? rawPath.substring(1) : rawPath;
    if (p.endsWith("/") && !p.isEmpty()) {
      p = p.substring(0, p.length() - 1);
    }
    if (p.isEmpty()) {
      return out;
    }
    for (String seg : p.split("/", -1)) {
      try {
        out.add(URLDecoder.decode(seg.replace("+", "%2B"), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
    return out;
  }
}
