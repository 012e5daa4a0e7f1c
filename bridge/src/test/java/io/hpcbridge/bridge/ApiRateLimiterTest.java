package io.hpcbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ApiRateLimiterTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  @Test
  void aBurstGoesAtOnceThenRequestsAreSpacedAtTheRate() {
    AtomicLong now = new AtomicLong(0);
    ApiRateLimiter limiter = new ApiRateLimiter(10, 5, now::get);
    for (int i = 0; i < 5; i++) {
      assertThat(limiter.reserve()).as("request %d of the burst", i).isZero();
    }
    assertThat(limiter.reserve()).isEqualTo(SECOND / 10);
    assertThat(limiter.reserve()).isEqualTo(2 * SECOND / 10);
  }

  @Test
  void idleTimeRefillsTheBucketUpToTheBurstOnly() {
    AtomicLong now = new AtomicLong(0);
    ApiRateLimiter limiter = new ApiRateLimiter(10, 3, now::get);
    for (int i = 0; i < 3; i++) {
      limiter.reserve();
    }
    now.addAndGet(60 * SECOND); // a minute idle: still only 3 at once
    for (int i = 0; i < 3; i++) {
      assertThat(limiter.reserve()).isZero();
    }
    assertThat(limiter.reserve()).isPositive();
  }

  @Test
  void sustainedRateIsTheQps() {
    AtomicLong now = new AtomicLong(0);
    ApiRateLimiter limiter = new ApiRateLimiter(100, 1, now::get);
    long waited = 0;
    for (int i = 0; i < 1000; i++) {
      long w = limiter.reserve();
      now.addAndGet(w); // the caller sleeps that long
      waited += w;
    }
    // 1000 requests at 100/s, the first one free: about 10 s
    assertThat(waited).isBetween(9 * SECOND, 11 * SECOND);
  }
}
