package io.hpcbridge.backend.slurm.transport;

import io.hpcbridge.backend.BackendException;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * How many channels of the one SSH session may be open at once. sshd refuses more than {@code
 * MaxSessions} (10 by default) per connection, and a refused channel fails whatever asked for it:
 * so at most {@code max} are opened, and log reads (which a busy {@code kubectl logs} may keep
 * going) get at most {@code max - reserved} of them, leaving the rest to observe, submit and
 * cancel.
 */
final class ChannelLimit {
  private final int max;
  private final Semaphore all;
  private final Semaphore logs;

  /**
   * @param max channels open at once (at least 2)
   */
  ChannelLimit(int max) {
    if (max < 2) {
      throw new IllegalArgumentException("at least 2 channels, got " + max);
    }
    this.max = max;
    this.all = new Semaphore(max, true);
    this.logs = new Semaphore(max - reserved(max), true);
  }

  /** Channels only commands other than log reads may use: a quarter, at least one. */
  static int reserved(int max) {
    return Math.max(1, max / 4);
  }

  /** A channel taken; closing it gives it back. */
  interface Permit extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * Waits at most {@code wait} for a channel of {@code lane}.
   *
   * @throws BackendException.Transient when none became free in time
   */
  Permit acquire(Transport.Lane lane, Duration wait, String where)
      throws BackendException.Transient {
    long deadline = System.nanoTime() + wait.toNanos();
    try {
      if (lane == Transport.Lane.LOGS && !logs.tryAcquire(wait.toNanos(), TimeUnit.NANOSECONDS)) {
        throw busy(lane, where, wait);
      }
      if (!all.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        if (lane == Transport.Lane.LOGS) {
          logs.release();
        }
        throw busy(lane, where, wait);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendException.Transient("interrupted while waiting for an SSH channel", e);
    }
    return () -> {
      all.release();
      if (lane == Transport.Lane.LOGS) {
        logs.release();
      }
    };
  }

  private BackendException.Transient busy(Transport.Lane lane, String where, Duration wait) {
    return new BackendException.Transient(
        where
            + ": no SSH channel became free in "
            + wait.toSeconds()
            + " s ("
            + (lane == Transport.Lane.LOGS
                ? (max - reserved(max)) + " for log reads"
                : max + " in all")
            + " are busy; ssh.maxChannels)");
  }
}
