package io.hpcbridge.bridge.pod;

import java.util.Set;

/**
 * Crash points for the resume tests: {@code HPC_BRIDGE_FAILPOINTS=after-intent,after-submit} makes
 * the process halt (like kill -9: no shutdown hooks) at that point of {@link Launcher}. Unset in
 * normal operation.
 */
final class Failpoints {
  private static final Set<String> ACTIVE =
      Set.of(System.getenv().getOrDefault("HPC_BRIDGE_FAILPOINTS", "").split(","));

  private Failpoints() {}

  static void hit(String name) {
    if (ACTIVE.contains(name)) {
      System.err.println("failpoint " + name + ": halting");
      Runtime.getRuntime().halt(137);
    }
  }
}
