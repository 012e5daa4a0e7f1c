package io.hpcbridge.state;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Run in a second JVM by {@link ConcurrencyTest} against the file the test JVM is using.
 *
 * <ul>
 *   <li>{@code write FILE PREFIX COUNT WAIT_FOR_UID}: records the first pod, waits until the other
 *       process has written {@code WAIT_FOR_UID} (so both really write at once), then the rest.
 *   <li>{@code read FILE COUNT}: opens read-only, like the CLI, prints {@code ready} and lists the
 *       pods until it sees {@code COUNT}, checking every snapshot; prints {@code saw N}.
 * </ul>
 *
 * Exits 0 on success, 1 on a timeout or a broken invariant, 2 on an exception.
 */
public final class SecondProcess {
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  private SecondProcess() {}

  public static void main(String[] args) {
    try {
      Path file = Path.of(args[1]);
      int code =
          switch (args[0]) {
            case "write" -> write(file, args[2], Integer.parseInt(args[3]), args[4]);
            case "read" -> read(file, Integer.parseInt(args[2]));
            default -> throw new IllegalArgumentException(args[0]);
          };
      System.exit(code);
    } catch (Throwable t) {
      t.printStackTrace();
      System.exit(2);
    }
  }

  private static int write(Path file, String prefix, int count, String waitForUid)
      throws InterruptedException {
    Instant deadline = Instant.now().plus(DEADLINE);
    try (StateStore store = StateStore.open(file)) {
      ConcurrencyTest.lifecycle(store, prefix + 0);
      while (store.get(waitForUid).isEmpty()) {
        if (Instant.now().isAfter(deadline)) {
          System.err.println("other process never wrote " + waitForUid);
          return 1;
        }
        Thread.sleep(5); // pacing a poll loop, not asserting anything
      }
      for (int i = 1; i < count; i++) {
        ConcurrencyTest.lifecycle(store, prefix + i);
        ConcurrencyTest.raceOnShared(store, prefix + i);
      }
    }
    System.out.println("wrote " + count);
    return 0;
  }

  private static int read(Path file, int count) throws InterruptedException {
    Instant deadline = Instant.now().plus(DEADLINE);
    try (StateStore store = StateStore.openReadOnly(file)) {
      System.out.println("ready");
      System.out.flush();
      int seen = 0;
      while (seen < count) {
        if (Instant.now().isAfter(deadline)) {
          System.err.println("saw only " + seen + " of " + count);
          return 1;
        }
        List<TrackedPod> pods = store.list();
        if (pods.size() < seen) {
          System.err.println("rows disappeared: " + pods.size() + " after " + seen);
          return 1;
        }
        for (TrackedPod pod : pods) {
          if (pod.isTerminal() && (pod.finished() == null || !pod.isSubmitted())) {
            System.err.println("torn row: " + pod);
            return 1;
          }
        }
        seen = pods.size();
        Thread.sleep(2); // pacing a poll loop, not asserting anything
      }
      System.out.println("saw " + seen);
    }
    return 0;
  }
}
