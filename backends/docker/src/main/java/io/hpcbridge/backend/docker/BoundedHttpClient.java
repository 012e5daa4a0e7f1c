package io.hpcbridge.backend.docker;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A Docker HTTP client whose callers wait a short, set time for one of its connections. docker-java
 * does not expose the pool's own wait (Apache's connection request timeout, 3 minutes), so a full
 * pool would hold every caller for minutes; here a request takes one of {@code size} permits (as
 * many as the pool has connections) and gives it back when its response is closed or read to its
 * end. A caller that waited {@code wait} in vain gets {@link Busy}: a transient failure, not a sign
 * that the host is down.
 */
final class BoundedHttpClient implements DockerHttpClient {

  /** Every connection of the pool was in use for the whole wait. */
  static final class Busy extends RuntimeException {
    Busy(String message) {
      super(message);
    }
  }

  private final DockerHttpClient delegate;
  private final Semaphore permits;
  private final Duration wait;
  private final String busyMessage;

  /**
   * @param what the connections and their setting, for the error, e.g. {@code "log stream and image
   *     pull connections to docker host h1 (maxStreams)"}
   */
  BoundedHttpClient(DockerHttpClient delegate, int size, Duration wait, String what) {
    this.delegate = delegate;
    this.permits = new Semaphore(size, true);
    this.wait = wait;
    this.busyMessage = "all " + size + " " + what + " were in use for " + wait.toMillis() + " ms";
  }

  /** Permits free now (for tests). */
  int available() {
    return permits.availablePermits();
  }

  @Override
  public Response execute(Request request) {
    try {
      if (!permits.tryAcquire(wait.toNanos(), TimeUnit.NANOSECONDS)) {
        throw new Busy(busyMessage);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Busy("interrupted while waiting: " + busyMessage);
    }
    try {
      return new Held(delegate.execute(request));
    } catch (RuntimeException | Error e) {
      permits.release();
      throw e;
    }
  }

  @Override
  public void close() throws IOException {
    delegate.close();
  }

  /** A response holding its permit until it is closed or its body is read to the end. */
  private final class Held implements Response {
    private final Response response;
    private final AtomicBoolean released = new AtomicBoolean();
    private InputStream body;

    Held(Response response) {
      this.response = response;
    }

    private void release() {
      if (released.compareAndSet(false, true)) {
        permits.release();
      }
    }

    @Override
    public int getStatusCode() {
      return response.getStatusCode();
    }

    @Override
    public Map<String, List<String>> getHeaders() {
      return response.getHeaders();
    }

    @Override
    public String getHeader(String name) {
      return response.getHeader(name);
    }

    @Override
    public synchronized InputStream getBody() {
      if (body == null) {
        body = new Body(response.getBody());
      }
      return body;
    }

    @Override
    public void close() {
      try {
        response.close();
      } finally {
        release();
      }
    }

    /** Gives the permit back where the pool gets its connection back: at the end, or on close. */
    private final class Body extends FilterInputStream {
      Body(InputStream in) {
        super(in);
      }

      @Override
      public int read() throws IOException {
        int b = super.read();
        if (b < 0) {
          release();
        }
        return b;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = super.read(b, off, len);
        if (n < 0) {
          release();
        }
        return n;
      }

      @Override
      public void close() throws IOException {
        try {
          super.close();
        } finally {
          release();
        }
      }
    }
  }
}
