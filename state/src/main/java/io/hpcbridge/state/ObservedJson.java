package io.hpcbridge.state;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.hpcbridge.backend.Observed;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The stored form of an {@link Observed}: JSON with ISO-8601 times. */
final class ObservedJson {
  private static final Logger log = LoggerFactory.getLogger(ObservedJson.class);

  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private ObservedJson() {}

  static String write(Observed o) {
    try {
      return MAPPER.writeValueAsString(o);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialize an observation", e);
    }
  }

  /** The observation, or empty when none was stored or it cannot be read (logged). */
  static Optional<Observed> read(String uid, String json) {
    if (json == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(MAPPER.readValue(json, Observed.class));
    } catch (JsonProcessingException | RuntimeException e) {
      log.warn(
          "Pod {}: the stored observation cannot be read ({}); ignoring it", uid, e.toString());
      return Optional.empty();
    }
  }
}
