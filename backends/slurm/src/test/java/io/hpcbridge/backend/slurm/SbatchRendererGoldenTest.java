package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.file;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static io.hpcbridge.backend.slurm.Plans.res;
import static io.hpcbridge.backend.slurm.Plans.with;
import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Golden files of {@code render} for many pod shapes: src/test/resources/golden/NAME.sbatch holds
 * the pod-specific head of the script (the static wrapper that follows is the same for every pod)
 * and the files shipped with it. Regenerate after an intended change with {@code ./mvnw -pl
 * backends/slurm -am test -Dtest=SbatchRendererGoldenTest -Dgolden.update=true
 * -Dsurefire.failIfNoSpecifiedTests=false} and review the diff.
 */
class SbatchRendererGoldenTest {
  static final String MARK = "# ---- hpc-bridge job wrapper";

  static SlurmConfig config() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("workRoot", "~/hpc-bridge/pods");
    s.put("partition", "batch");
    s.put("runtimeOptions", Map.of("apptainer", List.of("--cleanenv")));
    s.put(
        "flavors",
        Map.of(
            "gpu",
                Map.of(
                    "flags",
                    List.of("--partition=gpu", "--gres=gpu:a100:1", "--time=02:00:00"),
                    "runtime",
                    "apptainer"),
            "quick", Map.of("flags", Map.of("qos", "short", "time", "10")),
            "pod",
                Map.of(
                    "runtime",
                    "podman",
                    "runtimeOptions",
                    List.of("--security-opt=label=disable"))));
    return SlurmConfig.parse(s);
  }

  static SlurmConfig configWithDefaultFlavor() {
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("workRoot", "/scratch/k8s");
    s.put("flavors", Map.of("standard", Map.of("flags", "--account=research --qos=normal")));
    s.put("defaultFlavor", "standard");
    s.put("runtime", "none");
    return SlurmConfig.parse(s);
  }

  static ContainerPlan busybox(String name, List<String> cmd, List<String> args) {
    return container(name, "busybox:1.36", cmd, args);
  }

  static Stream<Arguments> shapes() {
    SlurmConfig c = config();
    ContainerPlan hello = busybox("main", List.of("sh", "-c"), List.of("echo hello"));
    return Stream.of(
        Arguments.of(
            "minimal",
            c,
            pod("minimal").main(container("main", "python:3.12", List.of(), List.of())).build()),
        Arguments.of("command-and-args", c, pod("cmd").main(hello).build()),
        Arguments.of(
            "args-only",
            c,
            pod("args")
                .main(
                    container(
                        "main", "docker://ghcr.io/x/y:1", List.of(), List.of("--epochs", "3")))
                .build()),
        Arguments.of(
            "resources-requests",
            c,
            pod("req").main(with(hello, null, null, res(500, 0, 256L << 20, 0, 0), null)).build()),
        Arguments.of(
            "resources-limits-win",
            c,
            pod("lim")
                .main(with(hello, null, null, res(1000, 2500, 1L << 30, 3L << 30, 0), null))
                .main(
                    with(
                        busybox("side", List.of("sleep"), List.of("60")),
                        null,
                        null,
                        res(250, 0, 100L << 20, 0, 0),
                        null))
                .build()),
        Arguments.of(
            "gpus",
            c,
            pod("gpu")
                .main(
                    with(
                        container(
                            "train",
                            "nvcr.io/nvidia/pytorch:24.01-py3",
                            List.of("python", "train.py"),
                            List.of()),
                        null,
                        null,
                        res(4000, 0, 16L << 30, 0, 2),
                        null))
                .build()),
        Arguments.of(
            "deadline-and-grace", c, pod("deadline").deadline(3725).grace(90).main(hello).build()),
        Arguments.of("zero-grace", c, pod("nograce").grace(0).main(hello).build()),
        Arguments.of(
            "typed-annotations",
            c,
            pod("typed")
                .main(hello)
                .annotate("partition", "long")
                .annotate("account", "proj-42")
                .annotate("qos", "high")
                .annotate("constraint", "intel&(ib|opa)")
                .annotate("reservation", "maint_2024")
                .annotate("time", "1-12:00:00")
                .annotate("nodes", "1-2")
                .annotate("ntasks", "4")
                .annotate("exclusive", "true")
                .build()),
        Arguments.of(
            "raw-flags",
            c,
            pod("raw")
                .main(hello)
                .annotate("flags", "--mail-type=END,FAIL --begin=now+60 --nice=10")
                .build()),
        Arguments.of(
            "flavor",
            c,
            pod("flavored").main(hello).annotate("flavor", "gpu").annotate("time", "30").build()),
        Arguments.of(
            "flavor-map-flags",
            c,
            pod("quick").deadline(120).main(hello).annotate("flavor", "quick").build()),
        Arguments.of(
            "default-flavor-runtime-none",
            configWithDefaultFlavor(),
            pod("dflt")
                .main(
                    with(
                        container("main", "ignored:latest", List.of("/usr/bin/env"), List.of()),
                        Map.of("GREETING", "hi there"),
                        "/tmp",
                        null,
                        null))
                .build()),
        Arguments.of(
            "init-and-containers-onfailure",
            c,
            pod("multi")
                .policy(PodPlan.RestartPolicy.ON_FAILURE)
                .init(busybox("fetch", List.of("sh", "-c", "echo fetching"), List.of()))
                .init(busybox("prepare", List.of("sh", "-c", "echo preparing"), List.of()))
                .main(
                    with(
                        busybox("worker", List.of("sh", "-c", "echo work; exit 3"), List.of()),
                        null,
                        null,
                        res(1000, 0, 0, 0, 0),
                        null))
                .main(
                    with(
                        busybox("sidecar", List.of("sleep", "5"), List.of()),
                        null,
                        null,
                        res(1000, 0, 0, 0, 0),
                        null))
                .build()),
        Arguments.of(
            "restart-always",
            c,
            pod("always").policy(PodPlan.RestartPolicy.ALWAYS).main(hello).build()),
        Arguments.of("volumes", c, volumesPod("vols", null)),
        Arguments.of(
            "runtime-singularity",
            c,
            pod("sing")
                .main(with(hello, Map.of("A", "1"), "/work", null, null))
                .annotate("runtime", "singularity")
                .build()),
        Arguments.of("runtime-pyxis", c, volumesPod("pyxis", "pyxis")),
        Arguments.of(
            "runtime-podman",
            c,
            pod("podman")
                .main(
                    with(
                        container(
                            "main",
                            "quay.io/org/tool:2",
                            List.of("tool", "--verbose"),
                            List.of("in.txt")),
                        Map.of("MODE", "fast"),
                        "/data",
                        res(2000, 0, 0, 0, 1),
                        null))
                .annotate("flavor", "pod")
                .build()),
        Arguments.of(
            "runtime-none",
            c,
            pod("none")
                .main(
                    with(
                        container("main", "", List.of("/bin/echo"), List.of("a b", "c")),
                        Map.of("X", "y"),
                        "/tmp",
                        null,
                        null))
                .annotate("runtime", "none")
                .build()),
        Arguments.of(
            "secret-in-args",
            c,
            pod("secret").main(TrampolineTest.withSecretArg("main", List.of("tool"))).build()),
        Arguments.of(
            "hostile-strings",
            c,
            pod("hostile")
                .main(
                    with(
                        container(
                            "main",
                            "busybox",
                            List.of("sh", "-c"),
                            List.of(
                                "echo \"$HOME\" `id` $(whoami) 'q' \\ ;rm -rf / #",
                                "line1\nline2\n#SBATCH --partition=evil",
                                "ünïcødé ✓ 中文")),
                        Map.of("EVIL", "'; rm -rf / ; echo '", "MULTI", "a\nb\n#SBATCH --x"),
                        "/tmp/with space/$x",
                        null,
                        null))
                .build()));
  }

  static PodPlan volumesPod(String name, String runtime) {
    ContainerPlan m =
        with(
            busybox("main", List.of("sh", "-c", "ls -R /etc/app /secrets /scratch"), List.of()),
            null,
            "/scratch",
            null,
            List.of(
                new ContainerPlan.Mount("config", "/etc/app", null, false),
                new ContainerPlan.Mount("creds", "/secrets", null, false),
                new ContainerPlan.Mount("scratch", "/scratch", null, false),
                new ContainerPlan.Mount("info", "/etc/podinfo", null, false),
                new ContainerPlan.Mount("all", "/etc/all", null, false),
                new ContainerPlan.Mount("config", "/etc/single.conf", "app.conf", false),
                new ContainerPlan.Mount("data", "/data", null, true)));
    var b =
        pod(name)
            .volume(
                new VolumePlan(
                    "config",
                    VolumePlan.Type.CONFIG_MAP,
                    List.of(file("app.conf", "x=1\n", 0644)),
                    null,
                    false))
            .volume(
                new VolumePlan(
                    "creds",
                    VolumePlan.Type.SECRET,
                    List.of(file("token", "s3cr3t", 0600)),
                    null,
                    true))
            .volume(new VolumePlan("scratch", VolumePlan.Type.EMPTY_DIR, List.of(), null, false))
            .volume(
                new VolumePlan(
                    "info",
                    VolumePlan.Type.DOWNWARD_API,
                    List.of(file("labels", "app=\"vols\"\n", 0644)),
                    null,
                    false))
            .volume(
                new VolumePlan(
                    "all",
                    VolumePlan.Type.PROJECTED,
                    List.of(file("a/b.txt", "b", 0644)),
                    null,
                    false))
            .volume(
                new VolumePlan(
                    "data", VolumePlan.Type.HOST_PATH, List.of(), "/lustre/datasets", false))
            .main(m);
    if (runtime != null) {
      b.annotate("runtime", runtime);
    }
    return b.build();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("shapes")
  void matchesGolden(String shape, SlurmConfig config, PodPlan plan) throws Exception {
    RenderedJob job = new SbatchRenderer(config, "/home/alice").prepare(plan);
    String script = job.script();
    int mark = script.indexOf(MARK);
    assertThat(mark).as("wrapper marker").isPositive();
    assertThat(script.substring(mark)).isEqualTo(wrapper());
    StringBuilder actual = new StringBuilder(script.substring(0, mark));
    actual.append("# ==== files shipped to ").append(job.podDir()).append(" ====\n");
    for (RenderedJob.RemoteFile f : job.files()) {
      actual
          .append("# ---- ")
          .append(f.path())
          .append(" (")
          .append(Integer.toOctalString(f.mode()))
          .append(")\n");
      String content = new String(f.content(), StandardCharsets.UTF_8);
      if (f.path().endsWith(".argv") || f.path().endsWith(".binds")) {
        // NUL-separated words, shown one per line, quoted.
        StringBuilder words = new StringBuilder();
        for (String w : content.split("\0")) {
          words.append(Shell.quote(w)).append('\n');
        }
        content = words.toString();
      }
      actual.append(content);
      if (!content.isEmpty() && !content.endsWith("\n")) {
        actual.append("\n# (no newline at end of file)\n");
      }
    }
    Path golden =
        Path.of(System.getProperty("golden.dir", "src/test/resources/golden"))
            .resolve(shape + ".sbatch");
    if (Boolean.getBoolean("golden.update")) {
      Files.createDirectories(golden.getParent());
      Files.writeString(golden, actual);
    }
    assertThat(golden).as("golden file (regenerate with -Dgolden.update=true)").exists();
    assertThat(actual.toString()).isEqualTo(Files.readString(golden));
    BashCheck.assertSyntax(script);
  }

  static String wrapper() throws Exception {
    try (var in = SbatchRenderer.class.getResourceAsStream("wrapper.sh")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
