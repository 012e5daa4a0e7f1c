package io.hpcbridge.bridge.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command and collects its combined output. */
final class Shell {
  private Shell() {}

  record Result(int exit, String output) {}

  static Result run(int timeoutSeconds, String... cmd) throws IOException, InterruptedException {
    return run(timeoutSeconds, List.of(cmd));
  }

  static Result run(int timeoutSeconds, List<String> cmd) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
            .start();
    var out = new java.io.ByteArrayOutputStream();
    Thread reader =
        new Thread(
            () -> {
              try {
                p.getInputStream().transferTo(out);
              } catch (IOException ignored) {
                // process ended
              }
            });
    reader.start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      reader.join(5000);
      return new Result(
          -1,
          out.toString(StandardCharsets.UTF_8)
              + "\n(timed out after "
              + timeoutSeconds
              + "s: "
              + cmd
              + ")");
    }
    reader.join(5000);
    return new Result(p.exitValue(), out.toString(StandardCharsets.UTF_8));
  }
}
