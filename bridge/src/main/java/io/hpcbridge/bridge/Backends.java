package io.hpcbridge.bridge;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendFactory;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.config.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** Finds backends with {@link ServiceLoader}; adding one needs no bridge code. */
public final class Backends {
  private Backends() {}

  public static TreeMap<String, BackendFactory> available() {
    TreeMap<String, BackendFactory> out = new TreeMap<>();
    for (BackendFactory f : ServiceLoader.load(BackendFactory.class)) {
      out.put(f.name(), f);
    }
    return out;
  }

  public static Backend create(BridgeConfig cfg) {
    var all = available();
    BackendFactory f = all.get(cfg.backend());
    if (f == null) {
      throw new ConfigException(
          "backend",
          "unknown backend '"
              + cfg.backend()
              + "' (available: "
              + String.join(", ", all.keySet())
              + ")");
    }
    try {
      Files.createDirectories(cfg.dataDir());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      String address = cfg.nodeAddress();
      return f.create(
          new BackendContext(cfg.nodeName(), cfg.dataDir(), cfg.backendSettings(), address));
    } catch (IllegalArgumentException e) {
      String m = e.getMessage() == null ? e.toString() : e.getMessage();
      // Backends name the key themselves ("backends.slurm.ssh.host: ..."); keep one prefix.
      throw m.startsWith("backends.")
          ? new ConfigException(
              m.substring(0, m.indexOf(':') < 0 ? m.length() : m.indexOf(':')),
              m.indexOf(':') < 0 ? "invalid" : m.substring(m.indexOf(':') + 1).strip())
          : new ConfigException("backends." + cfg.backend(), m);
    }
  }
}
