package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The batch submit script, run by bash here with a stand-in sbatch; and its result parser. */
class BatchScriptTest {
  static final String NONCE = "0123456789abcdef0123456789abcdef";

  @TempDir Path tmp;

  /** An sbatch that refuses scripts naming "nope", cannot reach the controller for "flaky". */
  Path fakeSbatch() throws Exception {
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path sbatch = bin.resolve("sbatch");
    Files.writeString(
        sbatch,
        """
        #!/bin/bash
        [ "$1" = --parsable ] || exit 9
        s=$(cat)
        case $s in
          *partition=nope*) echo "sbatch: error: invalid partition specified: nope" >&2; exit 1 ;;
          *flaky*) echo "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)" >&2; exit 1 ;;
          *weird*) echo "no id here"; exit 0 ;;
        esac
        n=$(cat "$HOME/next" 2>/dev/null || echo 100); echo $((n + 1)) > "$HOME/next"
        echo "$n;cluster"
        """);
    Files.setPosixFilePermissions(sbatch, PosixFilePermissions.fromString("rwx------"));
    return bin;
  }

  RenderedJob render(PodPlan plan) throws Exception {
    var s = new java.util.LinkedHashMap<String, Object>();
    s.put("workRoot", tmp.resolve("pods").toString());
    s.put("runtime", "none");
    return new SbatchRenderer(SlurmConfig.parse(s), "/nonexistent").prepare(plan);
  }

  String run(String script) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", JobSubmitter.RUN_STDIN);
    pb.environment().put("PATH", fakeSbatch() + ":" + System.getenv("PATH"));
    pb.environment().put("HOME", tmp.toString());
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process p = pb.start();
    try (var in = p.getOutputStream()) {
      in.write(script.getBytes(StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isZero();
    return out;
  }

  static PodPlan plain(String name, String uid) {
    return pod(name)
        .uid(uid)
        .main(container("main", "img", List.of("sh", "-c", "true"), List.of()))
        .build();
  }

  @Test
  void eachPodGetsItsFilesWithTheirModesAndItsOwnResult() throws Exception {
    byte[] binary = new byte[256];
    for (int i = 0; i < 256; i++) {
      binary[i] = (byte) i;
    }
    String odd = "it's 100% \\n $HOME `x` \"q\"\n\u00e9\u4e2d\n";
    PodPlan withFiles =
        pod("files")
            .uid(UUID.randomUUID().toString())
            .main(
                Plans.with(
                    container("main", "img", List.of("echo", odd), List.of()),
                    Map.of("TOKEN", "s3cr3t'\"$"),
                    null,
                    null,
                    null))
            .volume(
                new VolumePlan(
                    "cfg",
                    VolumePlan.Type.CONFIG_MAP,
                    List.of(
                        new VolumePlan.FilePlan("bin/all-bytes", binary, 0644),
                        new VolumePlan.FilePlan("./run.sh", "#!/bin/sh\n".getBytes(), 0755),
                        new VolumePlan.FilePlan(
                            "a//b/odd", odd.getBytes(StandardCharsets.UTF_8), 0400),
                        new VolumePlan.FilePlan("empty", new byte[0], 0600)),
                    null,
                    false))
            .build();
    String rejectedUid = UUID.randomUUID().toString();
    PodPlan rejected =
        pod("rejected")
            .uid(rejectedUid)
            .main(container("main", "img", List.of("true"), List.of()))
            .annotate("partition", "nope")
            .build();
    List<RenderedJob> jobs =
        List.of(
            render(withFiles),
            render(rejected),
            render(plain("flaky", UUID.randomUUID().toString())),
            render(plain("weird", UUID.randomUUID().toString())));
    // Whatever was planted at a pod's directory goes: here a link to a directory outside.
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Files.createDirectories(tmp.resolve("pods"));
    Files.createSymbolicLink(Path.of(jobs.get(0).podDir()), outside);

    String script = BatchScript.build(jobs, tmp.resolve("pods").toString(), NONCE, 30);
    BashCheck.assertSyntax(script);
    String out = run(script);
    var results = BatchScript.parse(out, NONCE, jobs.size());

    assertThat(results.get(0)).isEqualTo(new BatchScript.Outcome("ok", 0, "100"));
    assertThat(results.get(1).kind()).isEqualTo("err");
    assertThat(results.get(1).code()).isEqualTo(1);
    assertThat(JobSubmitter.sbatchFailed(1, results.get(1).value()))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> {
              assertThat(e.reason()).isEqualTo("SlurmRejected");
              assertThat(e.getMessage())
                  .isEqualTo("sbatch rejected the job: invalid partition specified: nope");
            });
    assertThat(JobSubmitter.sbatchFailed(1, results.get(2).value()))
        .isInstanceOf(BackendException.Transient.class);
    assertThat(results.get(3).kind()).isEqualTo("noid");
    assertThat(results.get(3).value()).isEqualTo("no id here");

    Path dir = Path.of(jobs.get(0).podDir());
    assertThat(Files.isSymbolicLink(dir)).isFalse();
    assertThat(outside).isEmptyDirectory();
    assertThat(perms(dir)).isEqualTo("rwx------");
    assertThat(Files.readString(dir.resolve("submitted"))).isEqualTo("100\n");
    assertThat(Files.readString(dir.resolve("job.sh"))).isEqualTo(jobs.get(0).script());
    assertThat(perms(dir.resolve("job.sh"))).isEqualTo("rw-------");
    for (RenderedJob.RemoteFile f : jobs.get(0).files()) {
      Path p = dir.resolve(BatchScript.normalize(f.path()));
      assertThat(Files.readAllBytes(p)).as(f.path()).isEqualTo(f.content());
      assertThat(perms(p)).as(f.path()).isEqualTo(LocalJob.perms(f.mode()));
    }
    assertThat(Files.readAllBytes(dir.resolve("vol/cfg/bin/all-bytes"))).isEqualTo(binary);
    // A pod sbatch refused leaves nothing (its env file held a secret).
    assertThat(tmp.resolve("pods").resolve(rejectedUid)).doesNotExist();
    assertThat(Path.of(jobs.get(2).podDir())).doesNotExist();
  }

  @Test
  void aDirectorySwappedForALinkAfterMkdirFailsThatPodAloneAndNothingIsWrittenThrough()
      throws Exception {
    List<RenderedJob> jobs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      jobs.add(render(plain("p" + i, UUID.randomUUID().toString())));
    }
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    String dir1 = Shell.quote(jobs.get(1).podDir());
    String script =
        BatchScript.build(jobs, tmp.resolve("pods").toString(), NONCE, 30)
            .replace(
                "hpcb_pod 1 ",
                "rm -rf "
                    + dir1
                    + "; ln -s "
                    + Shell.quote(outside.toString())
                    + " "
                    + dir1
                    + "\nhpcb_pod 1 ");
    var results = BatchScript.parse(run(script), NONCE, 3);
    assertThat(results.get(0).ok()).isTrue();
    assertThat(results.get(1).kind()).isEqualTo("prep");
    assertThat(results.get(1).value()).contains("not the directory this command made");
    assertThat(results.get(2).ok()).isTrue();
    assertThat(outside).isEmptyDirectory();
  }

  @Test
  void aPodWhoseDirectoryCannotBeMadeFailsWithMkdirsWords() throws Exception {
    List<RenderedJob> jobs = List.of(render(plain("p", UUID.randomUUID().toString())));
    // The work root is a file: nothing can be made below it.
    Files.writeString(tmp.resolve("pods"), "x");
    var results =
        BatchScript.parse(
            run(BatchScript.build(jobs, tmp.resolve("pods").toString(), NONCE, 30)), NONCE, 1);
    assertThat(results.get(0).kind()).isEqualTo("prep");
    assertThat(results.get(0).value()).contains(jobs.get(0).podDir()).contains("Not a directory");
  }

  @Test
  void podsStartedAfterTheDeadlineAreReportedNotSubmitted() throws Exception {
    List<RenderedJob> jobs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      jobs.add(render(plain("p" + i, UUID.randomUUID().toString())));
    }
    String script =
        BatchScript.build(jobs, tmp.resolve("pods").toString(), NONCE, 2)
            .replace("hpcb_pod 1 ", "sleep 2.1; hpcb_pod 1 ");
    var results = BatchScript.parse(run(script), NONCE, 3);
    assertThat(results.get(0).ok()).isTrue();
    assertThat(results.get(1).kind()).isEqualTo("late");
    assertThat(results.get(2).kind()).isEqualTo("late");
    assertThat(Path.of(jobs.get(1).podDir())).doesNotExist();
  }

  @Test
  void printfFormatRoundTripsAnyBytes() throws Exception {
    Random r = new Random(42);
    StringBuilder script = new StringBuilder();
    List<byte[]> contents = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      byte[] b = new byte[r.nextInt(300)];
      r.nextBytes(b);
      contents.add(b);
      script.append("printf -- ").append(BatchScript.printfFormat(b)).append(" >");
      script.append(Shell.quote(tmp.resolve("f" + i).toString())).append('\n');
    }
    BashCheck.assertSyntax(script.toString());
    run(script.toString());
    for (int i = 0; i < contents.size(); i++) {
      assertThat(Files.readAllBytes(tmp.resolve("f" + i))).isEqualTo(contents.get(i));
    }
  }

  @Test
  void parseKeepsOnlyWellFormedLinesOfThisScriptOncePerPod() {
    String msg = Base64.getEncoder().encodeToString("sbatch: error: nope".getBytes());
    String other = "ffffffffffffffffffffffffffffffff";
    String out =
        String.join(
            "\n",
            NONCE + " 0 ok 0 17",
            NONCE + " 1 err 1 " + msg,
            other + " 2 ok 0 99", // another script's nonce
            NONCE + " 3 ok 0 18",
            NONCE + " 3 ok 0 19", // reported twice: neither counts
            NONCE + " 9 ok 0 20", // out of range
            NONCE + " 4 ok 0 12a", // not an id
            NONCE + " 4 ok 0 1234567890123456789", // id too long
            NONCE + " 4 err 1 !!!!", // not base64
            NONCE + " 4 ok 0 21 extra",
            NONCE + " 4 bogus 0 21",
            " " + NONCE + " 4 ok 0 21",
            NONCE + " 5 late 0 ",
            "garbage");
    var r = BatchScript.parse(out, NONCE, 6);
    assertThat(r).containsOnlyKeys(0, 1, 5);
    assertThat(r.get(0)).isEqualTo(new BatchScript.Outcome("ok", 0, "17"));
    assertThat(r.get(1)).isEqualTo(new BatchScript.Outcome("err", 1, "sbatch: error: nope"));
    assertThat(r.get(5)).isEqualTo(new BatchScript.Outcome("late", 0, ""));
  }

  @Test
  void aPathOutsideThePodsDirectoryIsRefused() {
    assertThat(BatchScript.normalize("./a//b/./c")).isEqualTo("a/b/c");
    assertThatThrownBy(() -> BatchScript.normalize("a/../../b"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> BatchScript.normalize("./"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void batchesAreEvenAndBoundedAndShortListsAreSpreadOverTheChannels() {
    assertThat(JobSubmitter.batchPods(130, 16 << 20, 1)).isEqualTo(44); // 44, 44, 42
    assertThat(JobSubmitter.batchPods(130, 16 << 20, 4)).isEqualTo(33); // 33, 33, 33, 31
    assertThat(JobSubmitter.batchPods(1000, 16 << 20, 4)).isEqualTo(63); // 16 commands
    assertThat(JobSubmitter.batchPods(100, 16 << 20, 4)).isEqualTo(25);
    assertThat(JobSubmitter.batchPods(49, 16 << 20, 4)).isEqualTo(13); // 13, 13, 13, 10
    assertThat(JobSubmitter.batchPods(40, 16 << 20, 4)).isEqualTo(14); // about 16 at least
    assertThat(JobSubmitter.batchPods(5, 16 << 20, 4)).isEqualTo(5);
    assertThat(JobSubmitter.batchPods(1, 16 << 20, 4)).isEqualTo(1);
    assertThat(JobSubmitter.batchPods(0, 16 << 20, 4)).isEqualTo(1);
    // Each pod's result line must fit what a command may print.
    assertThat(JobSubmitter.batchPods(100, 20 * (BatchScript.MAX_LINE + 1), 1)).isEqualTo(20);
  }

  static String perms(Path p) throws Exception {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }
}
