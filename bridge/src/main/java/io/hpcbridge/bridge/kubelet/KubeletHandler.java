package io.hpcbridge.bridge.kubelet;

import io.fabric8.kubernetes.api.model.PodList;
import io.fabric8.kubernetes.api.model.PodListBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.LogOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The kubelet API's routes, each request authenticated (client certificate, bearer token, or
 * anonymous when allowed) and authorized like the kubelet in webhook mode ({@code nodes/proxy} for
 * logs, pods and exec, {@code nodes/stats}, {@code nodes/metrics}, {@code nodes/log}).
 */
final class KubeletHandler extends Handler.Abstract {
  private static final Logger log = LoggerFactory.getLogger(KubeletHandler.class);
  private static final int BUFFER = 8192;
  private static final String LOGS_USAGE = "/containerLogs/{namespace}/{pod}/{container}";

  private final PodLogSource source;
  private final Authenticator authenticator;
  private final KubeletAuthorizer authorizer;
  private final FollowLimits follows;
  private final KubernetesSerialization json = new KubernetesSerialization();
  private final Set<InputStream> open = ConcurrentHashMap.newKeySet();

  KubeletHandler(
      PodLogSource source,
      ClientCertVerifier verifier,
      TokenReviewer tokens,
      KubeletAuthorizer authorizer,
      boolean allowAnonymous,
      FollowLimits follows) {
    super(InvocationType.BLOCKING);
    this.follows = follows;
    this.source = source;
    this.authenticator = new Authenticator(verifier, tokens, allowAnonymous);
    this.authorizer = authorizer;
  }

  /** Ends every log stream being served (the server is stopping). */
  void closeStreams() {
    open.forEach(KubeletHandler::closeQuietly);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    try {
      route(request, response);
      callback.succeeded();
    } catch (Throwable e) {
      log.debug(
          "kubelet API: {} {} ended: {}", request.getMethod(), request.getHttpURI(), e.toString());
      callback.failed(e);
    }
    return true;
  }

  private void route(Request req, Response res) throws Exception {
    List<String> path = KubeletServer.segments(req.getHttpURI().getPath());
    if (path == null) {
      send(res, 400, "malformed path");
      return;
    }
    String first = path.isEmpty() ? "" : path.get(0);
    if (first.equals("healthz") && path.size() == 1) {
      send(res, 200, "ok");
      return;
    }
    Identity who;
    try {
      who = authenticator.authenticate(req);
    } catch (CertificateException e) {
      log.info(
          "kubelet API: rejected {} {}: {}",
          req.getMethod(),
          req.getHttpURI().getPath(),
          e.getMessage());
      send(res, 401, "Unauthorized: " + e.getMessage());
      return;
    }
    if (who == null) {
      log.info(
          "kubelet API: rejected {} {}: no credentials",
          req.getMethod(),
          req.getHttpURI().getPath());
      res.getHeaders().put("WWW-Authenticate", "Certificate");
      send(
          res,
          401,
          "Unauthorized: a client certificate signed by the cluster CA or a bearer token is"
              + " required");
      return;
    }
    String subresource = subresource(first);
    String verb = verb(req.getMethod());
    String denied = authorizer.check(who, verb, subresource);
    if (denied != null) {
      log.info(
          "kubelet API: forbidden {} {} for {}: {}",
          req.getMethod(),
          req.getHttpURI().getPath(),
          who,
          denied);
      send(res, 403, "Forbidden: " + denied);
      return;
    }
    log.debug("kubelet API: {} {} by {}", req.getMethod(), req.getHttpURI(), who);
    switch (first) {
      case "containerLogs" -> containerLogs(req, res, path);
      case "pods" -> {
        if (path.size() != 1) {
          send(res, 404, "404 page not found");
        } else if (!"GET".equals(req.getMethod())) {
          send(res, 405, "method not allowed: use GET");
        } else {
          pods(res);
        }
      }
      case "exec", "attach", "portForward", "run" ->
          send(
              res,
              501,
              first
                  + " is not supported by this node: its pods run as batch jobs or processes"
                  + " managed by hpc-bridge, not as containers it can enter");
      default -> send(res, 404, "404 page not found");
    }
  }

  /** The kubelet's mapping of a path to the node subresource it needs. */
  static String subresource(String first) {
    return switch (first) {
      case "stats" -> "stats";
      case "metrics" -> "metrics";
      case "logs" -> "log";
      case "spec" -> "spec";
      default -> "proxy";
    };
  }

  static String verb(String method) {
    return switch (method.toUpperCase(Locale.ROOT)) {
      case "POST" -> "create";
      case "PUT" -> "update";
      case "PATCH" -> "patch";
      case "DELETE" -> "delete";
      default -> "get";
    };
  }

  private void containerLogs(Request req, Response res, List<String> path) throws Exception {
    if (!"GET".equals(req.getMethod())) {
      send(res, 405, "method not allowed: use GET");
      return;
    }
    if (path.size() != 4 || path.stream().anyMatch(String::isEmpty)) {
      send(res, 400, "expected " + LOGS_USAGE);
      return;
    }
    String ns = path.get(1);
    String pod = path.get(2);
    String container = path.get(3);
    LogOptions opts;
    try {
      opts = LogQuery.parse(req.getHttpURI().getQuery());
    } catch (IllegalArgumentException e) {
      send(res, 400, e.getMessage());
      return;
    }
    if (opts.follow()) {
      String busy = follows.acquire(ns);
      if (busy != null) {
        send(res, 503, "Service Unavailable: " + busy + "; try again later");
        return;
      }
    }
    MDC.put("pod", ns + "/" + pod);
    MDC.put("container", container);
    try {
      InputStream in;
      try {
        in = source.open(ns, pod, container, opts);
      } catch (NoSuchElementException | BackendException.NotFound e) {
        releaseFollow(opts, ns);
        send(
            res,
            404,
            e.getMessage() != null
                ? e.getMessage()
                : "container " + container + " of pod " + ns + "/" + pod + " not found");
        return;
      } catch (BackendException.Transient e) {
        releaseFollow(opts, ns);
        log.info(
            "kubelet API: the log of {}/{}/{} is not available now: {}",
            ns,
            pod,
            container,
            e.getMessage());
        send(
            res,
            503,
            "Service Unavailable: the log of container "
                + container
                + " cannot be opened now (the backend is busy or unreachable); try again");
        return;
      } catch (IllegalArgumentException e) {
        releaseFollow(opts, ns);
        send(res, 400, e.getMessage());
        return;
      } catch (Exception e) {
        releaseFollow(opts, ns);
        // The cause may name hosts and paths of the backend: it goes to the node's log only.
        log.warn("kubelet API: cannot open the log of {}/{}/{}", ns, pod, container, e);
        send(res, 500, "cannot open the log of container " + container + " now; try again");
        return;
      }
      open.add(in);
      // The client went away (HTTP/2 reset, failed write): end the stream so its source stops.
      req.addFailureListener(failure -> closeQuietly(in));
      try {
        stream(res, in, opts.limitBytes());
      } finally {
        open.remove(in);
        closeQuietly(in);
        if (opts.follow()) {
          follows.release(ns);
        }
      }
    } finally {
      MDC.remove("pod");
      MDC.remove("container");
    }
  }

  private void releaseFollow(LogOptions opts, String ns) {
    if (opts.follow()) {
      follows.release(ns);
    }
  }

  /** Whether a request is a log follow (limited apart from other requests). */
  static boolean isFollow(Request req) {
    if (!req.getHttpURI().getPath().startsWith("/containerLogs/")) {
      return false;
    }
    try {
      return LogQuery.parse(req.getHttpURI().getQuery()).follow();
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** Copies {@code in} to the response, flushing each read, up to {@code limitBytes}. */
  private static void stream(Response res, InputStream in, Long limitBytes) throws IOException {
    res.setStatus(200);
    res.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
    res.getHeaders().put("X-Content-Type-Options", "nosniff");
    long remaining = limitBytes == null ? Long.MAX_VALUE : limitBytes;
    long sent = 0;
    byte[] buf = new byte[BUFFER];
    try (OutputStream out = Content.Sink.asOutputStream(res)) {
      out.flush(); // headers now: a follower sees the stream open before the first line
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
      log.debug("kubelet API: sent {} log bytes{}", sent, remaining == 0 ? " (limitBytes)" : "");
    } catch (IOException e) {
      // The client went away, or the source was closed: either way this response is over.
      log.debug("kubelet API: log stream ended after {} bytes: {}", sent, e.toString());
    }
  }

  private void pods(Response res) throws IOException {
    PodList list = new PodListBuilder().withItems(new ArrayList<>(source.pods())).build();
    list.setApiVersion("v1");
    list.setKind("PodList");
    res.setStatus(200);
    res.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    byte[] body = json.asJson(list).getBytes(StandardCharsets.UTF_8);
    Content.Sink.write(res, true, ByteBuffer.wrap(body));
  }

  private static void send(Response res, int status, String message) throws IOException {
    res.setStatus(status);
    res.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
    res.getHeaders().put("X-Content-Type-Options", "nosniff");
    Content.Sink.write(
        res, true, ByteBuffer.wrap((message + "\n").getBytes(StandardCharsets.UTF_8)));
  }

  private static void closeQuietly(InputStream in) {
    try {
      in.close();
    } catch (IOException | RuntimeException e) {
      log.debug("kubelet API: closing a log stream failed: {}", e.toString());
    }
  }
}
