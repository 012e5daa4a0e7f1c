package io.hpcbridge.bridge.kubelet;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.hpcbridge.backend.LogOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The node's kubelet HTTPS API, as far as a node that runs no containers can serve it:
 *
 * <ul>
 *   <li>{@code GET /containerLogs/{namespace}/{pod}/{container}} with {@code tailLines, follow,
 *       timestamps, limitBytes, sinceSeconds, sinceTime, previous}; streamed with chunked encoding
 *       and flushed per write, so {@code kubectl logs -f} follows;
 *   <li>{@code GET /pods}: the node's pods as a v1 PodList;
 *   <li>{@code GET /healthz}: {@code ok} (no authentication, for probes);
 *   <li>{@code /exec, /attach, /portForward, /run}: 501, not supported by this node.
 * </ul>
 *
 * <p>Clients authenticate with a certificate that chains to {@link
 * KubeletServerConfig#clientCaFile()} (the apiserver presents its kubelet client certificate). A
 * certificate that does not (another CA, expired, wrong key usage) gets 401 with the reason, even
 * when anonymous requests are allowed; a request without one gets 401 unless {@link
 * KubeletServerConfig#allowAnonymous()}. Any authenticated client may read every log: there is no
 * per-user authorization.
 */
public final class KubeletServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(KubeletServer.class);

  /** Worker threads; each follower holds one while it streams. Idle workers exit after a minute. */
  static final int MAX_THREADS = 64;

  private static final int BUFFER = 8192;
  private static final String LOGS_USAGE = "/containerLogs/{namespace}/{pod}/{container}";

  private final KubeletServerConfig cfg;
  private final PodLogSource source;
  private final KubernetesSerialization json = new KubernetesSerialization();
  private final Set<InputStream> openStreams = ConcurrentHashMap.newKeySet();
  private volatile ClientCertVerifier verifier;
  private HttpsServer server;
  private ThreadPoolExecutor pool;

  /**
   * @throws IllegalArgumentException when the configuration is invalid (one line naming the key)
   */
  public KubeletServer(KubeletServerConfig cfg, PodLogSource source) {
    cfg.validate();
    this.cfg = cfg;
    this.source = java.util.Objects.requireNonNull(source, "source");
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
    HttpsServer s;
    try {
      s = HttpsServer.create(addr, 64);
    } catch (BindException e) {
      throw new IOException(
          KubeletServerConfig.KEY_PORT
              + ": cannot listen on "
              + cfg.bindAddress()
              + ":"
              + cfg.port()
              + ": "
              + e.getMessage(),
          e);
    }
    boolean requestCerts = !clientCa.isEmpty();
    s.setHttpsConfigurator(
        new HttpsConfigurator(ctx) {
          @Override
          public void configure(HttpsParameters params) {
            SSLParameters p = getSSLContext().getDefaultSSLParameters();
            p.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            p.setWantClientAuth(requestCerts);
            params.setSSLParameters(p);
          }
        });
    s.createContext("/", this::handle);
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor p =
        new ThreadPoolExecutor(
            MAX_THREADS,
            MAX_THREADS,
            60,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, "kubelet-api-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    p.allowCoreThreadTimeOut(true);
    s.setExecutor(p);
    s.start();
    server = s;
    pool = p;
    log.info(
        "kubelet API listening on https://{}:{} ({} certificate, client certificates {}{})",
        cfg.bindAddress(),
        port(),
        cfg.tlsCertFile() == null ? "self-signed" : "configured",
        requestCerts ? "checked against " + cfg.clientCaFile() : "not requested",
        cfg.allowAnonymous() ? ", anonymous requests allowed" : "");
  }

  /** The bound port (useful when configured as 0). */
  public synchronized int port() {
    if (server == null) {
      throw new IllegalStateException("kubelet API not started");
    }
    return server.getAddress().getPort();
  }

  /** Stops listening, ends running log streams and closes their sources. */
  @Override
  public synchronized void close() {
    if (server == null) {
      return;
    }
    server.stop(0);
    for (InputStream in : openStreams) {
      closeQuietly(in);
    }
    pool.shutdownNow();
    try {
      if (!pool.awaitTermination(5, TimeUnit.SECONDS)) {
        log.warn("kubelet API: some log streams did not stop within 5 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server = null;
    pool = null;
    log.info("kubelet API stopped");
  }

  // ---------------------------------------------------------------------------------------------

  private void handle(HttpExchange ex) {
    try (ex) {
      route(ex);
    } catch (Exception | Error e) {
      log.warn("kubelet API: {} {} failed", ex.getRequestMethod(), ex.getRequestURI(), e);
    }
  }

  private void route(HttpExchange ex) throws IOException {
    List<String> path = segments(ex.getRequestURI().getRawPath());
    if (path == null) {
      send(ex, 400, "malformed path");
      return;
    }
    String first = path.isEmpty() ? "" : path.get(0);
    if (first.equals("healthz") && path.size() == 1) {
      send(ex, 200, "ok");
      return;
    }
    Client client = client(ex);
    if (client.problem() != null) {
      log.info(
          "kubelet API: rejected {} {} from {}: {}",
          ex.getRequestMethod(),
          ex.getRequestURI().getRawPath(),
          ex.getRemoteAddress(),
          client.problem());
      send(ex, 401, "Unauthorized: " + client.problem());
      return;
    }
    String user = client.subject();
    if (user == null && !cfg.allowAnonymous()) {
      log.info(
          "kubelet API: rejected {} {} from {}: no client certificate",
          ex.getRequestMethod(),
          ex.getRequestURI().getRawPath(),
          ex.getRemoteAddress());
      ex.getResponseHeaders().set("WWW-Authenticate", "Certificate");
      send(ex, 401, "Unauthorized: a client certificate signed by the cluster CA is required");
      return;
    }
    log.debug(
        "kubelet API: {} {} by {}",
        ex.getRequestMethod(),
        ex.getRequestURI(),
        user == null ? "anonymous" : user);
    switch (first) {
      case "containerLogs" -> containerLogs(ex, path);
      case "pods" -> {
        if (path.size() != 1) {
          send(ex, 404, "404 page not found");
        } else if (!isGet(ex)) {
          send(ex, 405, "method not allowed: use GET");
        } else {
          pods(ex);
        }
      }
      case "exec", "attach", "portForward", "run" ->
          send(
              ex,
              501,
              first
                  + " is not supported by this node: its pods run as batch jobs or processes"
                  + " managed by hpc-bridge, not as containers it can enter");
      default -> send(ex, 404, "404 page not found");
    }
  }

  private void containerLogs(HttpExchange ex, List<String> path) throws IOException {
    if (!isGet(ex)) {
      send(ex, 405, "method not allowed: use GET");
      return;
    }
    if (path.size() != 4 || path.stream().anyMatch(String::isEmpty)) {
      send(ex, 400, "expected " + LOGS_USAGE);
      return;
    }
    String ns = path.get(1);
    String pod = path.get(2);
    String container = path.get(3);
    LogOptions opts;
    try {
      opts = LogQuery.parse(ex.getRequestURI().getRawQuery());
    } catch (IllegalArgumentException e) {
      send(ex, 400, e.getMessage());
      return;
    }
    MDC.put("namespace", ns);
    MDC.put("pod", pod);
    MDC.put("container", container);
    try {
      InputStream in;
      try {
        in = source.open(ns, pod, container, opts);
      } catch (NoSuchElementException e) {
        send(
            ex,
            404,
            e.getMessage() != null
                ? e.getMessage()
                : "container " + container + " of pod " + ns + "/" + pod + " not found");
        return;
      } catch (IllegalArgumentException e) {
        send(ex, 400, e.getMessage());
        return;
      } catch (Exception e) {
        log.warn("kubelet API: cannot open the log of {}/{}/{}", ns, pod, container, e);
        send(ex, 500, "cannot open the log: " + e.getMessage());
        return;
      }
      openStreams.add(in);
      try {
        stream(ex, in, opts.limitBytes());
      } finally {
        openStreams.remove(in);
        closeQuietly(in);
      }
    } finally {
      MDC.remove("namespace");
      MDC.remove("pod");
      MDC.remove("container");
    }
  }

  /** Copies {@code in} to the response, flushing each read, up to {@code limitBytes}. */
  private static void stream(HttpExchange ex, InputStream in, Long limitBytes) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    ex.sendResponseHeaders(200, 0); // chunked
    OutputStream out = ex.getResponseBody();
    long remaining = limitBytes == null ? Long.MAX_VALUE : limitBytes;
    long sent = 0;
    byte[] buf = new byte[BUFFER];
    try {
      while (remaining > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, remaining));
        if (n < 0) {
          break;
        }
        out.write(buf, 0, n);
        out.flush();
        remaining -= n;
        sent += n;
      }
      out.close();
      log.debug("kubelet API: sent {} log bytes{}", sent, remaining == 0 ? " (limitBytes)" : "");
    } catch (IOException e) {
      // The client went away, or the source failed: either way this response is over.
      log.debug("kubelet API: log stream ended after {} bytes: {}", sent, e.toString());
    }
  }

  private void pods(HttpExchange ex) throws IOException {
    PodList list;
    try {
      list = new PodListBuilder().withItems(new ArrayList<>(source.pods())).build();
    } catch (RuntimeException e) {
      log.warn("kubelet API: cannot list the node's pods", e);
      send(ex, 500, "cannot list pods: " + e.getMessage());
      return;
    }
    list.setApiVersion("v1");
    list.setKind("PodList");
    byte[] body = json.asJson(list).getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(200, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  /** Who sent a request: a verified certificate subject, nobody (null), or why it is refused. */
  private record Client(String subject, String problem) {}

  private static final String SESSION_KEY = "io.hpcbridge.kubelet.client";

  /** Verifies the client certificate of the request's TLS session, once per session. */
  private Client client(HttpExchange ex) {
    ClientCertVerifier v = verifier;
    if (v == null || !(ex instanceof HttpsExchange hx) || hx.getSSLSession() == null) {
      return new Client(null, null);
    }
    SSLSession session = hx.getSSLSession();
    if (session.getValue(SESSION_KEY) instanceof Client cached) {
      return cached;
    }
    Client c;
    X509Certificate[] chain = null;
    try {
      Certificate[] certs = session.getPeerCertificates();
      chain = new X509Certificate[certs.length];
      for (int i = 0; i < certs.length; i++) {
        chain[i] = (X509Certificate) certs[i];
      }
      v.verify(chain);
      c = new Client(chain[0].getSubjectX500Principal().getName(), null);
    } catch (SSLPeerUnverifiedException none) {
      c = new Client(null, null);
    } catch (CertificateException | ClassCastException e) {
      String who =
          chain == null || chain.length == 0 || chain[0] == null
              ? "the client certificate"
              : "client certificate \""
                  + chain[0].getSubjectX500Principal().getName()
                  + "\" (issuer \""
                  + chain[0].getIssuerX500Principal().getName()
                  + "\")";
      c = new Client(null, who + " is not accepted: " + e.getMessage());
    }
    session.putValue(SESSION_KEY, c);
    return c;
  }

  private static boolean isGet(HttpExchange ex) {
    return "GET".equals(ex.getRequestMethod());
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

  private static void send(HttpExchange ex, int status, String message) throws IOException {
    byte[] body = (message + "\n").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
    ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException | RuntimeException e) {
      log.debug("kubelet API: closing a log stream failed: {}", e.toString());
    }
  }
}
