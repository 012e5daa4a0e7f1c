package io.hpcbridge.backend;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * What the bridge gives a backend when it creates it.
 *
 * @param nodeName the Kubernetes node name the bridge registers
 * @param dataDir a directory the backend may keep files in (exists, survives restarts)
 * @param settings the backend's own config section, as parsed from YAML (may be empty)
 * @param nodeAddress the address the node advertises (its InternalIP), or null when unknown
 */
public record BackendContext(
    String nodeName, Path dataDir, Map<String, Object> settings, String nodeAddress) {

  public BackendContext(String nodeName, Path dataDir, Map<String, Object> settings) {
    this(nodeName, dataDir, settings, null);
  }

  public BackendContext {
    Objects.requireNonNull(nodeName, "nodeName");
    Objects.requireNonNull(dataDir, "dataDir");
    settings = settings == null ? Map.of() : Map.copyOf(settings);
  }

  /** A string setting, or {@code fallback} when absent. */
  public String setting(String key, String fallback) {
    Object v = settings.get(key);
    return v == null ? fallback : String.valueOf(v);
  }
}
