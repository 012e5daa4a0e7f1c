package io.hpcbridge.backend.local.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Helper commands: their output, and a timeout that holds whatever they do with it. */
class ToolsTest {

  @TempDir Path dir;

  @Test
  void exitCodeAndOutputOfAHelper() {
    Tools.Result r = Tools.run(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), 10_000);
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.output()).isEqualTo("out\nerr");
  }

  @Test
  void aTimeoutEndsAHelperWhoseChildKeepsItsOutputOpen() throws Exception {
    Path pid = dir.resolve("pid");
    String script = "sleep 300 & echo $! > " + pid + "; echo started; wait";
    Tools.Result r =
        assertTimeoutPreemptively(
            Duration.ofSeconds(20), () -> Tools.run(List.of("sh", "-c", script), 1000));
    assertThat(r.ok()).isFalse();
    assertThat(r.output()).contains("timed out");
    long child = Long.parseLong(Files.readString(pid).trim());
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true));
  }

  @Test
  void aHelperThatEndsIsNotHeldUpByADaemonItLeftBehind() throws Exception {
    Path pid = dir.resolve("pid");
    String script = "sleep 300 & echo $! > " + pid + "; echo done";
    Tools.Result r =
        assertTimeoutPreemptively(
            Duration.ofSeconds(20), () -> Tools.run(List.of("sh", "-c", script), 1000));
    assertThat(r.ok()).isTrue();
    assertThat(r.output()).isEqualTo("done");
    ProcessHandle.of(Long.parseLong(Files.readString(pid).trim()))
        .ifPresent(ProcessHandle::destroyForcibly);
  }
}
