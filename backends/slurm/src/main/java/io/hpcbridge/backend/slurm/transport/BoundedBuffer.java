package io.hpcbridge.backend.slurm.transport;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;

/** Collects a command's output up to a limit; what comes after is counted and dropped. */
final class BoundedBuffer extends OutputStream {
  private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
  private final int limit;
  private final Runnable onOverflow;
  private long dropped;

  BoundedBuffer(int limit) {
    this(limit, () -> {});
  }

  /** {@code onOverflow} runs once, when the limit is first passed (e.g. to stop the command). */
  BoundedBuffer(int limit, Runnable onOverflow) {
    this.limit = limit;
    this.onOverflow = onOverflow;
  }

  @Override
  public synchronized void write(int b) {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) {
    int room = Math.max(0, limit - kept.size());
    int n = Math.min(room, len);
    kept.write(b, off, n);
    boolean first = dropped == 0 && len > n;
    dropped += len - n;
    if (first) {
      onOverflow.run();
    }
  }

  /** Whether more than the limit was written. */
  synchronized boolean overflowed() {
    return dropped > 0;
  }

  synchronized int size() {
    return kept.size();
  }

  synchronized byte[] bytes() {
    return kept.toByteArray();
  }

  synchronized String text() {
    return kept.toString(java.nio.charset.StandardCharsets.UTF_8);
  }
}
