package io.hpcbridge.backend.docker;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads Docker's container list entries ({@code State} and the human {@code Status} such as {@code
 * Up 5 minutes} or {@code Exited (0) 3 seconds ago}) to decide whether a container changed since it
 * was last inspected, so the poller inspects only what changed.
 *
 * <p>A restart under a restart policy can happen entirely between two polls; it shows as an uptime
 * shorter than the time since the last inspect. Uptime is compared with the bridge's own monotonic
 * clock, so clock skew between the bridge and a Docker host does not matter.
 */
public final class ListStatus {

  private ListStatus() {}

  /** What the list said when the container was last inspected. */
  public record Seen(String key, long seenAtNanos, Duration upAtLeast) {}

  /** State and status without the parts that only age. */
  static String key(String state, String status) {
    String s = status == null ? "" : status.trim();
    Matcher m = Pattern.compile("^(Exited|Restarting) \\((-?\\d+)\\).*").matcher(s);
    if (m.matches()) {
      s = m.group(1) + " (" + m.group(2) + ")";
    } else if (s.startsWith("Up ")) {
      s = s.contains("(Paused)") ? "Up (Paused)" : "Up";
    }
    return (state == null ? "" : state) + "|" + s;
  }

  static Seen seen(String state, String status, long nowNanos) {
    Duration up = uptime(status, false);
    return new Seen(key(state, status), nowNanos, up == null ? Duration.ZERO : up);
  }

  /** True when the container must be inspected again. */
  static boolean changed(Seen prev, String state, String status, long nowNanos) {
    if (prev == null || !prev.key().equals(key(state, status))) {
      return true;
    }
    Duration upper = uptime(status, true);
    if (upper == null) {
      return false;
    }
    Duration expected = prev.upAtLeast().plusNanos(nowNanos - prev.seenAtNanos());
    return upper.plusSeconds(2).compareTo(expected) < 0;
  }

  private static final Pattern EXITED = Pattern.compile("^Exited \\((-?\\d+)\\).*");

  /** The exit code in an {@code Exited (3) 2 seconds ago} status, or null. */
  static Integer exitCode(String status) {
    Matcher m = EXITED.matcher(status == null ? "" : status.trim());
    return m.matches() ? Integer.valueOf(m.group(1)) : null;
  }

  private static final Pattern UP =
      Pattern.compile(
          "^Up (Less than a second|About a minute|About an hour|(\\d+)"
              + " (second|minute|hour|day|week|month|year)s?)\\b.*");

  /**
   * The uptime an {@code Up ...} status stands for: its lower ({@code upper=false}) or upper bound
   * (Docker rounds down to the unit); null when the status is not {@code Up}.
   */
  static Duration uptime(String status, boolean upper) {
    if (status == null) {
      return null;
    }
    Matcher m = UP.matcher(status.trim());
    if (!m.matches()) {
      return null;
    }
    String what = m.group(1);
    switch (what) {
      case "Less than a second":
        return upper ? Duration.ofSeconds(1) : Duration.ZERO;
      case "About a minute":
        return upper ? Duration.ofSeconds(120) : Duration.ofSeconds(60);
      case "About an hour":
        return upper ? Duration.ofHours(2) : Duration.ofHours(1);
      default:
        break;
    }
    long n = Long.parseLong(m.group(2)) + (upper ? 1 : 0);
    return switch (m.group(3)) {
      case "second" -> Duration.ofSeconds(n);
      case "minute" -> Duration.ofMinutes(n);
      case "hour" -> Duration.ofHours(n);
      case "day" -> Duration.ofDays(n);
      case "week" -> Duration.ofDays(7 * n);
      case "month" -> Duration.ofDays(30 * n);
      default -> Duration.ofDays(365 * n);
    };
  }
}
