package io.hpcbridge.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsBinderTest {

  record Host(String name, Duration connectTimeout) {
    Host {
      if (name == null) {
        throw SettingsBinder.invalid("name", "required");
      }
      connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
    }
  }

  record Section(
      Integer port,
      Boolean enabled,
      Duration poll,
      ResourceQuantity memory,
      Path dir,
      List<Host> hosts,
      Map<String, String> labels) {
    Section {
      port = port == null ? 10250 : port;
      enabled = enabled == null || enabled;
      poll = poll == null ? Duration.ofSeconds(5) : poll;
      hosts = hosts == null ? List.of() : List.copyOf(hosts);
      labels = labels == null ? Map.of() : Map.copyOf(labels);
      if (port < 1 || port > 65535) {
        throw SettingsBinder.invalid("port", "must be between 1 and 65535, got " + port);
      }
    }
  }

  @Test
  void absentSectionGivesTheDefaults() {
    Section s = SettingsBinder.bind(null, Section.class, "x");
    assertThat(s.port()).isEqualTo(10250);
    assertThat(s.enabled()).isTrue();
    assertThat(s.poll()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.memory()).isNull();
    assertThat(s.hosts()).isEmpty();
  }

  @Test
  void scalarsUseOneGrammarWhetherTheyCameFromYamlOrAnEnvironmentVariable() {
    Section s =
        SettingsBinder.bind(
            Map.of(
                "port", "8443",
                "enabled", "no",
                "poll", "500ms",
                "memory", "16Gi",
                "dir", "~/pods",
                "hosts", List.of(Map.of("name", "a", "connectTimeout", 2))),
            Section.class,
            "x");
    assertThat(s.port()).isEqualTo(8443);
    assertThat(s.enabled()).isFalse();
    assertThat(s.poll()).isEqualTo(Duration.ofMillis(500));
    assertThat(s.memory().bytes()).isEqualTo(16L << 30);
    assertThat(s.dir()).isEqualTo(Path.of(System.getProperty("user.home"), "pods"));
    assertThat(s.hosts().get(0).connectTimeout()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void everyFailureNamesTheKeyPath() {
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("prot", 1), Section.class, "backends.x"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("backends.x.prot: unknown key (known: dir, enabled, hosts");
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("port", "abc"), Section.class, "kubelet"))
        .hasMessage("kubelet.port: must be a whole number, got 'abc'");
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("port", 0), Section.class, "kubelet"))
        .hasMessage("kubelet.port: must be between 1 and 65535, got 0");
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("poll", "soon"), Section.class, "pods"))
        .hasMessageStartingWith("pods.poll: not a duration: 'soon'");
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("memory", "-1"), Section.class, "x"))
        .hasMessageStartingWith("x.memory: not a quantity");
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("enabled", "maybe"), Section.class, "x"))
        .hasMessage("x.enabled: must be true or false, got 'maybe'");
    assertThatThrownBy(
            () ->
                SettingsBinder.bind(
                    Map.of("hosts", List.of(Map.of("name", "a"), Map.of("connectTimeout", "1s"))),
                    Section.class,
                    "backends.docker"))
        .hasMessage("backends.docker.hosts[1].name: required");
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("hosts", "a"), Section.class, "x"))
        .hasMessageStartingWith("x.hosts: ");
    assertThatThrownBy(() -> SettingsBinder.bind(Map.of("poll", List.of(1)), Section.class, "x"))
        .hasMessage("x.poll: must be a single value, not a list or mapping");
  }
}
