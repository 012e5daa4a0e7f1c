package io.hpcbridge.bridge.pod;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Ordering and exclusion are checked with latches; delays only as lower bounds (a scheduled
 * executor never runs a task early), never as upper bounds.
 */
class WorkQueueTest {

  private static final Duration BASE = Duration.ofMillis(40);
  private static final Duration MAX = Duration.ofSeconds(5);

  private final CountDownLatch release = new CountDownLatch(1);
  private final List<String> runs = Collections.synchronizedList(new ArrayList<>());
  private WorkQueue queue;

  @AfterEach
  void close() {
    release.countDown();
    if (queue != null) {
      queue.close();
    }
  }

  @Test
  void aKeyAddedWhileQueuedRunsOnce() throws Exception {
    CountDownLatch blockerRuns = new CountDownLatch(1);
    queue =
        new WorkQueue(
            "t",
            1,
            BASE,
            MAX,
            key -> {
              runs.add(key);
              if (key.equals("blocker")) {
                blockerRuns.countDown();
                release.await();
              }
              return WorkQueue.DONE;
            });
    queue.add("blocker");
    assertThat(blockerRuns.await(30, TimeUnit.SECONDS)).isTrue();

    queue.add("a");
    queue.add("b");
    queue.add("a");
    queue.add("a");
    assertThat(queue.depth()).isEqualTo(3); // blocker running, a and b waiting
    release.countDown();

    await().until(() -> queue.depth() == 0);
    assertThat(runs).containsExactly("blocker", "a", "b");
  }

  @Test
  void aKeyAddedWhileRunningRunsAgainAfterwardsNeverConcurrently() throws Exception {
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger maxInFlight = new AtomicInteger();
    CountDownLatch firstRun = new CountDownLatch(1);
    queue =
        new WorkQueue(
            "t",
            4,
            BASE,
            MAX,
            key -> {
              maxInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
              try {
                runs.add(key);
                if (runs.size() == 1) {
                  firstRun.countDown();
                  release.await();
                }
                return WorkQueue.DONE;
              } finally {
                inFlight.decrementAndGet();
              }
            });
    queue.add("k");
    assertThat(firstRun.await(30, TimeUnit.SECONDS)).isTrue();

    for (int i = 0; i < 5; i++) {
      queue.add("k"); // three idle workers could take it: none may
    }
    assertThat(queue.depth()).isEqualTo(1);
    release.countDown();

    await().until(() -> queue.depth() == 0);
    assertThat(runs).containsExactly("k", "k");
    assertThat(maxInFlight).hasValue(1);
  }

  @Test
  void differentKeysRunInParallel() {
    CountDownLatch both = new CountDownLatch(2);
    queue =
        new WorkQueue(
            "t",
            2,
            BASE,
            MAX,
            key -> {
              both.countDown();
              // Returns only when the other key runs at the same time.
              return both.await(30, TimeUnit.SECONDS)
                  ? WorkQueue.DONE
                  : new WorkQueue.Retry("alone");
            });

    queue.add("a");
    queue.add("b");

    await().until(() -> both.getCount() == 0 && queue.depth() == 0);
  }

  @Test
  void retryBacksOffExponentially() {
    List<Long> times = Collections.synchronizedList(new ArrayList<>());
    queue =
        new WorkQueue(
            "t",
            1,
            BASE,
            MAX,
            key -> {
              times.add(System.nanoTime());
              return times.size() < 4 ? new WorkQueue.Retry("not yet") : WorkQueue.DONE;
            });

    queue.add("k");

    await().until(() -> times.size() == 4 && queue.depth() == 0);
    assertThat(gapMillis(times, 1)).isGreaterThanOrEqualTo(BASE.toMillis());
    assertThat(gapMillis(times, 2)).isGreaterThanOrEqualTo(2 * BASE.toMillis());
    assertThat(gapMillis(times, 3)).isGreaterThanOrEqualTo(4 * BASE.toMillis());
  }

  @Test
  void aFailingHandlerIsRetried() {
    AtomicInteger calls = new AtomicInteger();
    queue =
        new WorkQueue(
            "t",
            1,
            BASE,
            MAX,
            key -> {
              if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("transient");
              }
              return WorkQueue.DONE;
            });

    queue.add("k");

    await().until(() -> calls.get() == 2 && queue.depth() == 0);
  }

  @Test
  void anErrorInTheHandlerNeitherWedgesTheKeyNorLosesTheWorker() {
    AtomicInteger badCalls = new AtomicInteger();
    queue =
        new WorkQueue(
            "t",
            1,
            BASE,
            MAX,
            key -> {
              runs.add(key);
              if (key.equals("bad") && badCalls.incrementAndGet() == 1) {
                throw new StackOverflowError("deep");
              }
              return WorkQueue.DONE;
            });

    queue.add("bad");
    queue.add("good");

    await().until(() -> badCalls.get() == 2 && runs.contains("good") && queue.depth() == 0);
  }

  @Test
  void afterLooksAgainAfterTheDelay() {
    List<Long> times = Collections.synchronizedList(new ArrayList<>());
    Duration delay = Duration.ofMillis(30);
    queue =
        new WorkQueue(
            "t",
            1,
            BASE,
            MAX,
            key -> {
              times.add(System.nanoTime());
              return times.size() == 1 ? new WorkQueue.After(delay) : WorkQueue.DONE;
            });

    queue.add("k");

    await().until(() -> times.size() == 2 && queue.depth() == 0);
    assertThat(gapMillis(times, 1)).isGreaterThanOrEqualTo(delay.toMillis());
  }

  @Test
  void addAfterCloseIsIgnored() {
    queue = new WorkQueue("t", 1, BASE, MAX, key -> WorkQueue.DONE);
    queue.close();

    queue.add("k");

    assertThat(queue.depth()).isZero();
  }

  private static long gapMillis(List<Long> times, int i) {
    return TimeUnit.NANOSECONDS.toMillis(times.get(i) - times.get(i - 1));
  }
}
