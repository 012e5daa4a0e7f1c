package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ListStatusTest {
  static long s(long seconds) {
    return TimeUnit.SECONDS.toNanos(seconds);
  }

  @Test
  void agingAloneIsNoChange() {
    var seen = ListStatus.seen("running", "Up 3 seconds", s(100));
    assertThat(ListStatus.changed(seen, "running", "Up 33 seconds", s(130))).isFalse();
    assertThat(ListStatus.changed(seen, "running", "Up About a minute", s(170))).isFalse();
    var exited = ListStatus.seen("exited", "Exited (0) 2 seconds ago", s(0));
    assertThat(ListStatus.changed(exited, "exited", "Exited (0) 2 hours ago", s(7200))).isFalse();
  }

  @Test
  void stateOrExitCodeChangesAreChanges() {
    var seen = ListStatus.seen("running", "Up 3 seconds", s(0));
    assertThat(ListStatus.changed(seen, "exited", "Exited (1) 1 second ago", s(5))).isTrue();
    var r = ListStatus.seen("restarting", "Restarting (1) 1 second ago", s(0));
    assertThat(ListStatus.changed(r, "restarting", "Restarting (2) 3 seconds ago", s(2))).isTrue();
    assertThat(ListStatus.changed(null, "running", "Up 1 second", s(0))).isTrue();
  }

  @Test
  void aRestartBetweenPollsShowsAsShorterUptime() {
    var seen = ListStatus.seen("running", "Up 5 minutes", s(0));
    assertThat(ListStatus.changed(seen, "running", "Up 2 seconds", s(60))).isTrue();
    assertThat(ListStatus.changed(seen, "running", "Up 6 minutes", s(60))).isFalse();
  }

  @Test
  void uptimeBounds() {
    assertThat(ListStatus.uptime("Up Less than a second", true)).isEqualTo(Duration.ofSeconds(1));
    assertThat(ListStatus.uptime("Up 1 second", false)).isEqualTo(Duration.ofSeconds(1));
    assertThat(ListStatus.uptime("Up 7 minutes (Paused)", true)).isEqualTo(Duration.ofMinutes(8));
    assertThat(ListStatus.uptime("Up 3 hours (healthy)", false)).isEqualTo(Duration.ofHours(3));
    assertThat(ListStatus.uptime("Exited (0) 3 seconds ago", true)).isNull();
    assertThat(ListStatus.key("running", "Up 3 seconds (Paused)")).isEqualTo("running|Up (Paused)");
  }
}
