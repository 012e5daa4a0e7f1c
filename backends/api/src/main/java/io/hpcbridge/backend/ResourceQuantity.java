package io.hpcbridge.backend;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Objects;

/**
 * A Kubernetes quantity in a setting ({@code 8}, {@code 500m}, {@code 16Gi}), parsed once with
 * {@link SettingValues}' grammar. Positive by construction.
 */
public record ResourceQuantity(BigDecimal value) {

  public ResourceQuantity {
    Objects.requireNonNull(value, "value");
    if (value.signum() <= 0) {
      throw new IllegalArgumentException("must be positive: '" + value.toPlainString() + "'");
    }
  }

  /** Parses {@code 8}, {@code 500m}, {@code 1.5}, {@code 16Gi}, {@code 512M}. */
  public static ResourceQuantity parse(String text) {
    return new ResourceQuantity(SettingValues.quantity(text));
  }

  /** CPU in millicores, rounded up: {@code 8} → 8000, {@code 500m} → 500. */
  public long cpuMillis() {
    return value
        .multiply(BigDecimal.valueOf(1000))
        .setScale(0, RoundingMode.CEILING)
        .longValueExact();
  }

  /** Bytes (or any count), rounded up: {@code 16Gi} → 17179869184. */
  public long bytes() {
    return value.setScale(0, RoundingMode.CEILING).longValueExact();
  }

  @Override
  public String toString() {
    return value.toPlainString();
  }
}
