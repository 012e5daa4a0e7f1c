package io.hpcbridge.backend;

import java.time.Instant;

/**
 * The kubelet's log query options ({@code GET /containerLogs/...}).
 *
 * @param follow keep streaming until the container terminates
 * @param tailLines only the last N lines, or null for all
 * @param timestamps prefix each line with its RFC 3339 timestamp
 * @param limitBytes stop after this many bytes, or null
 * @param sinceSeconds only lines newer than this many seconds, or null
 * @param sinceTime only lines at or after this time, or null
 * @param previous the log of the previous (restarted) run
 */
public record LogOptions(
    boolean follow,
    Integer tailLines,
    boolean timestamps,
    Long limitBytes,
    Long sinceSeconds,
    Instant sinceTime,
    boolean previous) {

  public static final LogOptions ALL = new LogOptions(false, null, false, null, null, null, false);

  /** The earliest time a line may have, combining sinceSeconds and sinceTime; null for none. */
  public Instant since(Instant now) {
    Instant a = sinceSeconds == null ? null : now.minusSeconds(sinceSeconds);
    if (a == null) {
      return sinceTime;
    }
    return sinceTime == null || a.isAfter(sinceTime) ? a : sinceTime;
  }
}
