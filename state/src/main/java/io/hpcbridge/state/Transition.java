package io.hpcbridge.state;

import io.hpcbridge.backend.Observed.Phase;
import java.time.Instant;

/**
 * One entry of a pod's append-only history. {@code from} is null for the intent; {@code detail}
 * starts with the event: {@code intent}, {@code submitted}, {@code observed}, {@code failed},
 * {@code deleting} or {@code gone}.
 */
public record Transition(long seq, String uid, Instant at, Phase from, Phase to, String detail) {

  /** The event word that {@code detail} starts with. */
  public String event() {
    int space = detail.indexOf(' ');
    return space < 0 ? detail : detail.substring(0, space);
  }

  public boolean isPhaseChange() {
    return to != from;
  }
}
