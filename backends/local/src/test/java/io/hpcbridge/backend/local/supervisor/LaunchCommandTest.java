package io.hpcbridge.backend.local.supervisor;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.local.common.Records.Owner;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RunAs;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The argv chain of a container run: pod words only at the end, each step exec'ing the next. */
class LaunchCommandTest {

  static final SupervisorOptions OPTS =
      new SupervisorOptions(
          1000,
          60_000,
          Map.of(
              "flock", "/bin/flock",
              "setsid", "/bin/setsid",
              "setpriv", "/bin/setpriv",
              "env", "/bin/env",
              "unshare", "/bin/unshare"),
          Map.of(),
          new Owner(65534, 65534, false),
          4096);

  static final RunAs NOBODY = new RunAs(65534, 65534, List.of(), true, true, List.of(), false);

  @Test
  void plainRun() {
    assertThat(
            LaunchCommand.of(OPTS, NOBODY, null, null, null, List.of("sh", "-c", "x"), Map.of())
                .argv())
        .containsExactly(
            "/bin/setsid",
            "--",
            "/bin/setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
            "sh",
            "-c",
            "x");
  }

  @Test
  void gatesNamespaceUserAndWorkingDirectoryInTheirOrder() {
    // The cgroup gate waits as root, before anything; all that runs before the mounts gate is
    // executed before the supervisor mounts anything.
    List<String> argv =
        LaunchCommand.of(
                OPTS,
                NOBODY,
                "/pods/x/gates/app.0.cgroup",
                "../gates/app.0.mounts",
                "/w d",
                List.of("-n", "$(id)"),
                Map.of())
            .argv();
    assertThat(argv)
        .containsExactly(
            "/bin/flock",
            "-F",
            "-s",
            "/pods/x/gates/app.0.cgroup",
            "/bin/setsid",
            "--",
            "/bin/unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--",
            "/bin/flock",
            "-F",
            "-s",
            "../gates/app.0.mounts",
            "/bin/env",
            "-C",
            "/w d",
            "--",
            "-n",
            "$(id)");
  }

  @Test
  void aBridgeWithoutRootAndAnEscalatingPodChangeNothing() {
    RunAs same = new RunAs(1000, 1000, List.of(), false, false, List.of(), false);
    LaunchCommand l =
        LaunchCommand.of(
            OPTS, same, null, null, null, List.of("true"), Map.of("LD_PRELOAD", "x.so"));
    assertThat(l.argv()).containsExactly("/bin/setsid", "--", "true");
    assertThat(l.env()).containsExactly(Map.entry("LD_PRELOAD", "x.so"));
  }

  @Test
  void variablesThatCouldRunThePodsCodeAsRootAreSetOnlyAfterTheUserSwitch() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/bin");
    env.put("LD_PRELOAD", "/tmp/evil.so");
    env.put("LC_ALL", "/tmp/locale");
    env.put("GLIBC_TUNABLES", "glibc.malloc.check=3");
    env.put("SECRET_TOKEN", "s3cr3t");
    LaunchCommand l = LaunchCommand.of(OPTS, NOBODY, null, null, null, List.of("app"), env);
    assertThat(l.env()).containsOnlyKeys("PATH", "SECRET_TOKEN");
    List<String> argv = l.argv();
    int setpriv = argv.indexOf("/bin/setpriv");
    assertThat(argv.subList(argv.indexOf("/bin/env"), argv.size()))
        .containsExactly(
            "/bin/env",
            "--",
            "LD_PRELOAD=/tmp/evil.so",
            "LC_ALL=/tmp/locale",
            "GLIBC_TUNABLES=glibc.malloc.check=3",
            "app");
    assertThat(argv.indexOf("/bin/env")).isGreaterThan(setpriv);
    assertThat(String.join(" ", argv)).doesNotContain("s3cr3t");
  }
}
