package io.hpcbridge.backend;

/**
 * Creates a {@link Backend}. Implementations are found with {@link java.util.ServiceLoader}, so a
 * new backend needs a {@code META-INF/services/io.hpcbridge.backend.BackendFactory} entry and no
 * bridge code.
 */
public interface BackendFactory {

  /** The name used in config ({@code backend: local}). */
  String name();

  /**
   * Builds the backend. Must fail fast with {@link IllegalArgumentException} naming the config key
   * when the settings are wrong.
   */
  Backend create(BackendContext context);
}
