package io.hpcbridge.backend;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses values of backend settings: Kubernetes quantities ({@code 8}, {@code 500m}, {@code 16Gi})
 * and durations ({@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 7d}, plain seconds,
 * ISO-8601). Failures are {@link IllegalArgumentException}s the caller prefixes with its key.
 */
public final class SettingValues {

  private SettingValues() {}

  private static final Pattern QUANTITY =
      Pattern.compile("^([0-9]+(?:\\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$");

  private static final Map<String, BigDecimal> SUFFIX =
      Map.ofEntries(
          Map.entry("", BigDecimal.ONE),
          Map.entry("m", new BigDecimal("0.001")),
          Map.entry("k", BigDecimal.TEN.pow(3)),
          Map.entry("M", BigDecimal.TEN.pow(6)),
          Map.entry("G", BigDecimal.TEN.pow(9)),
          Map.entry("T", BigDecimal.TEN.pow(12)),
          Map.entry("P", BigDecimal.TEN.pow(15)),
          Map.entry("E", BigDecimal.TEN.pow(18)),
          Map.entry("Ki", BigDecimal.valueOf(2).pow(10)),
          Map.entry("Mi", BigDecimal.valueOf(2).pow(20)),
          Map.entry("Gi", BigDecimal.valueOf(2).pow(30)),
          Map.entry("Ti", BigDecimal.valueOf(2).pow(40)),
          Map.entry("Pi", BigDecimal.valueOf(2).pow(50)),
          Map.entry("Ei", BigDecimal.valueOf(2).pow(60)));

  /** The quantity's value in base units: {@code 500m} → 0.5, {@code 2Ki} → 2048. */
  static BigDecimal quantity(String text) {
    Matcher m = QUANTITY.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException("not a quantity: '" + text + "'");
    }
    String suffix = m.group(2) == null ? "" : m.group(2);
    return new BigDecimal(m.group(1)).multiply(SUFFIX.get(suffix));
  }

  /** CPU in millicores: {@code 8} → 8000, {@code 500m} → 500, {@code 1.5} → 1500. */
  public static long cpuMillis(String text) {
    return ResourceQuantity.parse(text).cpuMillis();
  }

  /** Bytes: {@code 16Gi}, {@code 512M}, {@code 1000}. */
  public static long bytes(String text) {
    return ResourceQuantity.parse(text).bytes();
  }

  private static final Pattern DURATION = Pattern.compile("^([0-9]+)(ms|s|m|h|d)?$");

  /** {@code 500ms}, {@code 10s}, {@code 2m}, {@code 1h}, a plain number of seconds, or ISO-8601. */
  public static Duration duration(String text) {
    String t = text.trim();
    if (t.startsWith("P") || t.startsWith("p")) {
      try {
        return Duration.parse(t);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("not a duration: '" + text + "'");
      }
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "not a duration: '" + text + "' (e.g. 500ms, 10s, 2m, 24h, 7d)");
    }
    String unit = m.group(2) == null ? "s" : m.group(2);
    try {
      long n = Long.parseLong(m.group(1));
      Duration d =
          switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            case "d" -> Duration.ofDays(n);
            default -> Duration.ofSeconds(n);
          };
      d.toMillis(); // every user of a duration needs it in milliseconds
      return d;
    } catch (NumberFormatException | ArithmeticException e) {
      throw new IllegalArgumentException("is too large: '" + text + "'");
    }
  }
}
