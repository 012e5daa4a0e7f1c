package io.hpcbridge.bridge;

import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.config.ConfigLoader;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --config} option shared by all commands. */
final class ConfigOption {
  @Option(
      names = {"-c", "--config"},
      description =
          "Bridge config (YAML). Default: $HPC_BRIDGE_CONFIG, else built-in defaults (local"
              + " backend).")
  Path file;

  @Option(names = "--backend", description = "Override the configured backend.")
  String backend;

  BridgeConfig load() {
    Path f = file;
    if (f == null && System.getenv("HPC_BRIDGE_CONFIG") != null) {
      f = Path.of(System.getenv("HPC_BRIDGE_CONFIG"));
    }
    var env = new java.util.HashMap<>(System.getenv());
    if (backend != null) {
      env.put("HPC_BRIDGE_BACKEND", backend);
    }
    return ConfigLoader.load(f, env);
  }
}
