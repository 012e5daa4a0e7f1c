package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The in-job wrapper, run locally with runtime none (no Slurm). */
class WrapperTest {
  @TempDir Path root;

  static io.hpcbridge.backend.ContainerPlan sh(String name, String script) {
    return container(name, "", List.of("sh", "-c", script), List.of());
  }

  @Test
  void initContainersRunInOrderThenContainersInParallelAndTheJobExitsWithTheHighestCode()
      throws Exception {
    PodPlan plan =
        pod("p")
            .init(sh("first", "echo one >> order"))
            .init(sh("second", "echo two >> order"))
            .main(
                sh(
                    "a",
                    "touch a.started; while [ ! -e b.started ]; do sleep 0.05; done; echo out-a;"
                        + " exit 3"))
            .main(
                sh(
                    "b",
                    "touch b.started; while [ ! -e a.started ]; do sleep 0.05; done; echo err-b"
                        + " >&2; exit 7"))
            .main(sh("c", "exit 0"))
            .build();
    LocalJob job = new LocalJob(root, plan, Map.of()).start();
    assertThat(job.await()).isEqualTo(7);
    assertThat(job.read("order")).isEqualTo("one\ntwo\n");
    assertThat(job.read("c/a/exit")).startsWith("3 ");
    assertThat(job.read("c/b/exit")).startsWith("7 ");
    assertThat(job.read("c/c/exit")).startsWith("0 ");
    assertThat(job.read("done")).startsWith("7 ");
    assertThat(job.log("a")).isEqualTo("out-a\n");
    assertThat(job.log("b")).isEqualTo("err-b\n");
    assertThat(job.read("c/a/log")).matches("\\d{10}\\.\\d{6} out-a\\n");
    assertThat(job.read("node")).isNotBlank();
  }

  @Test
  void aFailingInitContainerStopsThePod() throws Exception {
    PodPlan plan =
        pod("p")
            .init(sh("bad", "echo failing; exit 4"))
            .init(sh("never", "touch never"))
            .main(sh("main", "touch main"))
            .build();
    LocalJob job = new LocalJob(root, plan, Map.of()).start();
    assertThat(job.await()).isEqualTo(4);
    assertThat(job.read("c/bad/exit")).startsWith("4 ");
    assertThat(job.read("never")).isNull();
    assertThat(job.read("main")).isNull();
    assertThat(job.read("c/main/exit")).isNull();
  }

  @Test
  void onFailureRestartsAFailedContainerAndCounts() throws Exception {
    PodPlan plan =
        pod("p")
            .policy(PodPlan.RestartPolicy.ON_FAILURE)
            .main(
                sh(
                    "flaky",
                    "echo run >> runs; [ $(wc -l < runs) -ge 3 ] || { echo failing; exit 2; }; echo"
                        + " fine"))
            .build();
    LocalJob job = new LocalJob(root, plan, Map.of()).start();
    assertThat(job.await()).isZero();
    assertThat(job.read("runs")).isEqualTo("run\nrun\nrun\n");
    assertThat(job.read("c/flaky/restarts")).isEqualTo("2\n");
    assertThat(job.read("c/flaky/last")).startsWith("2 ");
    assertThat(job.log("flaky")).isEqualTo("fine\n");
    assertThat(job.read("c/flaky/previous.log")).endsWith(" failing\n");
  }

  @Test
  void termReachesTheContainerWhichMayExitCleanly() throws Exception {
    PodPlan plan =
        pod("p")
            .main(
                sh(
                    "main",
                    "trap 'echo got-term; echo term > term; exit 0' TERM; echo ready; touch ready;"
                        + " while :; do sleep 0.1; done"))
            .main(sh("other", "touch other; exec sleep 300"))
            .build();
    LocalJob job = new LocalJob(root, plan, Map.of()).start();
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () -> Files.exists(job.dir.resolve("ready")) && Files.exists(job.dir.resolve("other")));
    new ProcessBuilder("kill", "-TERM", String.valueOf(job.process.pid())).start().waitFor();
    assertThat(job.await()).isEqualTo(143);
    assertThat(job.read("term")).isEqualTo("term\n");
    assertThat(job.read("c/main/exit")).startsWith("0 ");
    assertThat(job.read("c/other/exit")).startsWith("143 ");
    assertThat(job.log("main")).startsWith("ready\n").endsWith("got-term\n");
  }

  @Test
  void envAndArgsStayInPrivateFilesNotTheScriptAndAreGoneWhenTheJobEnds() throws Exception {
    // TOKEN comes from a Secret and was expanded into the args ($(TOKEN)), like the bridge does.
    var c =
        new io.hpcbridge.backend.ContainerPlan(
            "main",
            "",
            null,
            List.of("sh", "-c", "printf '%s' \"$TOKEN\" > token; printf '%s' \"$1\" > arg"),
            List.of("x", "--password=s3cr3t-value"),
            null,
            Map.of("TOKEN", "s3cr3t-value"),
            java.util.Set.of("TOKEN"),
            null,
            List.of(),
            List.of());
    PodPlan plan =
        pod("p")
            .volume(
                new io.hpcbridge.backend.VolumePlan(
                    "creds",
                    io.hpcbridge.backend.VolumePlan.Type.SECRET,
                    List.of(Plans.file("key", "s3cr3t-file", 0600)),
                    null,
                    true))
            .main(c)
            .build();
    LocalJob job = new LocalJob(root, plan, Map.of()).start();
    assertThat(job.job.script()).doesNotContain("s3cr3t");
    for (String f : List.of("env/main.env", "run/main.argv", "vol/creds/key")) {
      assertThat(job.job.files())
          .filteredOn(rf -> rf.path().equals(f))
          .singleElement()
          .satisfies(rf -> assertThat(rf.mode()).as(f).isEqualTo(0600));
    }
    assertThat(job.await()).isZero();
    assertThat(job.read("token")).isEqualTo("s3cr3t-value");
    assertThat(job.read("arg")).isEqualTo("--password=s3cr3t-value");
    // The job is over: its env, command lines and secret volumes are removed.
    assertThat(job.dir.resolve("env")).doesNotExist();
    assertThat(job.dir.resolve("run")).doesNotExist();
    assertThat(job.dir.resolve("vol/creds")).doesNotExist();
  }

  @Test
  void podEnvReachesOnlyTheContainerNeverTheLaunchers() throws Exception {
    // A PATH and an LD_PRELOAD that would break (or hijack) setsid, setpriv or bash if they saw
    // them: the container sees them, nothing before it does.
    Path bin = Files.createDirectories(root.resolve("evil-bin"));
    Files.writeString(bin.resolve("setsid"), "#!/bin/sh\necho hijacked > hijacked\n");
    bin.resolve("setsid").toFile().setExecutable(true);
    PodPlan plan =
        pod("p")
            .main(
                Plans.with(
                    sh("main", "printf '%s|%s' \"$PATH\" \"$LD_PRELOAD\" > seen; exit 0"),
                    new java.util.LinkedHashMap<>(
                        Map.of("PATH", bin + ":/usr/bin:/bin", "LD_PRELOAD", "/nonexistent.so")),
                    null,
                    null,
                    null))
            .build();
    LocalJob job = new LocalJob(root, plan, Map.of()).start();
    assertThat(job.await()).as(job.read("slurm.out")).isZero();
    assertThat(job.read("seen")).isEqualTo(bin + ":/usr/bin:/bin|/nonexistent.so");
    assertThat(job.read("hijacked")).isNull();
    // The dynamic loader complains once: for the container's own sh, not for setsid, setpriv or
    // the bash before it.
    assertThat(job.log("main").lines().filter(l -> l.contains("LD_PRELOAD"))).hasSize(1);
  }

  @Test
  void aBindSourceThroughASymlinkTheWrapperDidNotMakeIsNotBound() throws Exception {
    // A runtime that only says it started: the wrapper's check comes before it.
    Path runtime = root.resolve("fake-apptainer");
    Files.writeString(runtime, "#!/bin/sh\necho started\n");
    runtime.toFile().setExecutable(true);
    Path real = Files.createDirectories(root.resolve("shared/real"));
    // Planted by a pod that writes the hostPath: a link to the account's home.
    Path home = Files.createDirectories(root.resolve("home/.ssh"));
    Path planted = Files.createSymbolicLink(root.resolve("shared/x"), home.getParent());
    ContainerPlan hello = container("good", "busybox", List.of("true"), List.of());
    PodPlan plan =
        pod("p")
            .volume(
                new VolumePlan("ok", VolumePlan.Type.HOST_PATH, List.of(), real.toString(), false))
            .volume(
                new VolumePlan(
                    "link", VolumePlan.Type.HOST_PATH, List.of(), planted + "/.ssh", false))
            .volume(new VolumePlan("e", VolumePlan.Type.EMPTY_DIR, List.of(), null, false))
            .main(Plans.with(hello, null, null, null, List.of(mount("ok"))))
            .main(Plans.with(renamed(hello, "host"), null, null, null, List.of(mount("link"))))
            .main(Plans.with(renamed(hello, "empty"), null, null, null, List.of(mount("e"))))
            .build();
    LocalJob job =
        new LocalJob(
            root,
            plan,
            Map.of(
                "runtime",
                "apptainer",
                "runtimeBinaries",
                Map.of("apptainer", runtime.toString())));
    assertThat(job.job.files())
        .filteredOn(f -> f.path().equals("run/host.binds"))
        .singleElement()
        .satisfies(f -> assertThat(f.mode()).isEqualTo(0600));
    // vol/e swapped for a link to / before the job starts (a runtime none pod of the account
    // could).
    Files.createDirectories(job.dir.resolve("vol"));
    Files.createSymbolicLink(job.dir.resolve("vol/e"), Path.of("/"));
    job.start();
    assertThat(job.await()).isEqualTo(126);
    assertThat(job.read("c/good/exit")).startsWith("0 ");
    assertThat(job.log("good")).isEqualTo("started\n");
    assertThat(job.read("c/host/exit")).startsWith("126 ");
    assertThat(job.log("host"))
        .isEqualTo(
            "hpc-bridge: not binding "
                + planted
                + "/.ssh: "
                + planted
                + " is a symbolic link the bridge did not make (a hostPath may pass only through"
                + " links root owns)\n");
    assertThat(job.read("c/empty/exit")).startsWith("126 ");
    assertThat(job.log("empty")).contains(job.dir + "/vol/e is a symbolic link");
  }

  static ContainerPlan.Mount mount(String volume) {
    return new ContainerPlan.Mount(volume, "/w", null, false);
  }

  static ContainerPlan renamed(ContainerPlan c, String name) {
    return container(name, c.image(), c.command(), c.args());
  }
}
