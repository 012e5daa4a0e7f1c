package io.hpcbridge.bridge.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.LogOptions;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class LogQueryTest {

  @Test
  void noQueryMeansWholeLog() {
    assertThat(LogQuery.parse(null)).isEqualTo(LogOptions.ALL);
    assertThat(LogQuery.parse("")).isEqualTo(LogOptions.ALL);
  }

  @Test
  void parsesEveryParameter() {
    LogOptions o =
        LogQuery.parse(
            "follow=true&tailLines=10&timestamps=1&limitBytes=500&previous=True&unknown=x");
    assertThat(o).isEqualTo(new LogOptions(true, 10, true, 500L, null, null, true));
  }

  @Test
  void parsesSinceSecondsAndSinceTime() {
    assertThat(LogQuery.parse("sinceSeconds=60").sinceSeconds()).isEqualTo(60L);
    assertThat(LogQuery.parse("sinceTime=2024-05-06T07%3A08%3A09Z").sinceTime())
        .isEqualTo(Instant.parse("2024-05-06T07:08:09Z"));
    assertThat(LogQuery.parse("sinceTime=2024-05-06T09:08:09.5%2B02:00").sinceTime())
        .isEqualTo(Instant.parse("2024-05-06T07:08:09.5Z"));
    // An unencoded '+' decodes to a space; still read as the offset.
    assertThat(LogQuery.parse("sinceTime=2024-05-06T09:08:09+02:00").sinceTime())
        .isEqualTo(Instant.parse("2024-05-06T07:08:09Z"));
  }

  @Test
  void booleansFollowKubernetesSpelling() {
    assertThat(LogQuery.parse("follow").follow()).isTrue();
    assertThat(LogQuery.parse("follow=").follow()).isTrue();
    assertThat(LogQuery.parse("follow=false").follow()).isFalse();
    assertThat(LogQuery.parse("follow=0").follow()).isFalse();
    assertThat(LogQuery.parse("follow=F").follow()).isFalse();
  }

  @Test
  void firstOfRepeatedParameterCounts() {
    assertThat(LogQuery.parse("tailLines=3&tailLines=5").tailLines()).isEqualTo(3);
  }

  @Test
  void zeroTailLinesIsAllowed() {
    assertThat(LogQuery.parse("tailLines=0").tailLines()).isZero();
  }

  @Test
  void badValuesNameTheParameter() {
    assertBad("tailLines=abc", "tailLines: 'abc' is not an integer");
    assertBad("tailLines=-1", "tailLines: must be greater than or equal to 0");
    assertBad("tailLines=99999999999", "tailLines: must be at most");
    assertBad("limitBytes=0", "limitBytes: must be greater than 0");
    assertBad("limitBytes=1k", "limitBytes: '1k' is not an integer");
    assertBad("sinceSeconds=0", "sinceSeconds: must be greater than 0");
    assertBad("sinceTime=yesterday", "sinceTime: 'yesterday' is not an RFC 3339 time");
    assertBad("sinceTime=2024-05-06T07:08:09", "sinceTime:");
    assertBad("follow=maybe", "follow: 'maybe' is not a boolean");
    assertBad("timestamps=2", "timestamps: '2' is not a boolean");
    assertBad("previous=yes please", "previous:");
    assertBad(
        "sinceSeconds=5&sinceTime=2024-05-06T07:08:09Z",
        "at most one of sinceTime or sinceSeconds may be specified");
    assertBad("tailLines=%zz", "malformed query parameter");
  }

  private static void assertBad(String query, String message) {
    assertThatThrownBy(() -> LogQuery.parse(query))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }
}
