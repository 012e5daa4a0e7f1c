package io.hpcbridge.bridge.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {

  @TempDir Path dir;

  @Test
  void defaultsWithoutFileOrEnv() {
    BridgeConfig c = ConfigLoader.load(null, Map.of("HPC_BRIDGE_HOME", dir.toString()));

    assertThat(c.nodeName()).isEqualTo("hpc-bridge");
    assertThat(c.backend()).isEqualTo("local");
    assertThat(c.stateFile()).isEqualTo(dir.resolve("state.db"));
    assertThat(c.dataDir()).isEqualTo(dir.resolve("data"));
    assertThat(c.kubeconfig()).isNull();
    assertThat(c.node())
        .isEqualTo(
            new BridgeConfig.Node(
                null,
                Map.of(),
                true,
                Duration.ofSeconds(40),
                Duration.ofSeconds(10),
                Duration.ofSeconds(60),
                Duration.ofSeconds(20)));
    assertThat(c.pods())
        .isEqualTo(
            new BridgeConfig.Pods(Duration.ofSeconds(5), 4, null, 0, Duration.ofDays(7), 4, 100));
    assertThat(c.kubeApi()).isEqualTo(new BridgeConfig.KubeApi(200.0, 400, 64));
    assertThat(c.kubelet())
        .isEqualTo(
            new BridgeConfig.Kubelet(
                "0.0.0.0",
                10250,
                null,
                null,
                null,
                false,
                "Webhook",
                128,
                256,
                32,
                Duration.ofSeconds(30)));
    assertThat(c.backendSettings()).isEmpty();
  }

  @Test
  void defaultHomeFollowsXdgStateHome() {
    assertThat(ConfigLoader.defaultHome(Map.of("XDG_STATE_HOME", "/var/state")))
        .isEqualTo(Path.of("/var/state/hpc-bridge"));
    assertThat(
            ConfigLoader.defaultHome(Map.of("HPC_BRIDGE_HOME", "/opt/b", "XDG_STATE_HOME", "/x")))
        .isEqualTo(Path.of("/opt/b"));
  }

  @Test
  void readsYaml() throws IOException {
    Path file =
        yaml(
            """
            nodeName: hpc-login-1
            backend: slurm
            stateFile: /var/lib/hpc-bridge/state.db
            node:
              address: 192.168.1.10
              labels: {site: lab, gpu: true}
              taint: false
              leaseDuration: 1m
              leaseRenewInterval: 15s
            pods:
              pollInterval: 500ms
              workers: 8
              kubernetesServiceHost: 10.96.0.1
              kubernetesServicePort: 443
            kubelet:
              port: 10260
              allowAnonymous: yes
              clientCaFile: /etc/kubernetes/ca.crt
            backends:
              slurm:
                partition: batch
                maxJobs: 100
            """);

    BridgeConfig c = ConfigLoader.load(file, Map.of());

    assertThat(c.nodeName()).isEqualTo("hpc-login-1");
    assertThat(c.backend()).isEqualTo("slurm");
    assertThat(c.stateFile()).isEqualTo(Path.of("/var/lib/hpc-bridge/state.db"));
    assertThat(c.node().address()).isEqualTo("192.168.1.10");
    assertThat(c.node().labels()).containsEntry("site", "lab").containsEntry("gpu", "true");
    assertThat(c.node().taint()).isFalse();
    assertThat(c.node().leaseDuration()).isEqualTo(Duration.ofMinutes(1));
    assertThat(c.node().leaseRenewInterval()).isEqualTo(Duration.ofSeconds(15));
    assertThat(c.pods())
        .isEqualTo(
            new BridgeConfig.Pods(
                Duration.ofMillis(500), 8, "10.96.0.1", 443, Duration.ofDays(7), 4, 100));
    assertThat(c.kubelet().port()).isEqualTo(10260);
    assertThat(c.kubelet().allowAnonymous()).isTrue();
    assertThat(c.kubelet().clientCaFile()).isEqualTo(Path.of("/etc/kubernetes/ca.crt"));
    assertThat(c.backendSettings())
        .containsEntry("partition", "batch")
        .containsEntry("maxJobs", 100);
  }

  @Test
  void emptyFileMeansDefaults() throws IOException {
    assertThat(ConfigLoader.load(yaml(""), Map.of()).kubelet().port()).isEqualTo(10250);
    assertThat(
            ConfigLoader.load(yaml("# all commented out\n# kubelet: {port: 1}\n"), Map.of())
                .kubelet()
                .port())
        .isEqualTo(10250);
  }

  @Test
  void environmentOverridesYaml() throws IOException {
    Path file =
        yaml(
            """
            nodeName: from-file
            node:
              taint: true
              labels: {kept: yes}
            kubelet:
              port: 10260
            """);

    BridgeConfig c =
        ConfigLoader.load(
            file,
            Map.of(
                "HPC_BRIDGE_NODE_NAME", "from-env",
                "HPC_BRIDGE_KUBELET_PORT", "12345",
                "HPC_BRIDGE_NODE_TAINT", "false",
                "HPC_BRIDGE_PODS_POLL_INTERVAL", "2s",
                "HPC_BRIDGE_KUBELET_TLS_CERT_FILE", "/etc/tls/cert.pem",
                "HPC_BRIDGE_KUBE_API_QPS", "12.5",
                "UNRELATED", "ignored"));

    assertThat(c.nodeName()).isEqualTo("from-env");
    assertThat(c.kubelet().port()).isEqualTo(12345);
    assertThat(c.kubelet().tlsCertFile()).isEqualTo(Path.of("/etc/tls/cert.pem"));
    assertThat(c.node().taint()).isFalse();
    assertThat(c.node().labels()).containsEntry("kept", "true");
    assertThat(c.pods().pollInterval()).isEqualTo(Duration.ofSeconds(2));
    assertThat(c.kubeApi().qps()).isEqualTo(12.5);
  }

  @Test
  void everyEnvKeyHasAnHpcBridgeName() {
    assertThat(ConfigLoader.envNames())
        .hasSameSizeAs(BridgeConfig.ENV_KEYS)
        .contains("HPC_BRIDGE_KUBELET_PORT", "HPC_BRIDGE_NODE_TAINT", "HPC_BRIDGE_STATE_FILE")
        .allMatch(n -> n.matches("HPC_BRIDGE_[A-Z_]+"));
  }

  // ---- errors: one line, naming the key ----

  @Test
  void unknownTopLevelKey() throws IOException {
    assertConfigError(yaml("nodename: x\n"), Map.of(), "nodename")
        .hasMessageContaining("unknown key");
  }

  @Test
  void unknownNestedKey() throws IOException {
    assertConfigError(yaml("kubelet:\n  prot: 1\n"), Map.of(), "kubelet.prot");
  }

  @ParameterizedTest(name = "[{index}] {0}={1}")
  @CsvSource(
      delimiter = '|',
      value = {
        "HPC_BRIDGE_KUBELET_PORT           | abc          | kubelet.port",
        "HPC_BRIDGE_KUBELET_PORT           | 70000        | kubelet.port",
        "HPC_BRIDGE_KUBELET_PORT           | 0            | kubelet.port",
        "HPC_BRIDGE_NODE_TAINT             | maybe        | node.taint",
        "HPC_BRIDGE_PODS_WORKERS           | 0            | pods.workers",
        "HPC_BRIDGE_PODS_POLL_INTERVAL     | 10x          | pods.pollInterval",
        "HPC_BRIDGE_PODS_POLL_INTERVAL     | 0s           | pods.pollInterval",
        "HPC_BRIDGE_PODS_POLL_INTERVAL     | -1s          | pods.pollInterval",
        "HPC_BRIDGE_PODS_POLL_INTERVAL     | 99999999999999999999s | pods.pollInterval",
        "HPC_BRIDGE_NODE_LEASE_DURATION    | 9999999999999999h | node.leaseDuration",
        "HPC_BRIDGE_NODE_LEASE_RENEW_INTERVAL | 40s        | node.leaseRenewInterval",
        "HPC_BRIDGE_NODE_NAME              | Bad_Name     | nodeName",
        "HPC_BRIDGE_BACKEND                | ../evil      | backend",
        "HPC_BRIDGE_KUBE_API_QPS           | 0            | kubeApi.qps",
        "HPC_BRIDGE_KUBE_API_BURST         | 0            | kubeApi.burst",
        "HPC_BRIDGE_PODS_SUBMIT_BATCH      | 0            | pods.submitBatch",
      })
  void badValueNamesTheKey(String env, String value, String key) {
    assertConfigError(null, Map.of(env, value), key);
  }

  @Test
  void badYamlTypesNameTheKey() throws IOException {
    assertConfigError(yaml("node: [a, b]\n"), Map.of(), "node").hasMessageContaining("mapping");
    assertConfigError(yaml("kubelet:\n  port: 1.5\n"), Map.of(), "kubelet.port");
    assertConfigError(yaml("backends:\n  slurm: 3\n"), Map.of(), "backends.slurm");
    assertConfigError(yaml("node:\n  labels: x\n"), Map.of(), "node.labels");
  }

  @Test
  void fileThatIsNotAMappingIsOneLine() throws IOException {
    Path file = yaml("- a\n- b\n");

    assertConfigError(file, Map.of(), file.toString()).hasMessageContaining("mapping");
  }

  @Test
  void yamlSyntaxErrorIsOneLineNamingTheFile() throws IOException {
    Path file = yaml("nodeName: a\n  backend: [unclosed\n");

    assertConfigError(file, Map.of(), file.toString()).hasMessageContaining("line 2");
  }

  @Test
  void missingFileIsOneLineNamingTheFile() {
    Path file = dir.resolve("absent.yaml");

    assertConfigError(file, Map.of(), file.toString()).hasMessageEndingWith("no such file");
  }

  // ---- helpers ----

  private Path yaml(String text) throws IOException {
    Path f = Files.createTempFile(dir, "bridge", ".yaml");
    Files.writeString(f, text);
    return f;
  }

  private AbstractThrowableAssert<?, ? extends Throwable> assertConfigError(
      Path file, Map<String, String> env, String key) {
    Map<String, String> withHome = new java.util.HashMap<>(env);
    withHome.put("HPC_BRIDGE_HOME", dir.toString());
    return assertThatThrownBy(() -> ConfigLoader.load(file, withHome))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("config: " + key + ": ")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }
}
