package io.hpcbridge.bridge.kubelet;

import io.hpcbridge.backend.LogOptions;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Parses the query of {@code GET /containerLogs/...} into {@link LogOptions}, with the kubelet's
 * validation rules. Unknown parameters are ignored; of a repeated parameter the first value counts.
 */
final class LogQuery {

  private LogQuery() {}

  /**
   * @param rawQuery the raw (still percent-encoded) query string, or null
   * @throws IllegalArgumentException with a message fit for a 400 response
   */
  static LogOptions parse(String rawQuery) {
    Map<String, String> q = params(rawQuery);
    boolean follow = bool(q, "follow");
    boolean timestamps = bool(q, "timestamps");
    boolean previous = bool(q, "previous");
    Long tail = integer(q, "tailLines");
    if (tail != null && tail < 0) {
      throw new IllegalArgumentException("tailLines: must be greater than or equal to 0");
    }
    if (tail != null && tail > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("tailLines: must be at most " + Integer.MAX_VALUE);
    }
    Long limitBytes = integer(q, "limitBytes");
    if (limitBytes != null && limitBytes < 1) {
      throw new IllegalArgumentException("limitBytes: must be greater than 0");
    }
    Long sinceSeconds = integer(q, "sinceSeconds");
    if (sinceSeconds != null && sinceSeconds < 1) {
      throw new IllegalArgumentException("sinceSeconds: must be greater than 0");
    }
    Instant sinceTime = time(q, "sinceTime");
    if (sinceSeconds != null && sinceTime != null) {
      throw new IllegalArgumentException(
          "at most one of sinceTime or sinceSeconds may be specified");
    }
    return new LogOptions(
        follow,
        tail == null ? null : tail.intValue(),
        timestamps,
        limitBytes,
        sinceSeconds,
        sinceTime,
        previous);
  }

  static Map<String, String> params(String rawQuery) {
    Map<String, String> out = new LinkedHashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return out;
    }
    for (String pair : rawQuery.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String k = eq < 0 ? pair : pair.substring(0, eq);
      String v = eq < 0 ? "" : pair.substring(eq + 1);
      try {
        out.putIfAbsent(
            URLDecoder.decode(k, StandardCharsets.UTF_8),
            URLDecoder.decode(v, StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("malformed query parameter '" + pair + "'");
      }
    }
    return out;
  }

  private static boolean bool(Map<String, String> q, String key) {
    String v = q.get(key);
    if (v == null) {
      return false;
    }
    switch (v.toLowerCase(Locale.ROOT)) {
      case "":
      case "true":
      case "t":
      case "1":
      case "yes":
      case "y":
        return true;
      case "false":
      case "f":
      case "0":
      case "no":
      case "n":
        return false;
      default:
        throw new IllegalArgumentException(key + ": '" + v + "' is not a boolean (true or false)");
    }
  }

  private static Long integer(Map<String, String> q, String key) {
    String v = q.get(key);
    if (v == null) {
      return null;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": '" + v + "' is not an integer");
    }
  }

  private static Instant time(Map<String, String> q, String key) {
    String v = q.get(key);
    if (v == null) {
      return null;
    }
    try {
      // An unencoded '+' of a zone offset arrives as a space.
      String t = v.trim().replace(' ', '+');
      return OffsetDateTime.parse(t, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          key + ": '" + v + "' is not an RFC 3339 time such as 2006-01-02T15:04:05Z");
    }
  }
}
