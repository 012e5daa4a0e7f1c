package io.hpcbridge.bridge.plan;

import io.fabric8.kubernetes.api.model.Quantity;
import java.math.BigDecimal;
import java.math.RoundingMode;

/** Kubernetes quantities in plain units. */
public final class Quantities {
  private Quantities() {}

  /** CPU in millicores, rounded up; 0 for null. */
  public static long cpuMillis(Quantity q) {
    if (q == null) {
      return 0;
    }
    return Quantity.getAmountInBytes(q)
        .multiply(BigDecimal.valueOf(1000))
        .setScale(0, RoundingMode.CEILING)
        .longValueExact();
  }

  /** An amount (bytes, counts) rounded up; 0 for null. */
  public static long amount(Quantity q) {
    if (q == null) {
      return 0;
    }
    return Quantity.getAmountInBytes(q).setScale(0, RoundingMode.CEILING).longValueExact();
  }

  /** Parses a quantity string; throws IllegalArgumentException with the text on failure. */
  public static Quantity parse(String text) {
    try {
      Quantity q = new Quantity(text);
      Quantity.getAmountInBytes(q);
      return q;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("not a quantity: '" + text + "'");
    }
  }
}
