package io.hpcbridge.backend.slurm.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.slurm.transport.Transport.Lane;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** At most max channels at once; log reads never take the quarter kept for everything else. */
class ChannelLimitTest {
  static final Duration SHORT = Duration.ofMillis(50);

  @Test
  void logReadsCannotTakeTheChannelsKeptForObserveSubmitAndCancel() throws Exception {
    ChannelLimit limit = new ChannelLimit(8);
    List<ChannelLimit.Permit> logs = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      logs.add(limit.acquire(Lane.LOGS, SHORT, "ssh x"));
    }
    assertThatThrownBy(() -> limit.acquire(Lane.LOGS, SHORT, "ssh x"))
        .isInstanceOf(BackendException.Transient.class)
        .hasMessageContaining("6 for log reads are busy; ssh.maxChannels");
    ChannelLimit.Permit observe = limit.acquire(Lane.CONTROL, SHORT, "ssh x");
    ChannelLimit.Permit submit = limit.acquire(Lane.CONTROL, SHORT, "ssh x");
    assertThatThrownBy(() -> limit.acquire(Lane.CONTROL, SHORT, "ssh x"))
        .isInstanceOf(BackendException.Transient.class)
        .hasMessageContaining("8 in all are busy");
    // A log read that ends gives its channel to whoever waits, a control command first here.
    logs.remove(0).close();
    ChannelLimit.Permit cancel = limit.acquire(Lane.CONTROL, SHORT, "ssh x");
    assertThatThrownBy(() -> limit.acquire(Lane.LOGS, SHORT, "ssh x"))
        .isInstanceOf(BackendException.Transient.class);
    // Once control commands end, log reads get their share back, never more.
    observe.close();
    submit.close();
    cancel.close();
    logs.add(limit.acquire(Lane.LOGS, SHORT, "ssh x"));
    assertThatThrownBy(() -> limit.acquire(Lane.LOGS, SHORT, "ssh x"))
        .isInstanceOf(BackendException.Transient.class);
    logs.forEach(ChannelLimit.Permit::close);
  }

  @Test
  void controlCommandsMayUseEveryChannel() throws Exception {
    ChannelLimit limit = new ChannelLimit(3);
    assertThat(ChannelLimit.reserved(3)).isEqualTo(1);
    assertThat(ChannelLimit.reserved(2)).isEqualTo(1);
    assertThat(ChannelLimit.reserved(16)).isEqualTo(4);
    List<ChannelLimit.Permit> held = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      held.add(limit.acquire(Lane.CONTROL, SHORT, "ssh x"));
    }
    assertThatThrownBy(() -> limit.acquire(Lane.LOGS, SHORT, "ssh x"))
        .isInstanceOf(BackendException.Transient.class);
    held.forEach(ChannelLimit.Permit::close);
    // A log read that timed out waiting for a channel gave back its share: two can read again.
    held.add(limit.acquire(Lane.LOGS, SHORT, "ssh x"));
    held.add(limit.acquire(Lane.LOGS, SHORT, "ssh x"));
    held.forEach(ChannelLimit.Permit::close);
  }
}
