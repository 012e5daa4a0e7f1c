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
 * One Docker host: two clients (short calls with the configured response timeout; streams, pulls
 * and stops without one) and its last known health.
 */
final class DockerHost implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DockerHost.class);

  final DockerSettings.HostSettings settings;
  final DockerClient client;
  final DockerClient streams;
  private volatile Info info;
  private volatile boolean reachable = true;
  private volatile Instant unreachableSince;
  private volatile String lastError;

  DockerHost(DockerSettings.HostSettings s) {
    this.settings = s;
    this.client = build(s, s.responseTimeout());
    // Zero means no timeout: log streams may idle for hours, stops last the grace period. Left
    // unset, the TLS handshake's timeout (the connect timeout) would stay on the socket.
    this.streams = build(s, Duration.ZERO);
  }

  private static DockerClient build(DockerSettings.HostSettings s, Duration responseTimeout) {
    DefaultDockerClientConfig.Builder b =
        new DefaultDockerClientConfig.Builder()
            .withDockerHost(s.uri().toString())
            .withDockerTlsVerify(s.tlsCertDir() != null);
    if (s.tlsCertDir() != null) {
      b.withDockerCertPath(s.tlsCertDir().toString());
    }
    DefaultDockerClientConfig cfg = b.build();
    ApacheDockerHttpClient.Builder hb =
        new ApacheDockerHttpClient.Builder()
            .dockerHost(cfg.getDockerHost())
            .sslConfig(cfg.getSSLConfig())
            .maxConnections(s.maxConnections())
            .connectionTimeout(s.connectTimeout());
    hb.responseTimeout(responseTimeout);
    return DockerClientImpl.getInstance(cfg, hb.build());
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
    try {
      client.close();
      streams.close();
    } catch (IOException e) {
      log.debug("closing docker client of {}", name(), e);
    }
  }
}
