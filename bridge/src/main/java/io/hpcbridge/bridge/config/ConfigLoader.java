package io.hpcbridge.bridge.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.hpcbridge.backend.SettingsBinder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads {@link BridgeConfig} from YAML, applies {@code HPC_BRIDGE_*} environment overrides to the
 * parsed tree, then binds it with {@link SettingsBinder} (the grammar every backend uses too).
 * Unknown keys and bad values fail with one line naming the key.
 */
public final class ConfigLoader {

  private ConfigLoader() {}

  /**
   * The default home: {@code $HPC_BRIDGE_HOME}, else {@code $XDG_STATE_HOME/hpc-bridge}, else
   * {@code ~/.local/state/hpc-bridge}.
   */
  public static Path defaultHome(Map<String, String> env) {
    if (env.get("HPC_BRIDGE_HOME") != null) {
      return Path.of(env.get("HPC_BRIDGE_HOME"));
    }
    String xdg = env.get("XDG_STATE_HOME");
    Path base =
        xdg != null && !xdg.isEmpty()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".local", "state");
    return base.resolve("hpc-bridge");
  }

  public static BridgeConfig load(Path file, Map<String, String> env) {
    Map<String, Object> raw = new LinkedHashMap<>();
    if (file != null) {
      try {
        Object parsed = parse(Files.readAllBytes(file));
        if (parsed != null && !(parsed instanceof Map)) {
          throw new ConfigException(file.toString(), "must be a YAML mapping");
        }
        if (parsed != null) {
          raw.putAll(castMap(parsed, file.toString()));
        }
      } catch (JsonProcessingException e) {
        throw new ConfigException(String.valueOf(file), "not valid YAML: " + oneLine(e));
      } catch (NoSuchFileException e) {
        throw new ConfigException(String.valueOf(file), "no such file");
      } catch (IOException e) {
        throw new ConfigException(String.valueOf(file), "cannot read: " + e);
      }
    }
    for (String key : BridgeConfig.ENV_KEYS) {
      String name =
          "HPC_BRIDGE_" + key.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase();
      if (env.containsKey(name)) {
        put(raw, key, env.get(name));
      }
    }
    return build(raw, env);
  }

  /**
   * The parser's complaint and where, on one line: "mapping values are not allowed here (line 2,
   * column 10)". YAML parser messages span several lines: context, problem, each followed by an
   * indented excerpt; the unindented lines are kept.
   */
  private static String oneLine(JsonProcessingException e) {
    String original =
        e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
    String msg =
        String.join(
            "; ",
            original
                .lines()
                .filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0)))
                .toList());
    if (msg.isEmpty()) {
      msg = original.strip().lines().findFirst().orElse("").strip();
    }
    JsonLocation at = e.getLocation();
    return at == null
        ? msg
        : msg + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
  }

  /** The YAML document, or null for an empty file (or one with only comments). */
  private static Object parse(byte[] yaml) throws IOException {
    ObjectMapper mapper = new ObjectMapper(new YAMLFactory());
    try (JsonParser p = mapper.createParser(yaml)) {
      return p.nextToken() == null ? null : mapper.readValue(p, Object.class);
    }
  }

  @SuppressWarnings("unchecked")
  private static void put(Map<String, Object> raw, String dotted, String value) {
    String[] parts = dotted.split("\\.");
    Map<String, Object> m = raw;
    for (int i = 0; i < parts.length - 1; i++) {
      Object next = m.get(parts[i]);
      if (!(next instanceof Map)) {
        next = new LinkedHashMap<String, Object>();
        m.put(parts[i], next);
      } else {
        next = new LinkedHashMap<>((Map<String, Object>) next);
        m.put(parts[i], next);
      }
      m = (Map<String, Object>) next;
    }
    m.put(parts[parts.length - 1], value);
  }

  private static BridgeConfig build(Map<String, Object> raw, Map<String, String> env) {
    BridgeConfig c;
    try {
      c = SettingsBinder.bind(raw, BridgeConfig.class, "");
    } catch (IllegalArgumentException e) {
      // "key.path: problem" as one line
      String m = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      int colon = m.indexOf(": ");
      throw colon > 0
          ? new ConfigException(m.substring(0, colon), m.substring(colon + 2))
          : new ConfigException("config", m);
    }
    return c.withHome(defaultHome(env));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> castMap(Object v, String key) {
    if (!(v instanceof Map)) {
      throw new ConfigException(key, "must be a mapping");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    ((Map<Object, Object>) v).forEach((k, x) -> out.put(String.valueOf(k), x));
    return out;
  }

  /** For messages: the known keys. */
  public static List<String> envNames() {
    return BridgeConfig.ENV_KEYS.stream()
        .map(
            k ->
                "HPC_BRIDGE_"
                    + k.replaceAll("([a-z])([A-Z])", "$1_$2").replace('.', '_').toUpperCase())
        .toList();
  }
}
