package io.hpcbridge.bridge.config;

/** A wrong configuration value; the message names the key. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String key, String problem) {
    super("config: " + key + ": " + problem);
  }
}
