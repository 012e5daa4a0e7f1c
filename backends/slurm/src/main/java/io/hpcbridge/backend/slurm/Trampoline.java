package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.ContainerPlan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Keeps Secret values out of a launcher's argv (which every user of the node can read in {@code
 * ps}): when a container's command or args hold the value of one of its Secret env vars ({@code
 * $(PASSWORD)} expanded by the bridge), the runtime starts {@code /bin/sh -c SCRIPT} instead, and
 * the real command line travels in the container's env file as {@code HPCB_ARGC} and {@code
 * HPCB_ARGV_<i>}; the script rebuilds it, removes those variables and execs it. The container's own
 * argv is then visible as always (as under a kubelet); the runtime's is not. The image needs {@code
 * /bin/sh}.
 */
final class Trampoline {
  private Trampoline() {}

  /** POSIX sh; only the index-named variables are ever evaluated. */
  static final String SCRIPT =
      "HPCB_I=0; HPCB_N=${HPCB_ARGC:-0}; set --; while [ \"$HPCB_I\" -lt \"$HPCB_N\" ]; do"
          + " eval \"set -- \\\"\\$@\\\" \\\"\\${HPCB_ARGV_$HPCB_I}\\\"\";"
          + " unset \"HPCB_ARGV_$HPCB_I\"; HPCB_I=$((HPCB_I + 1)); done;"
          + " unset HPCB_ARGC HPCB_I HPCB_N; exec \"$@\"";

  /** Whether any of {@code c}'s command or args contains the value of a Secret env var. */
  static boolean needed(ContainerPlan c) {
    List<String> secrets = new ArrayList<>();
    for (String name : c.secretEnv()) {
      String v = c.env().get(name);
      if (v != null && !v.isEmpty()) {
        secrets.add(v);
      }
    }
    return c.argv().stream().anyMatch(a -> secrets.stream().anyMatch(a::contains));
  }

  /** What the runtime runs in the container instead of {@code argv}. */
  static List<String> argv() {
    return List.of("/bin/sh", "-c", SCRIPT, "hpcb");
  }

  /** The container's env plus {@code argv} as {@code HPCB_ARGC} / {@code HPCB_ARGV_<i>}. */
  static Map<String, String> env(Map<String, String> env, List<String> argv) {
    Map<String, String> out = new LinkedHashMap<>(env);
    out.put("HPCB_ARGC", String.valueOf(argv.size()));
    for (int i = 0; i < argv.size(); i++) {
      out.put("HPCB_ARGV_" + i, argv.get(i));
    }
    return out;
  }
}
