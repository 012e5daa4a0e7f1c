package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static io.hpcbridge.backend.slurm.Plans.with;
import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generated names, args, env values and working directories full of quotes, {@code $}, backticks,
 * newlines and unicode: every rendered script passes {@code bash -n}, and running the wrapper with
 * runtime none, each container process sees exactly the argv and env it was given. Seed with {@code
 * -Dfuzz.seed=N} to replay a failure.
 */
class QuotingFuzzTest {
  static final String[] PIECES = {
    "a", "Z", "0", "9", " ", "  ", "'", "''", "\"", "$", "`", "\\", "\n", "\t", "\r", "!", "*", "?",
        "[", "]",
    "{", "}", "(", ")", ";", "&", "|", "<", ">", "#", "~", "%", "=", "-", "--", "é", "中文", "✓",
        "🚀", "\u00a0",
    "$(id)", "`id`", "${HOME}", "$HOME", "\n#SBATCH --partition=evil\n", "'\\''", "\"$@\"", "*.*",
        "\\n", "exit 1;"
  };
  static final String DUMP = "printf '%s\\0' \"$0\" \"$@\" > argv.bin; env -0 > env.bin";

  final long seed = Long.getLong("fuzz.seed", System.nanoTime());
  final Random rnd = new Random(seed);

  String text(int maxPieces) {
    StringBuilder b = new StringBuilder();
    int n = rnd.nextInt(maxPieces + 1);
    for (int i = 0; i < n; i++) {
      b.append(
          rnd.nextBoolean()
              ? PIECES[rnd.nextInt(PIECES.length)]
              : String.valueOf((char) ('a' + rnd.nextInt(26))));
    }
    return b.toString();
  }

  String label(int max) {
    String chars = "abcdefghijklmnopqrstuvwxyz0123456789";
    StringBuilder b = new StringBuilder().append(chars.charAt(rnd.nextInt(26)));
    int n = rnd.nextInt(max);
    for (int i = 0; i < n; i++) {
      b.append(rnd.nextInt(8) == 0 ? '-' : chars.charAt(rnd.nextInt(chars.length())));
    }
    return b.append(chars.charAt(rnd.nextInt(36))).toString();
  }

  String envName(int i) {
    String chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";
    StringBuilder b = new StringBuilder("F").append(i).append('_');
    int n = rnd.nextInt(10);
    for (int k = 0; k < n; k++) {
      b.append(chars.charAt(rnd.nextInt(chars.length())));
    }
    return b.toString();
  }

  Map<String, String> env() {
    Map<String, String> env = new LinkedHashMap<>();
    int n = rnd.nextInt(6);
    for (int i = 0; i < n; i++) {
      env.put(envName(i), text(12));
    }
    return env;
  }

  List<String> args(int max) {
    List<String> a = new ArrayList<>();
    int n = rnd.nextInt(max + 1);
    for (int i = 0; i < n; i++) {
      a.add(text(10));
    }
    return a;
  }

  @Test
  void everyScriptPassesBashSyntaxCheck() throws Exception {
    String[] runtimes = {"apptainer", "singularity", "podman", "pyxis", "none"};
    StringBuilder all = new StringBuilder();
    for (int i = 0; i < 300; i++) {
      String runtime = runtimes[rnd.nextInt(runtimes.length)];
      var b =
          pod(label(20))
              .uid(java.util.UUID.randomUUID().toString())
              .deadline(1 + rnd.nextInt(100000))
              .grace(rnd.nextInt(120));
      b.namespace = label(10);
      b.policy = PodPlan.RestartPolicy.values()[rnd.nextInt(3)];
      int containers = 1 + rnd.nextInt(3);
      List<String> used = new ArrayList<>();
      for (int c = 0; c < containers + rnd.nextInt(2); c++) {
        String name = label(12);
        if (used.contains(name)) {
          continue;
        }
        used.add(name);
        List<String> cmd = new ArrayList<>(List.of("x" + text(3).replace("-", "")));
        cmd.addAll(args(3));
        ContainerPlan cp =
            with(
                container(name, "img/" + label(5) + ":1", cmd, args(4)),
                env(),
                rnd.nextBoolean() ? "/" + text(5).replace("\0", "") : null,
                null,
                null);
        if (c < containers) {
          b.main(cp);
        } else {
          b.init(cp);
        }
      }
      b.annotate("runtime", runtime);
      PodPlan plan = b.build();
      String script;
      try {
        script = new SbatchRenderer(SlurmConfig.defaults(), "/home/u").render(plan);
      } catch (io.hpcbridge.backend.BackendException.InvalidPod e) {
        // The only refusals generated input may cause: pyxis and a command starting with '-',
        // podman and an env value with a newline.
        assertThat(e.reason())
            .as("seed " + seed + ": " + e.getMessage())
            .isIn("InvalidCommand", "InvalidEnv");
        continue;
      }
      // sbatch reads directives only up to the first command: that header holds only our flags.
      List<String> header = script.lines().skip(1).takeWhile(l -> l.startsWith("#")).toList();
      assertThat(header)
          .as("seed " + seed)
          .allMatch(
              l ->
                  l.startsWith("# Generated by hpc-bridge for pod ")
                      || l.matches(
                          "#SBATCH"
                              + " --(job-name|comment|output|chdir|no-requeue|signal|nodes|time)(=[A-Za-z0-9_.:@/-]+)?"));
      assertThat(script.lines().skip(1 + header.size()).findFirst()).hasValue("set -u");
      // Bash checks one function body per script: wrap each in a function to check them in one run.
      all.append("hpcb_fuzz_")
          .append(i)
          .append("() {\n")
          .append(script.substring(script.indexOf("set -u")))
          .append("\n}\n");
      if (i % 50 == 49) {
        BashCheck.assertSyntax(all.toString());
        all.setLength(0);
      }
      if (i < 20) {
        BashCheck.assertSyntax(script);
      }
    }
  }

  @Test
  void containerSeesExactlyItsArgvAndEnv(@TempDir Path tmp) throws Exception {
    for (int round = 0; round < 12; round++) {
      var b = pod(label(10)).uid("fuzz-" + round);
      Map<String, List<String>> argvs = new HashMap<>();
      Map<String, Map<String, String>> envs = new HashMap<>();
      Map<String, Path> dirs = new HashMap<>();
      int n = 1 + rnd.nextInt(3);
      for (int c = 0; c < n; c++) {
        String name = "c" + c + "-" + label(6);
        String dirName = ("w " + text(6)).replace("/", "_").replace("\0", "");
        Path wd = Files.createDirectories(tmp.resolve("round" + round).resolve(c + dirName));
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", DUMP, text(6)));
        List<String> args = args(6);
        Map<String, String> env = env();
        b.main(with(container(name, "", cmd, args), env, wd.toString(), null, null));
        List<String> expected = new ArrayList<>();
        expected.add(cmd.get(3));
        expected.addAll(args);
        argvs.put(name, expected);
        envs.put(name, env);
        dirs.put(name, wd);
      }
      LocalJob job = new LocalJob(tmp.resolve("root"), b.build(), Map.of()).start();
      assertThat(job.await())
          .as("seed " + seed + " round " + round + ": " + job.read("slurm.out"))
          .isZero();
      for (String name : argvs.keySet()) {
        Path wd = dirs.get(name);
        List<String> seen = splitNul(Files.readAllBytes(wd.resolve("argv.bin")));
        assertThat(seen).as("seed " + seed + " argv of " + name).isEqualTo(argvs.get(name));
        Map<String, String> seenEnv = new HashMap<>();
        for (String kv : splitNul(Files.readAllBytes(wd.resolve("env.bin")))) {
          int eq = kv.indexOf('=');
          seenEnv.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        envs.get(name)
            .forEach(
                (k, v) ->
                    assertThat(seenEnv.get(k))
                        .as("seed " + seed + " env " + k + " of " + name)
                        .isEqualTo(v));
        assertThat(job.read("c/" + name + "/exit")).startsWith("0 ");
      }
    }
  }

  static List<String> splitNul(byte[] bytes) {
    List<String> out = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < bytes.length; i++) {
      if (bytes[i] == 0) {
        out.add(new String(bytes, start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    return out;
  }
}
