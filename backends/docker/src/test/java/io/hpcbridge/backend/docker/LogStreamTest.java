package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class LogStreamTest {
  static Frame f(String s) {
    return new Frame(StreamType.STDOUT, s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void deliversFramesInOrderUntilComplete() throws Exception {
    LogStream s = new LogStream(null);
    s.callback().onNext(f("one\n"));
    s.callback().onNext(f("two\n"));
    s.callback().onComplete();
    assertThat(new String(s.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("one\ntwo\n");
  }

  @Test
  void limitBytesCutsTheStream() throws Exception {
    LogStream s = new LogStream(5L);
    s.callback().onNext(f("one\n"));
    s.callback().onNext(f("two\n"));
    // no onComplete: a followed stream; the limit alone ends it
    assertThat(new String(s.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("one\nt");
  }

  @Test
  void aStreamTheBackendGivesUpOnEndsWithItsReason() throws Exception {
    LogStream s = new LogStream(null);
    int[] closed = new int[1];
    s.onClose(() -> closed[0]++);
    s.callback().onNext(f("one\n"));
    s.fail("docker host h2 stopped answering");
    assertThatThrownBy(s::readAllBytes)
        .isInstanceOf(java.io.IOException.class)
        .hasMessageContaining("docker host h2 stopped answering");
    s.close();
    assertThat(closed[0]).isEqualTo(1);
  }
}
