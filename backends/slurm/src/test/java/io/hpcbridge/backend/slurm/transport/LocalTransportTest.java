package io.hpcbridge.backend.slurm.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Every command is bounded in time and output size, whatever it does. */
class LocalTransportTest {

  @Test
  void runsBashWithStdinAndKeepsTheOutputAsBytes() throws Exception {
    Transport t = new LocalTransport(Duration.ofSeconds(10));
    Transport.Result r = t.exec("cat; printf '\\377'; echo oops >&2; exit 3", "in\n".getBytes());
    assertThat(r.exitCode()).isEqualTo(3);
    assertThat(r.out()).containsExactly('i', 'n', '\n', 0xff);
    assertThat(r.stderr()).isEqualTo("oops\n");
  }

  @Test
  void aCommandThatHangsIsKilledAtTheTimeout() {
    Transport t = new LocalTransport(Duration.ofSeconds(1));
    Instant start = Instant.now();
    // A FIFO nobody writes: the read blocks forever unless timeout(1) ends it.
    assertThatThrownBy(
            () -> t.exec("d=$(mktemp -d); mkfifo \"$d/f\"; cat \"$d/f\"; rm -r \"$d\"", null))
        .isInstanceOf(BackendException.Transient.class)
        .hasMessageContaining("timed out");
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
  }

  @Test
  void aCommandThatPrintsTooMuchFails() {
    Transport t = new LocalTransport(Duration.ofSeconds(20));
    assertThatThrownBy(() -> t.exec("head -c " + (Transport.MAX_OUTPUT + 1) + " /dev/zero", null))
        .isInstanceOf(BackendException.Transient.class)
        .hasMessageContaining("more than " + Transport.MAX_OUTPUT + " bytes");
    // Endless output is stopped as soon as it passes the limit, not at the timeout.
    Instant start = Instant.now();
    assertThatThrownBy(() -> t.exec("yes", null))
        .isInstanceOf(BackendException.Transient.class)
        .hasMessageContaining("more than");
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(15));
  }

  @Test
  void aFileIsNeverWrittenSetuidSetgidOrSticky() {
    // A pod's volume file mode, whatever it asks for, keeps only the permission bits.
    assertThat(new Transport.FileWrite("/x", new byte[0], 07755).mode()).isEqualTo(0755);
    assertThat(new Transport.FileWrite("/x", new byte[0], 0600).mode()).isEqualTo(0600);
  }
}
