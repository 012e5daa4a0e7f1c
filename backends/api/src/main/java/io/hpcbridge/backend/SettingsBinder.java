package io.hpcbridge.backend;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Binds a section of the YAML config (already parsed into maps, lists and scalars) to an immutable
 * record, for the bridge and for every backend alike: unknown keys are refused, durations and
 * quantities have one grammar ({@link SettingValues}), {@code ~/} in paths is the user's home, and
 * every failure is one {@link IllegalArgumentException} whose message starts with the key's full
 * path, e.g. {@code backends.local.cpus: not a quantity: 'lots'}.
 *
 * <p>Records set their own defaults for absent keys (nulls) in their compact constructor, and check
 * their values there: an {@link IllegalArgumentException} thrown with a message {@code "key:
 * problem"} is reported under that key.
 */
public final class SettingsBinder {

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(grammar())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .disable(MapperFeature.ALLOW_FINAL_FIELDS_AS_MUTATORS)
          .build();

  private SettingsBinder() {}

  /**
   * Binds {@code tree} (a map, or null for an absent section) to {@code type}.
   *
   * @param prefix the section's key path for messages, e.g. {@code backends.local}; empty for the
   *     top level
   */
  public static <T> T bind(Object tree, Class<T> type, String prefix) {
    Object source = tree == null ? Map.of() : tree;
    try {
      return MAPPER.convertValue(source, type);
    } catch (IllegalArgumentException e) {
      throw translate(e, prefix);
    }
  }

  /** A failure of a record's own check, reported under {@code key} (relative to the record). */
  public static IllegalArgumentException invalid(String key, String problem) {
    return new IllegalArgumentException(key + ": " + problem);
  }

  private static IllegalArgumentException translate(IllegalArgumentException e, String prefix) {
    Throwable cause = e.getCause() == null ? e : e.getCause();
    if (!(cause instanceof JsonMappingException m)) {
      return new IllegalArgumentException(join(prefix, "") + e.getMessage(), e);
    }
    String path = path(m);
    String problem;
    if (m instanceof UnrecognizedPropertyException u) {
      String known =
          u.getKnownPropertyIds() == null
              ? ""
              : u.getKnownPropertyIds().stream()
                  .map(String::valueOf)
                  .collect(Collectors.toCollection(TreeSet::new))
                  .stream()
                  .collect(Collectors.joining(", ", " (known: ", ")"));
      problem = "unknown key" + known;
    } else if (m instanceof ValueInstantiationException v && v.getCause() != null) {
      // A record's own check: "key: problem" names a key inside the record.
      String msg = String.valueOf(v.getCause().getMessage());
      int colon = msg.indexOf(": ");
      if (colon > 0 && msg.substring(0, colon).matches("[A-Za-z0-9_.\\[\\]]+")) {
        path = path.isEmpty() ? msg.substring(0, colon) : path + "." + msg.substring(0, colon);
        problem = msg.substring(colon + 2);
      } else {
        problem = msg;
      }
    } else if (m instanceof InvalidFormatException f) {
      problem = expected(f.getTargetType()) + ", got '" + f.getValue() + "'";
    } else if (m instanceof MismatchedInputException mi && mi.getTargetType() != null) {
      problem = expected(mi.getTargetType());
    } else if (m.getCause() instanceof IllegalArgumentException a) {
      problem = a.getMessage();
    } else {
      problem = m.getOriginalMessage();
    }
    return new IllegalArgumentException(join(prefix, path) + problem, e);
  }

  private static String join(String prefix, String path) {
    String p = prefix == null ? "" : prefix;
    if (!p.isEmpty() && !path.isEmpty()) {
      p = path.startsWith("[") ? p + path : p + "." + path;
    } else if (p.isEmpty()) {
      p = path;
    }
    return p.isEmpty() ? "" : p + ": ";
  }

  /** {@code hosts[0].uri} from Jackson's reference chain. */
  private static String path(JsonMappingException m) {
    StringBuilder b = new StringBuilder();
    for (JsonMappingException.Reference r : m.getPath()) {
      if (r.getFieldName() != null) {
        if (b.length() > 0) {
          b.append('.');
        }
        b.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        b.append('[').append(r.getIndex()).append(']');
      }
    }
    return b.toString();
  }

  private static String expected(Class<?> t) {
    if (t == int.class || t == Integer.class || t == long.class || t == Long.class) {
      return "must be a whole number";
    }
    if (t == boolean.class || t == Boolean.class) {
      return "must be true or false";
    }
    if (Map.class.isAssignableFrom(t) || t.isRecord()) {
      return "must be a mapping";
    }
    if (java.util.Collection.class.isAssignableFrom(t)) {
      return "must be a list";
    }
    return "must be a " + t.getSimpleName().toLowerCase(Locale.ROOT);
  }

  private static SimpleModule grammar() {
    SimpleModule m = new SimpleModule("hpc-bridge-settings");
    m.addDeserializer(Duration.class, scalar(Duration.class, SettingValues::duration));
    m.addDeserializer(
        ResourceQuantity.class, scalar(ResourceQuantity.class, ResourceQuantity::parse));
    m.addDeserializer(Path.class, scalar(Path.class, SettingsBinder::path));
    m.addDeserializer(Boolean.class, scalar(Boolean.class, SettingsBinder::bool));
    m.addDeserializer(boolean.class, scalar(Boolean.class, SettingsBinder::bool));
    return m;
  }

  /** {@code ~/x} is under the user's home; anything else as written. */
  static Path path(String text) {
    if (text.startsWith("~/")) {
      return Path.of(System.getProperty("user.home"), text.substring(2));
    }
    return Path.of(text);
  }

  private static Boolean bool(String text) {
    return switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "true", "yes", "1" -> true;
      case "false", "no", "0" -> false;
      default -> throw new IllegalArgumentException("must be true or false, got '" + text + "'");
    };
  }

  private interface Parser<T> {
    T parse(String text);
  }

  /** A deserializer from a YAML scalar (string, number or boolean) through {@code parser}. */
  private static <T> JsonDeserializer<T> scalar(Class<T> type, Parser<T> parser) {
    return new JsonDeserializer<>() {
      @Override
      public T deserialize(JsonParser p, DeserializationContext ctx) throws IOException {
        JsonToken t = p.currentToken();
        if (!t.isScalarValue()) {
          throw JsonMappingException.from(p, "must be a single value, not a list or mapping");
        }
        String text = p.getValueAsString();
        if (text == null || text.isBlank()) {
          return null;
        }
        try {
          return parser.parse(text);
        } catch (RuntimeException e) {
          throw JsonMappingException.from(p, e.getMessage(), e);
        }
      }
    };
  }
}
