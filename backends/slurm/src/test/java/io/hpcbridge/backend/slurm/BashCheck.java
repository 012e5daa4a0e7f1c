package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Runs {@code bash -n} on a script. */
final class BashCheck {
  private BashCheck() {}

  static void assertSyntax(String script) throws Exception {
    Process p = new ProcessBuilder("bash", "-n").redirectErrorStream(true).start();
    try (var out = p.getOutputStream()) {
      out.write(script.getBytes(StandardCharsets.UTF_8));
    }
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("bash -n: " + output + "\n" + script).isZero();
  }
}
