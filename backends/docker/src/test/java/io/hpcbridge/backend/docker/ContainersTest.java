package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.command.InspectContainerResponse;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** What an inspect answer becomes, from the engine's own JSON. */
class ContainersTest {
  static final ObjectMapper JSON =
      new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  static InspectContainerResponse inspect(String state) throws Exception {
    return JSON.readValue(
        "{\"Id\":\"abc\",\"RestartCount\":1,\"State\":"
            + state
            + ",\"Config\":{\"Labels\":{\"io.kubernetes.container.name\":\"main\","
            + "\"io.hpcbridge.role\":\"container\"}},"
            + "\"NetworkSettings\":{\"IPAddress\":\"\",\"Networks\":{\"bridge\":"
            + "{\"IPAddress\":\"172.17.0.9\"}}}}",
        InspectContainerResponse.class);
  }

  @Test
  void aContainerThatExitedAtOnceNeverFinishesBeforeItStarted() throws Exception {
    // what Docker 20.10 reported for `exit 3` right after the start
    ContainerView v =
        Containers.view(
            inspect(
                "{\"Status\":\"exited\",\"ExitCode\":3,\"OOMKilled\":false,"
                    + "\"StartedAt\":\"2026-12-02T01:00:56.108243430Z\","
                    + "\"FinishedAt\":\"2026-12-02T01:00:56.107143056Z\"}"));
    assertThat(v.startedAt()).isEqualTo(Instant.parse("2026-12-02T01:00:56.108243430Z"));
    assertThat(v.finishedAt()).isEqualTo(v.startedAt());
    assertThat(v.exitCode()).isEqualTo(3);
    assertThat(v.terminationReason()).isEqualTo("Error");
  }

  @Test
  void inspectBecomesAView() throws Exception {
    ContainerView v =
        Containers.view(
            inspect(
                "{\"Status\":\"running\",\"ExitCode\":0,\"OOMKilled\":false,"
                    + "\"StartedAt\":\"2026-12-02T01:00:00Z\","
                    + "\"FinishedAt\":\"0001-01-01T00:00:00Z\"}"));
    assertThat(v.name()).isEqualTo("main");
    assertThat(v.role()).isEqualTo("container");
    assertThat(v.running()).isTrue();
    assertThat(v.finishedAt()).isNull();
    assertThat(v.restartCount()).isEqualTo(1);
    assertThat(v.ip()).isEqualTo("172.17.0.9");
  }
}
