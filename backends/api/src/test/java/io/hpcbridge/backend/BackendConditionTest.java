package io.hpcbridge.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class BackendConditionTest {
  @Test
  void statusesUseKubernetesSpelling() {
    assertThat(BackendCondition.Status.TRUE.toKubernetes()).isEqualTo("True");
    assertThat(BackendCondition.Status.FALSE.toKubernetes()).isEqualTo("False");
    assertThat(BackendCondition.Status.UNKNOWN.toKubernetes()).isEqualTo("Unknown");
  }

  @Test
  void typeAndReasonMustBeCamelCaseAndMessageIsNeverNull() {
    assertThat(
            new BackendCondition("HostsReachable", BackendCondition.Status.TRUE, "AllFine", null)
                .message())
        .isEmpty();
    assertThatThrownBy(
            () -> new BackendCondition("hosts reachable", BackendCondition.Status.TRUE, "Ok", ""))
        .hasMessageContaining("type must be CamelCase");
    assertThatThrownBy(
            () -> new BackendCondition("HostsReachable", BackendCondition.Status.FALSE, "", ""))
        .hasMessageContaining("reason must be CamelCase");
  }
}
