package io.hpcbridge.bridge.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The docker CLI against the two engines of the test setup ({@code DOCKER_HOST_IT} over TLS, {@code
 * DOCKER2_HOST_IT} on its unix socket), from the environment or {@code scripts/ dockerd-up.sh}'s
 * docker.env: the raw side of the docker rows, and clean-up.
 */
final class DockerCli {
  final String host1;
  final String host2;

  /** the first engine's TLS client certificates */
  final String certs;

  private DockerCli(String host1, String host2, String certs) {
    this.host1 = host1;
    this.host2 = host2;
    this.certs = certs;
  }

  /** Fails when {@code CI=true} and an engine is missing; skips otherwise. */
  static DockerCli fromEnvironment() throws IOException {
    Map<String, String> env = new HashMap<>();
    Path file =
        Path.of(
            System.getenv().getOrDefault("HPC_BRIDGE_IT_DIR", "/tmp/hpc-bridge-it"),
            "docker",
            "docker.env");
    if (Files.isReadable(file)) {
      for (String line : Files.readAllLines(file)) {
        int i = line.indexOf('=');
        if (i > 0 && !line.startsWith("#")) {
          env.put(line.substring(0, i).trim(), line.substring(i + 1).trim());
        }
      }
    }
    for (String k : List.of("DOCKER_HOST_IT", "DOCKER_CERT_PATH_IT", "DOCKER2_HOST_IT")) {
      String v = System.getenv(k);
      if (v != null && !v.isBlank()) {
        env.put(k, v);
      }
      if (env.get(k) == null || env.get(k).isBlank()) {
        String msg = k + " is unset: run scripts/test.sh or scripts/bench.sh";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
          throw new IllegalStateException(msg);
        }
        Assumptions.abort(msg);
      }
    }
    return new DockerCli(
        env.get("DOCKER_HOST_IT"), env.get("DOCKER2_HOST_IT"), env.get("DOCKER_CERT_PATH_IT"));
  }

  /** The command line of {@code docker -H host ARGS}. */
  List<String> command(String host, String... args) {
    List<String> cmd = new ArrayList<>(List.of("docker", "-H", host));
    if (host.startsWith("tcp://")) {
      cmd.addAll(
          List.of(
              "--tlsverify",
              "--tlscacert=" + certs + "/ca.pem",
              "--tlscert=" + certs + "/cert.pem",
              "--tlskey=" + certs + "/key.pem"));
    }
    cmd.addAll(List.of(args));
    return cmd;
  }

  Process start(String host, String... args) throws IOException {
    return new ProcessBuilder(command(host, args))
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
  }

  /** Runs it and returns its output; fails on a non-zero exit. */
  String run(String host, String... args) throws IOException, InterruptedException {
    Process p = start(host, args);
    return output(p, String.join(" ", args));
  }

  static String output(Process p, String what) throws IOException, InterruptedException {
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("docker " + what + ": timed out");
    }
    String s = new String(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      throw new IllegalStateException("docker " + what + ": exit " + p.exitValue() + ": " + s);
    }
    return s;
  }

  /** Removes every container (and its anonymous volumes) with this label on both engines. */
  void removeLabelled(String label) {
    for (String host : List.of(host1, host2)) {
      try {
        List<String> ids =
            run(host, "ps", "-aq", "--filter", "label=" + label)
                .lines()
                .filter(l -> !l.isBlank())
                .toList();
        if (!ids.isEmpty()) {
          List<String> args = new ArrayList<>(List.of("rm", "-f", "-v"));
          args.addAll(ids);
          run(host, args.toArray(String[]::new));
        }
      } catch (Exception e) {
        System.out.println("clean-up of " + label + " on " + host + ": " + e.getMessage());
      }
    }
  }
}
