package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The settings are bound with the API's SettingsBinder: same keys, errors naming the key. */
class SlurmConfigTest {

  @Test
  void defaultsNeedNoSettings() {
    SlurmConfig c = SlurmConfig.defaults();
    assertThat(c.transport()).isEqualTo("local");
    assertThat(c.workRoot()).isEqualTo("~/.hpc-bridge/pods");
    assertThat(c.runtime()).isEqualTo(ContainerRuntime.APPTAINER);
    assertThat(c.binary(ContainerRuntime.PYXIS)).isEqualTo("srun");
    assertThat(c.allows("mail-type")).isTrue();
    assertThat(c.allows("x11")).isFalse();
    assertThat(c.accounting()).isFalse();
    assertThat(c.retention()).isEqualTo(Duration.ofHours(24));
    assertThat(c.maxPods()).isEqualTo(1000);
  }

  @Test
  void valuesInEveryShapeTheReadmeShows(@TempDir Path dir) throws Exception {
    Path key = Files.writeString(dir.resolve("id"), "key");
    Path pass = Files.writeString(dir.resolve("pass"), "secret\n");
    Path known = Files.writeString(dir.resolve("known"), "");
    SlurmConfig c =
        SlurmConfig.parse(
            Map.of(
                "ssh",
                Map.of(
                    "host", "login",
                    "port", "2222",
                    "identityFile", key.toString(),
                    "passphraseFile", pass.toString(),
                    "knownHosts", known.toString()),
                "runtime",
                "enroot",
                "runtimeBinaries",
                Map.of("enroot", "/opt/slurm/bin/srun"),
                "runtimeOptions",
                Map.of("apptainer", "--cleanenv --nv"),
                "allowedFlags",
                "begin nice",
                "flavors",
                Map.of(
                    "quick", Map.of("flags", Map.of("qos", "short", "exclusive", true)),
                    "gpu", Map.of("flags", "--gres=gpu:1 --qos=gpu", "runtime", "podman")),
                "retention",
                0,
                "commandTimeout",
                "90s"));
    assertThat(c.transport()).isEqualTo("ssh");
    assertThat(c.ssh().port()).isEqualTo(2222);
    assertThat(c.ssh().passphrase()).isEqualTo("secret");
    assertThat(c.ssh().strictHostKeyChecking()).isTrue();
    assertThat(c.runtime()).isEqualTo(ContainerRuntime.PYXIS);
    assertThat(c.binary(ContainerRuntime.PYXIS)).isEqualTo("/opt/slurm/bin/srun");
    assertThat(c.options(ContainerRuntime.APPTAINER)).containsExactly("--cleanenv", "--nv");
    assertThat(c.allows("nice")).isTrue();
    assertThat(c.allows("mail-type")).isFalse();
    assertThat(c.flavors().get("quick").flags().values())
        .extracting(SbatchFlag::toString)
        .containsExactlyInAnyOrder("--qos=short", "--exclusive");
    assertThat(c.flavors().get("gpu").runtime()).isEqualTo(ContainerRuntime.PODMAN);
    assertThat(c.retention()).isZero();
    assertThat(c.commandTimeout()).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void dottedKeysReadLikeNestedOnes() {
    SlurmConfig c =
        SlurmConfig.parse(
            Map.of(
                "ssh.host",
                "login",
                "ssh.useAgent",
                "true",
                "ssh.strictHostKeyChecking",
                false,
                "ssh.maxChannels",
                "6"));
    assertThat(c.transport()).isEqualTo("ssh");
    assertThat(c.ssh().host()).isEqualTo("login");
    assertThat(c.ssh().useAgent()).isTrue();
    assertThat(c.ssh().maxChannels()).isEqualTo(6);
    assertThat(
            SlurmConfig.parse(
                    Map.of(
                        "ssh.host",
                        "login",
                        "ssh.useAgent",
                        true,
                        "ssh.strictHostKeyChecking",
                        false))
                .ssh()
                .maxChannels())
        .isEqualTo(8);
  }

  @Test
  void errorsNameTheKey() {
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("transport", "ssh")))
        .hasMessage("backends.slurm.ssh.host: required when transport is ssh");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("workRoot", "/tmp/a b")))
        .hasMessageStartingWith("backends.slurm.workRoot:");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("allowedFlags", List.of("output"))))
        .hasMessage(
            "backends.slurm.allowedFlags: --output is set by the bridge and cannot be allowed");
    assertThatThrownBy(
            () ->
                SlurmConfig.parse(Map.of("flavors", Map.of("x", Map.of("flags", "--job-name=y")))))
        .hasMessage(
            "backends.slurm.flavors.x.flags: --job-name is set by the bridge and cannot be set"
                + " here");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("runtime", "docker")))
        .hasMessage(
            "backends.slurm.runtime: unknown runtime docker (known: "
                + ContainerRuntime.names()
                + ")");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("runtimeOptions", Map.of("docker", "x"))))
        .hasMessageStartingWith("backends.slurm.runtimeOptions.docker: unknown runtime docker");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("defaultFlavor", "gpu")))
        .hasMessageStartingWith("backends.slurm.defaultFlavor: no flavor named gpu");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("retention", "forever")))
        .hasMessageStartingWith("backends.slurm.retention: not a duration: 'forever'");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("maxPods", "many")))
        .hasMessage("backends.slurm.maxPods: must be a whole number, got 'many'");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("ssh", Map.of("host", "h", "port", 0))))
        .hasMessage("backends.slurm.ssh.port: must be between 1 and 65535, got 0");
    assertThatThrownBy(
            () -> SlurmConfig.parse(Map.of("ssh", Map.of("host", "h", "maxChannels", 1))))
        .hasMessageStartingWith("backends.slurm.ssh.maxChannels: must be at least 2");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("partiton", "debug")))
        .hasMessageStartingWith("backends.slurm.partiton: unknown key (known: ");
    assertThatThrownBy(() -> SlurmConfig.parse(Map.of("ssh", Map.of("hots", "h"))))
        .hasMessageStartingWith("backends.slurm.ssh.hots: unknown key");
  }
}
