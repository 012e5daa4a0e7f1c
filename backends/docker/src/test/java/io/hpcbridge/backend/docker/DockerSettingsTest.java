package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DockerSettingsTest {
  @TempDir Path tmp;

  @Test
  void parsesHostsAndDefaults() throws Exception {
    for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
      Files.writeString(tmp.resolve(f), "x");
    }
    var s =
        DockerSettings.parse(
            Map.of(
                "hosts",
                List.of(
                    Map.of("name", "local", "uri", "unix:///var/run/docker.sock"),
                    Map.of(
                        "name",
                        "gpu1",
                        "uri",
                        "tcp://10.1.2.3:2376",
                        "tlsCertDir",
                        tmp.toString(),
                        "connectTimeout",
                        "2s",
                        "responseTimeout",
                        60,
                        "maxConnections",
                        4,
                        "maxPods",
                        "20",
                        "cpu",
                        "1500m",
                        "memory",
                        "8Gi")),
                "placement",
                "binpack",
                "unreachableTimeout",
                "90s"));
    assertThat(s.placement()).isEqualTo(Placement.Policy.BINPACK);
    assertThat(s.unreachableTimeout()).isEqualTo(Duration.ofSeconds(90));
    assertThat(s.sandboxImage()).isEqualTo("local/busybox:1");
    assertThat(s.maxProcesses()).isEqualTo(4096);
    var h0 = s.hosts().get(0);
    assertThat(h0.tlsCertDir()).isNull();
    assertThat(h0.hostAddress()).isNull();
    assertThat(h0.maxConnections()).isEqualTo(20);
    assertThat(h0.maxStreams()).isEqualTo(64);
    assertThat(h0.connectionRequestTimeout()).isEqualTo(Duration.ofSeconds(5));
    var h1 = s.hosts().get(1);
    assertThat(h1.tlsCertDir()).isEqualTo(tmp);
    assertThat(h1.hostAddress()).isEqualTo("10.1.2.3");
    assertThat(h1.connectTimeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(h1.responseTimeout()).isEqualTo(Duration.ofSeconds(60));
    assertThat(h1.maxConnections()).isEqualTo(4);
    assertThat(h1.maxPods()).isEqualTo(20);
    assertThat(h1.cpuMillis()).isEqualTo(1500);
    assertThat(h1.memoryBytes()).isEqualTo(8L << 30);
  }

  @Test
  void errorsNameTheKey() {
    assertThatThrownBy(() -> DockerSettings.parse(Map.of()))
        .hasMessageStartingWith("backends.docker.hosts:");
    assertThatThrownBy(
            () -> DockerSettings.parse(Map.of("hosts", List.of(Map.of("uri", "http://x:1")))))
        .hasMessageStartingWith("backends.docker.hosts[0].uri:");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "tcp://x:1", "tlsCertDir", "/nope")))))
        .hasMessageStartingWith("backends.docker.hosts[0].tlsCertDir:");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of(
                        "hosts",
                        List.of(
                            Map.of("uri", "unix:///a"),
                            Map.of("uri", "unix:///b", "connectTimeout", "soon")))))
        .hasMessageStartingWith("backends.docker.hosts[1].connectTimeout:");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of(
                        "hosts",
                        List.of(
                            Map.of("name", "a", "uri", "unix:///a"),
                            Map.of("name", "a", "uri", "unix:///b")))))
        .hasMessageStartingWith("backends.docker.hosts[1].name:");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "unix:///a")), "placement", "random")))
        .hasMessageStartingWith("backends.docker.placement:");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "unix:///a", "maxPod", 3)))))
        .hasMessageStartingWith("backends.docker.hosts[0].maxPod: unknown key");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "unix:///a", "memory", "lots")))))
        .hasMessageStartingWith("backends.docker.hosts[0].memory: not a quantity");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "unix:///a", "maxPods", 0)))))
        .hasMessage("backends.docker.hosts[0].maxPods: must be at least 1, not 0");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "unix:///a", "maxStreams", 0)))))
        .hasMessage("backends.docker.hosts[0].maxStreams: must be at least 1, not 0");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of(
                        "hosts",
                        List.of(Map.of("uri", "unix:///a", "connectionRequestTimeout", "-1s")))))
        .hasMessageStartingWith("backends.docker.hosts[0].connectionRequestTimeout: ");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "unix:///a")), "maxProcesses", 0)))
        .hasMessage("backends.docker.maxProcesses: must be at least 1, not 0");
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of(
                        "hosts",
                        List.of(Map.of("uri", "unix:///a")),
                        "refusedHostPaths",
                        List.of("/srv/ok", "relative/docker.sock"))))
        .hasMessage(
            "backends.docker.refusedHostPaths[1]: must be an absolute path, not"
                + " relative/docker.sock");
  }

  @Test
  void plainTcpNeedsAnExplicitOptIn() {
    assertThatThrownBy(
            () ->
                DockerSettings.parse(
                    Map.of("hosts", List.of(Map.of("uri", "tcp://10.0.0.5:2375")))))
        .hasMessageStartingWith(
            "backends.docker.hosts[0].uri: plain tcp:// without TLS gives anyone who reaches"
                + " 10.0.0.5:2375 root on that host")
        .hasMessageContaining("allowInsecureTcp: true");
    var s =
        DockerSettings.parse(
            Map.of(
                "hosts", List.of(Map.of("uri", "tcp://10.0.0.5:2375", "allowInsecureTcp", true))));
    assertThat(s.hosts().get(0).allowInsecureTcp()).isTrue();
    assertThat(
            DockerSettings.parse(Map.of("hosts", List.of(Map.of("uri", "unix:///a"))))
                .hosts()
                .get(0)
                .allowInsecureTcp())
        .isFalse();
  }

  @Test
  void unnamedHostsAreNamedByTheirPosition() {
    var s =
        DockerSettings.parse(
            Map.of(
                "hosts",
                List.of(Map.of("uri", "unix:///a"), Map.of("uri", "unix:///b")),
                "placement",
                "BinPack"));
    assertThat(s.hosts())
        .extracting(DockerSettings.HostSettings::name)
        .containsExactly("host0", "host1");
    assertThat(s.placement()).isEqualTo(Placement.Policy.BINPACK);
    assertThat(s.sandboxCommand()).isEqualTo(DockerSettings.DEFAULT_SANDBOX_COMMAND);
    assertThat(s.network()).isEqualTo("bridge");
  }

  @Test
  void factoryIsFoundByServiceLoader() {
    var names =
        java.util.ServiceLoader.load(io.hpcbridge.backend.BackendFactory.class).stream()
            .map(p -> p.get().name())
            .toList();
    assertThat(names).contains("docker");
  }

  @Test
  void unusableCertificatesNameTheKey() throws Exception {
    for (String f : List.of("ca.pem", "cert.pem", "key.pem")) {
      Files.writeString(tmp.resolve(f), "not a pem");
    }
    var s =
        DockerSettings.parse(
            Map.of(
                "hosts",
                List.of(Map.of("uri", "tcp://127.0.0.1:1", "tlsCertDir", tmp.toString()))));
    assertThatThrownBy(() -> new DockerBackend("n", tmp, s))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("backends.docker.hosts[0].tlsCertDir: ");
  }
}
