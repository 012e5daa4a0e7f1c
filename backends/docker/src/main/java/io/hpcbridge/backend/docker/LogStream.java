package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A container's log as an {@link InputStream}, fed by docker-java's frame callback. The queue is
 * bounded (64 frames; Docker splits log lines at 16 KiB), so a slow reader slows the daemon's
 * stream instead of filling memory. Stops after {@code limitBytes} (the kubelet's limitBytes),
 * closes the Docker stream when closed, and ends with an error when the backend gives up on it
 * ({@link #fail}: its host stopped answering, its pod was released).
 */
final class LogStream extends InputStream {
  private static final byte[] END = new byte[0];

  private final BlockingQueue<byte[]> queue = new LinkedBlockingQueue<>(64);
  private final ResultCallback.Adapter<Frame> callback;
  private long remaining;
  private byte[] current;
  private int pos;
  private volatile boolean closed;
  private volatile Throwable error;
  private boolean ended;

  LogStream(Long limitBytes) {
    this.remaining = limitBytes == null || limitBytes < 0 ? Long.MAX_VALUE : limitBytes;
    this.callback =
        new ResultCallback.Adapter<>() {
          @Override
          public void onNext(Frame frame) {
            byte[] p = frame.getPayload();
            if (p != null && p.length > 0) {
              put(p);
            }
          }

          @Override
          public void onError(Throwable t) {
            error = t;
            put(END);
          }

          @Override
          public void onComplete() {
            put(END);
          }
        };
  }

  ResultCallback.Adapter<Frame> callback() {
    return callback;
  }

  private volatile Runnable onClose = () -> {};
  private final java.util.concurrent.atomic.AtomicBoolean finished =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** Runs once when the stream has ended or is closed. */
  void onClose(Runnable r) {
    onClose = r;
  }

  private void finished() {
    if (finished.compareAndSet(false, true)) {
      onClose.run();
    }
  }

  /** Ends the stream for its reader with {@code why}, and closes the Docker stream. */
  void fail(String why) {
    error = new IOException(why);
    try {
      callback.close();
    } catch (IOException e) {
      // closing
    }
    queue.clear();
    queue.offer(END);
  }

  private void put(byte[] b) {
    try {
      while (!closed && !queue.offer(b, 200, TimeUnit.MILLISECONDS)) {
        // wait for the reader
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private boolean fill() throws IOException {
    while (current == null || pos >= current.length) {
      if (ended || closed || remaining <= 0) {
        return false;
      }
      try {
        current = queue.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while reading a container log", e);
      }
      pos = 0;
      if (current == END) {
        ended = true;
        current = null;
        finished();
        Throwable t = error;
        if (t != null && !closed) {
          throw new IOException("container log stream failed: " + DockerHost.describe(t), t);
        }
        return false;
      }
    }
    return true;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n <= 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    if (remaining <= 0) {
      close();
      return -1;
    }
    if (!fill()) {
      if (remaining <= 0) {
        close();
      }
      return -1;
    }
    int n = (int) Math.min(Math.min(len, current.length - pos), remaining);
    System.arraycopy(current, pos, b, off, n);
    pos += n;
    remaining -= n;
    return n;
  }

  @Override
  public int available() {
    return current == null ? 0 : (int) Math.min(current.length - pos, remaining);
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    queue.clear();
    try {
      callback.close();
    } finally {
      finished();
    }
  }
}
