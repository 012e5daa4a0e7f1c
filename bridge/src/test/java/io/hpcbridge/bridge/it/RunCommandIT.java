package io.hpcbridge.bridge.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command, as a new user runs it: the example Job on the local backend. */
class RunCommandIT {
  @TempDir Path home;

  @Test
  void theExampleJobRunsWithoutACluster() throws Exception {
    Path example =
        Path.of("..", "examples", "local", "hello-job.yaml").toAbsolutePath().normalize();
    Path out = home.resolve("out");
    ProcessBuilder pb =
        new ProcessBuilder(
                List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-jar",
                    BridgeProcess.jar().toString(),
                    "run",
                    example.toString()))
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .directory(home.toFile());
    pb.environment().put("HPC_BRIDGE_HOME", home.resolve("state").toString());
    Process p = pb.start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("run finished").isTrue();
    String output = Files.readString(out);
    assertThat(p.exitValue()).as(output).isZero();
    for (int i = 0; i < 3; i++) {
      assertThat(output)
          .containsPattern("Hello from hpc-bridge: pod hello-" + i + "-\\w+, index " + i);
    }
  }
}
