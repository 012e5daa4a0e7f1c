package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.pod;
import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Secret expanded into args never lands in a launcher's argv, and the container still gets it.
 */
class TrampolineTest {
  @TempDir Path tmp;

  static ContainerPlan withSecretArg(String name, List<String> command) {
    return new ContainerPlan(
        name,
        "busybox:1.36",
        null,
        command,
        List.of("--password=hunter2", "plain"),
        null,
        new java.util.TreeMap<>(Map.of("PASSWORD", "hunter2", "MODE", "fast")),
        Set.of("PASSWORD"),
        null,
        List.of(),
        List.of());
  }

  static RenderedJob render(PodPlan plan) throws Exception {
    return new SbatchRenderer(SbatchRendererGoldenTest.config(), "/home/u").prepare(plan);
  }

  static String file(RenderedJob job, String path) {
    return job.files().stream()
        .filter(f -> f.path().equals(path))
        .map(f -> new String(f.content(), StandardCharsets.UTF_8))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void everyRuntimeKeepsTheSecretOutOfItsOwnArgv() throws Exception {
    for (String runtime : List.of("apptainer", "singularity", "podman", "pyxis")) {
      RenderedJob job =
          render(
              pod("p")
                  .main(withSecretArg("main", List.of("tool")))
                  .annotate("runtime", runtime)
                  .build());
      assertThat(job.script()).as(runtime).doesNotContain("hunter2");
      assertThat(file(job, "run/main.argv")).as(runtime).doesNotContain("hunter2");
      assertThat(file(job, "env/main.env"))
          .as(runtime)
          .contains("HPCB_ARGC", "HPCB_ARGV_1", "hunter2");
    }
    // Runtime none: the container's own argv is the only one that holds it.
    RenderedJob none =
        render(
            pod("p")
                .main(withSecretArg("main", List.of("tool")))
                .annotate("runtime", "none")
                .build());
    assertThat(none.script()).doesNotContain("hunter2");
    assertThat(file(none, "run/main.argv")).contains("--password=hunter2");
    // Without a Secret in the args the command line is passed as it is.
    RenderedJob plain =
        render(
            pod("p")
                .main(Plans.container("main", "busybox", List.of("echo"), List.of("hi")))
                .build());
    assertThat(file(plain, "run/main.argv")).endsWith("echo\0hi\0");
  }

  @Test
  void theScriptRebuildsTheArgvExactlyAndLeavesNoTraceInTheEnv() throws Exception {
    List<String> argv =
        List.of(
            "printf-args", "a b", "", "it's", "$(id)", "`x`", "\\n", "line1\nline2", "✓ 中文", "-");
    List<String> cmd = new ArrayList<>(Trampoline.argv());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile());
    // Only what the job would get: the test's own environment may hold anything (even HPCB_*).
    pb.environment().clear();
    pb.environment().put("PATH", "/usr/local/bin:/usr/bin:/bin");
    // The last word is the program the script execs: a dumper of its argv and env.
    Path dump = tmp.resolve("dump.sh");
    Files.writeString(dump, "#!/bin/sh\nprintf '%s\\0' \"$@\" > argv.bin; env > env.txt\n");
    dump.toFile().setExecutable(true);
    List<String> full = new ArrayList<>(List.of(dump.toString()));
    full.addAll(argv.subList(1, argv.size()));
    Trampoline.env(Map.of("KEEP", "me"), full).forEach(pb.environment()::put);
    Process p = pb.start();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    String got = Files.readString(tmp.resolve("argv.bin"));
    assertThat(got.split("\0", -1))
        .containsExactlyElementsOf(withEmptyTail(argv.subList(1, argv.size())));
    String env = Files.readString(tmp.resolve("env.txt"));
    assertThat(env).contains("KEEP=me").doesNotContain("HPCB_");
  }

  static List<String> withEmptyTail(List<String> l) {
    List<String> out = new ArrayList<>(l);
    out.add("");
    return out;
  }
}
