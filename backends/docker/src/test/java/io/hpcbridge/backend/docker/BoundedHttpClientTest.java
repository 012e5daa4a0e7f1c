package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.transport.DockerHttpClient;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every response gives its connection's permit back exactly once, however docker-java ends it
 * (closing the response, closing or draining its body), and a full pool answers at once.
 */
class BoundedHttpClientTest {

  /** Answers every request with a small body, or fails when told to. */
  static final class Engine implements DockerHttpClient {
    volatile boolean fail;

    @Override
    public Response execute(Request request) {
      if (fail) {
        throw new UncheckedIOException(new java.io.IOException("connection refused"));
      }
      InputStream body = new ByteArrayInputStream(new byte[] {1, 2, 3});
      return new Response() {
        @Override
        public int getStatusCode() {
          return 200;
        }

        @Override
        public Map<String, List<String>> getHeaders() {
          return Map.of();
        }

        @Override
        public InputStream getBody() {
          return body;
        }

        @Override
        public void close() {}
      };
    }

    @Override
    public void close() {}
  }

  static final DockerHttpClient.Request GET =
      DockerHttpClient.Request.builder()
          .method(DockerHttpClient.Request.Method.GET)
          .path("/_ping")
          .build();

  @Test
  void permitsComeBackOnceWhateverEndsTheResponse() throws Exception {
    Engine engine = new Engine();
    BoundedHttpClient c =
        new BoundedHttpClient(engine, 2, Duration.ofMillis(50), "test connections (maxTest)");

    DockerHttpClient.Response closed = c.execute(GET);
    DockerHttpClient.Response drained = c.execute(GET);
    assertThat(c.available()).isZero();
    long t0 = System.nanoTime();
    assertThatThrownBy(() -> c.execute(GET))
        .isInstanceOf(BoundedHttpClient.Busy.class)
        .hasMessage("all 2 test connections (maxTest) were in use for 50 ms");
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));

    closed.close();
    closed.close();
    closed.getBody().close();
    assertThat(c.available()).isEqualTo(1);
    drained.getBody().readAllBytes(); // read to its end: the pool has its connection back
    assertThat(c.available()).isEqualTo(2);
    drained.close();
    assertThat(c.available()).isEqualTo(2);

    engine.fail = true;
    assertThatThrownBy(() -> c.execute(GET)).isInstanceOf(UncheckedIOException.class);
    assertThat(c.available()).isEqualTo(2);
  }
}
