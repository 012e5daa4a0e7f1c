package io.hpcbridge.bridge.it;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real bridge (the shaded jar the build produced) running {@code serve} as its own process, so
 * tests can stop it, kill -9 it and start it again on the same state file.
 */
public final class BridgeProcess implements AutoCloseable {
  private final Path dir;
  private final Path config;
  private final Path log;
  private final int kubeletPort;
  private Process process;

  BridgeProcess(String nodeName, Path dir, Path kubeconfig, Path clientCa, String extraYaml)
      throws IOException {
    this(nodeName, "local", dir, kubeconfig, clientCa, extraYaml);
  }

  /**
   * @param backend the backend name
   * @param extraYaml appended to the config, e.g. a {@code backends:} section
   */
  public BridgeProcess(
      String nodeName, String backend, Path dir, Path kubeconfig, Path clientCa, String extraYaml)
      throws IOException {
    this.dir = dir;
    this.kubeletPort = freePort();
    this.config = dir.resolve("bridge.yaml");
    this.log = dir.resolve("bridge.log");
    Files.createDirectories(dir);
    Files.writeString(
        config,
        String.join(
            "\n",
            "nodeName: " + nodeName,
            "backend: " + backend,
            "stateFile: " + dir.resolve("state.db"),
            "dataDir: " + dir.resolve("data"),
            "kubeconfig: " + kubeconfig,
            "node:",
            "  address: 127.0.0.1",
            "  leaseDuration: 20s",
            "  leaseRenewInterval: 5s",
            "  statusUpdateInterval: 20s",
            "pods:",
            "  pollInterval: 1s",
            "kubelet:",
            "  bindAddress: 127.0.0.1",
            "  port: " + kubeletPort,
            "  clientCaFile: " + clientCa,
            extraYaml == null ? "" : extraYaml,
            ""));
  }

  static Path jar() {
    Path p = Path.of("target", "hpc-bridge.jar").toAbsolutePath();
    if (!Files.isRegularFile(p)) {
      throw new IllegalStateException(
          "the shaded jar is missing: " + p + " (run the package phase first)");
    }
    return p;
  }

  BridgeProcess start() throws IOException {
    return start(Map.of());
  }

  /** Starts the process with extra environment variables, e.g. {@code HPC_BRIDGE_FAILPOINTS}. */
  public BridgeProcess start(Map<String, String> env) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-jar");
    cmd.add(jar().toString());
    cmd.add("serve");
    cmd.add("--config");
    cmd.add(config.toString());
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
    pb.environment().put("HPC_BRIDGE_LOG_LEVEL", "DEBUG");
    pb.environment().putAll(env);
    Files.writeString(
        log,
        "---- start" + (env.isEmpty() ? "" : " " + env) + " ----\n",
        java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.APPEND);
    process = pb.start();
    return this;
  }

  /** SIGKILL: no shutdown hook runs, exactly like a crash. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  /** SIGTERM and wait. */
  public void stop() throws InterruptedException {
    if (process != null && process.isAlive()) {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }

  boolean alive() {
    return process != null && process.isAlive();
  }

  int kubeletPort() {
    return kubeletPort;
  }

  public Path dir() {
    return dir;
  }

  public String log() {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** The last lines of the bridge log, for assertion messages. */
  public String tail() {
    String[] lines = log().split("\n");
    return String.join(
        "\n", java.util.Arrays.copyOfRange(lines, Math.max(0, lines.length - 60), lines.length));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  static Duration timeout(int seconds) {
    return Duration.ofSeconds(seconds);
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
