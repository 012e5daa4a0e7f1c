package io.hpcbridge.bridge.policy;

import static io.hpcbridge.backend.SettingsBinder.invalid;

import java.util.List;

/** Lists of user or group ids and ranges in the policy: {@code 1000}, {@code 1000-1999}. */
final class IdRanges {
  private static final long MAX = 4294967294L;

  private IdRanges() {}

  /** The list as written, once each entry parsed; null stays null. */
  static List<String> check(String key, List<String> ranges) {
    if (ranges == null) {
      return null;
    }
    for (String r : ranges) {
      long[] b = bounds(r);
      if (b == null || b[0] > b[1]) {
        throw invalid(key, "expected ids or ranges like 1000 or 1000-1999, got '" + r + "'");
      }
    }
    return List.copyOf(ranges);
  }

  /** Whether {@code id} is in one of the ranges (none when the list is null or empty). */
  static boolean contains(List<String> ranges, long id) {
    if (ranges == null) {
      return false;
    }
    for (String r : ranges) {
      long[] b = bounds(r);
      if (b != null && id >= b[0] && id <= b[1]) {
        return true;
      }
    }
    return false;
  }

  private static long[] bounds(String r) {
    if (r == null || !r.trim().matches("\\d{1,10}(-\\d{1,10})?")) {
      return null;
    }
    String[] p = r.trim().split("-");
    long lo = Long.parseLong(p[0]);
    long hi = p.length > 1 ? Long.parseLong(p[1]) : lo;
    return lo > MAX || hi > MAX ? null : new long[] {lo, hi};
  }
}
