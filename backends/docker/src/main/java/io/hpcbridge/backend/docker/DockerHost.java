package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Info;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Docker host: three clients, each with its own connections, so that no kind of call can take
 * all of another's, and its last known health. {@link #client} makes the short control calls (list,
 * inspect, create, start, kill, remove, archives, ping) with the configured response timeout;
 * {@link #events} holds the host's event stream alone; {@link #streams} serves what may last as
 * long as a tenant wants (log streams, image pulls), with no response timeout. A call that finds
 * its client's connections all in use waits {@code connectionRequestTimeout} at most, then fails
 * with {@link BoundedHttpClient.Busy}.
 */
final class DockerHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DockerHost.class);

  final DockerSettings.HostSettings settings;
  final DockerClient client;
  final DockerClient events;
  final DockerClient streams;

  /** {@link #client}'s own connections, for the few calls docker-java's models cannot express. */
  final BoundedHttpClient controlHttp;

  private volatile Info info;
  private volatile boolean reachable = true;
  private volatile Instant unreachableSince;
  private volatile String lastError;

  DockerHost(DockerSettings.HostSettings s) {
    this.settings = s;
    DefaultDockerClientConfig.Builder b =
        new DefaultDockerClientConfig.Builder()
            .withDockerHost(s.uri().toString())
            .withDockerTlsVerify(s.tlsCertDir() != null);
    if (s.tlsCertDir() != null) {
      b.withDockerCertPath(s.tlsCertDir().toString());
    }
    DefaultDockerClientConfig cfg = b.build();
    this.controlHttp =
        http(
            s,
            cfg,
            s.responseTimeout(),
            s.maxConnections(),
            "control connections to docker host " + s.name() + " (maxConnections)");
    this.client = DockerClientImpl.getInstance(cfg, controlHttp);
    // Zero means no timeout: an event stream or a log follow may idle for hours. Left unset, the
    // TLS handshake's timeout (the connect timeout) would stay on the socket.
    this.events =
        DockerClientImpl.getInstance(
            cfg,
            http(s, cfg, Duration.ZERO, 2, "event stream connections to docker host " + s.name()));
    this.streams =
        DockerClientImpl.getInstance(
            cfg,
            http(
                s,
                cfg,
                Duration.ZERO,
                s.maxStreams(),
                "log stream and image pull connections to docker host "
                    + s.name()
                    + " (maxStreams)"));
  }

  private static BoundedHttpClient http(
      DockerSettings.HostSettings s,
      DefaultDockerClientConfig cfg,
      Duration responseTimeout,
      int connections,
      String what) {
    ApacheDockerHttpClient http =
        new ApacheDockerHttpClient.Builder()
            .dockerHost(cfg.getDockerHost())
            .sslConfig(cfg.getSSLConfig())
            .maxConnections(connections)
            .connectionTimeout(s.connectTimeout())
            .responseTimeout(responseTimeout)
            .build();
    return new BoundedHttpClient(http, connections, s.connectionRequestTimeout(), what);
  }

  String name() {
    return settings.name();
  }

  boolean reachable() {
    return reachable;
  }

  Instant unreachableSince() {
    return unreachableSince;
  }

  String lastError() {
    return lastError;
  }

  Info info() {
    return info;
  }

  /** CPU in millicores: the configured value, else what the daemon reports. */
  long cpuMillis(Info i) {
    if (settings.cpuMillis() > 0) {
      return settings.cpuMillis();
    }
    return i == null || i.getNCPU() == null ? 0 : i.getNCPU() * 1000L;
  }

  /** Memory in bytes: the configured value, else what the daemon reports. */
  long memoryBytes(Info i) {
    if (settings.memoryBytes() > 0) {
      return settings.memoryBytes();
    }
    return i == null || i.getMemTotal() == null ? 0 : i.getMemTotal();
  }

  /** Pings and refreshes the cached info; records the outcome. */
  Info refresh() {
    try {
      client.pingCmd().exec();
      Info i = client.infoCmd().exec();
      info = i;
      ok();
      return i;
    } catch (RuntimeException e) {
      failed(e);
      throw e;
    }
  }

  void ok() {
    if (!reachable) {
      log.info("docker host {} ({}) is reachable again", name(), settings.uri());
    }
    reachable = true;
    unreachableSince = null;
    lastError = null;
  }

  void failed(Throwable e) {
    if (e instanceof BoundedHttpClient.Busy) {
      return; // our own connections were all in use: the host did not fail to answer
    }
    String msg = describe(e);
    if (reachable) {
      log.warn("docker host {} ({}) is unreachable: {}", name(), settings.uri(), msg);
      unreachableSince = Instant.now();
    }
    reachable = false;
    lastError = msg;
  }

  /** True for errors that mean the daemon did not answer (as opposed to an API error). */
  static boolean isConnectionFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof IOException) {
        return true;
      }
    }
    return false;
  }

  static String describe(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m = root.getMessage();
    return root.getClass().getSimpleName() + (m == null ? "" : ": " + m.trim());
  }

  HostHealth health() {
    Info i = info;
    return new HostHealth(
        name(),
        settings.uri().toString(),
        reachable,
        reachable ? null : "HostUnreachable",
        lastError,
        unreachableSince,
        i == null ? null : i.getServerVersion());
  }

  @Override
  public void close() {
    for (DockerClient c : new DockerClient[] {client, events, streams}) {
      try {
        c.close();
      } catch (IOException e) {
        log.debug("closing docker client of {}", name(), e);
      }
    }
  }
}
