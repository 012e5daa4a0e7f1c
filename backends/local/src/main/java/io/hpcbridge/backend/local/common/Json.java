package io.hpcbridge.backend.local.common;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.BeanProperty;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.deser.ContextualDeserializer;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The JSON of the pod directory. Plain Jackson on the SPI's records (no annotations there): times
 * as ISO-8601 text, {@link Optional} as its value or null, unknown fields ignored so older
 * supervisors and newer bridges can read each other's files.
 */
public final class Json {

  public static final ObjectMapper MAPPER = create();

  private Json() {}

  public static ObjectMapper create() {
    SimpleModule optional = new SimpleModule("optional");
    optional.addSerializer(new OptionalSerializer());
    optional.addDeserializer(Optional.class, new OptionalDeserializer(null));
    return JsonMapper.builder()
        .addModule(new JavaTimeModule())
        .addModule(optional)
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .build();
  }

  public static byte[] write(Object value) throws IOException {
    return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(value);
  }

  public static <T> T read(Path file, Class<T> type) throws IOException {
    return MAPPER.readValue(Files.readAllBytes(file), type);
  }

  /** The file's content, or null when it does not exist. */
  public static <T> T readIfExists(Path file, Class<T> type) throws IOException {
    try {
      return read(file, type);
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @SuppressWarnings({"rawtypes", "unchecked"})
  private static final class OptionalSerializer extends StdSerializer<Optional> {
    OptionalSerializer() {
      super(Optional.class);
    }

    @Override
    public void serialize(Optional value, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      if (value.isPresent()) {
        provider.defaultSerializeValue(value.get(), gen);
      } else {
        gen.writeNull();
      }
    }
  }

  @SuppressWarnings("rawtypes")
  private static final class OptionalDeserializer extends JsonDeserializer<Optional>
      implements ContextualDeserializer {
    private final JavaType content;

    OptionalDeserializer(JavaType content) {
      this.content = content;
    }

    @Override
    public JsonDeserializer<?> createContextual(
        DeserializationContext ctxt, BeanProperty property) {
      JavaType t = property != null ? property.getType() : ctxt.getContextualType();
      JavaType c = t == null ? null : t.containedType(0);
      return new OptionalDeserializer(c == null ? ctxt.constructType(Object.class) : c);
    }

    @Override
    public Optional deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
      JavaType type = content == null ? ctxt.constructType(Object.class) : content;
      return Optional.ofNullable(ctxt.readValue(p, type));
    }

    @Override
    public Optional getNullValue(DeserializationContext ctxt) {
      return Optional.empty();
    }

    @Override
    public Object getAbsentValue(DeserializationContext ctxt) {
      return Optional.empty();
    }
  }
}
