package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.SettingValues;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a backend's config section: nested YAML maps ({@code ssh: {host: x}}) or flat dotted keys
 * ({@code ssh.host: x}). Every error names the full key, prefixed with {@code backends.slurm.}.
 */
final class Settings {
  private final Map<String, Object> root;

  Settings(Map<String, Object> root) {
    this.root = root == null ? Map.of() : root;
  }

  Object raw(String key) {
    if (root.containsKey(key)) {
      return root.get(key);
    }
    Object cur = root;
    for (String part : key.split("\\.")) {
      if (!(cur instanceof Map<?, ?> m) || !m.containsKey(part)) {
        return null;
      }
      cur = m.get(part);
    }
    return cur;
  }

  static IllegalArgumentException bad(String key, String why) {
    return new IllegalArgumentException("backends.slurm." + key + ": " + why);
  }

  String string(String key, String fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Map || v instanceof List) {
      throw bad(key, "expected a single value, got " + v);
    }
    return String.valueOf(v);
  }

  int integer(String key, int fallback, int min) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    try {
      int i = v instanceof Number n ? n.intValue() : Integer.parseInt(String.valueOf(v).trim());
      if (i < min) {
        throw bad(key, "must be at least " + min + ", got " + i);
      }
      return i;
    } catch (NumberFormatException e) {
      throw bad(key, "not a whole number: " + v);
    }
  }

  boolean bool(String key, boolean fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    return switch (String.valueOf(v).trim().toLowerCase()) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> throw bad(key, "expected true or false, got " + v);
    };
  }

  Duration duration(String key, Duration fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Number n) {
      return Duration.ofSeconds(n.longValue());
    }
    try {
      return SettingValues.duration(String.valueOf(v));
    } catch (IllegalArgumentException e) {
      throw bad(key, "expected a duration like 30s, 5m, 24h or 7d, got " + v);
    }
  }

  /** A list of strings; a single string is split on whitespace. */
  List<String> strings(String key, List<String> fallback) {
    Object v = raw(key);
    if (v == null) {
      return fallback;
    }
    return toStrings(key, v);
  }

  static List<String> toStrings(String key, Object v) {
    List<String> out = new ArrayList<>();
    if (v instanceof List<?> l) {
      for (Object o : l) {
        if (o instanceof Map || o instanceof List) {
          throw bad(key, "expected a list of strings");
        }
        out.add(String.valueOf(o));
      }
    } else if (v instanceof Map) {
      throw bad(key, "expected a list of strings");
    } else {
      for (String s : String.valueOf(v).trim().split("\\s+")) {
        if (!s.isEmpty()) {
          out.add(s);
        }
      }
    }
    return out;
  }

  /** A map section, or empty. */
  Map<String, Object> section(String key) {
    Object v = raw(key);
    if (v == null) {
      return Map.of();
    }
    if (!(v instanceof Map<?, ?> m)) {
      throw bad(key, "expected a map");
    }
    Map<String, Object> out = new LinkedHashMap<>();
    m.forEach((k, val) -> out.put(String.valueOf(k), val));
    return out;
  }
}
