package io.hpcbridge.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class SettingValuesTest {

  @Test
  void quantities() {
    assertThat(SettingValues.cpuMillis("500m")).isEqualTo(500);
    assertThat(SettingValues.cpuMillis("1.5")).isEqualTo(1500);
    assertThat(SettingValues.bytes("1Ki")).isEqualTo(1024);
    assertThat(SettingValues.bytes("2G")).isEqualTo(2_000_000_000L);
    assertThatThrownBy(() -> SettingValues.bytes("16 GB"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SettingValues.cpuMillis("-1"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void durations() {
    assertThat(SettingValues.duration("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(SettingValues.duration("2m")).isEqualTo(Duration.ofMinutes(2));
    assertThat(SettingValues.duration("7d")).isEqualTo(Duration.ofDays(7));
    assertThat(SettingValues.duration("30")).isEqualTo(Duration.ofSeconds(30));
    assertThat(SettingValues.duration("PT3S")).isEqualTo(Duration.ofSeconds(3));
    assertThatThrownBy(() -> SettingValues.duration("PTx"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SettingValues.duration("5 minutes"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
