package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.slurm.transport.LocalTransport;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The status reader (status.sh) run for real over pod directories a hostile pod prepared: FIFOs,
 * symlinks to /dev/zero or to another pod's secrets, huge and garbage files. Each such pod is
 * reported failed with InvalidJobState; the well-behaved pod next to them reads normally, at once.
 */
class PodFilesTest {
  @TempDir Path root;

  Path pod(String uid, String manifest) throws Exception {
    Path d = Files.createDirectories(root.resolve(uid).resolve("c/main"));
    Files.writeString(d.getParent().getParent().resolve("manifest"), manifest);
    return d.getParent().getParent();
  }

  void fifo(Path p) throws Exception {
    assertThat(new ProcessBuilder("mkfifo", p.toString()).start().waitFor()).isZero();
  }

  @Test
  void aHostilePodsFilesFailOnlyThatPodAndNothingStalls() throws Exception {
    Path good = pod("good", "main main\npolicy Never\n");
    Files.writeString(good.resolve("jobid"), "41\n");
    Files.writeString(good.resolve("node"), "c1 10.0.0.1\n");
    Files.writeString(good.resolve("c/main/start"), "1795559298\n");
    Files.writeString(good.resolve("c/main/exit"), "0 1795559299\n");
    Files.createDirectories(good.resolve("env"));
    Files.writeString(good.resolve("env/main.env"), "export TOKEN='s3cr3t'\n");

    fifo(pod("fifo", "main main\n").resolve("done"));
    Files.createSymbolicLink(
        pod("zero", "main main\n").resolve("c/main/exit"), Path.of("/dev/zero"));
    Path stolen = root.resolve("steal");
    Files.createDirectories(stolen);
    Files.createSymbolicLink(stolen.resolve("manifest"), good.resolve("env/main.env"));
    Path huge = pod("huge", "main main\n");
    try (RandomAccessFile f = new RandomAccessFile(huge.resolve("node").toFile(), "rw")) {
      f.setLength(2L << 30); // 2 GiB, sparse
    }
    Files.writeString(pod("long", "main main\n").resolve("started"), "1".repeat(1 << 20));
    Files.writeString(pod("garbage", "main main\n").resolve("c/main/exit"), "0 soon\n");
    Files.writeString(pod("nul", "main main\n").resolve("done"), "0\0 1795559299");
    Path dirLink = root.resolve("dirlink");
    Files.createDirectories(dirLink);
    Files.writeString(dirLink.resolve("manifest"), "main main\n");
    Files.createSymbolicLink(dirLink.resolve("c"), good.resolve("c"));
    Files.createSymbolicLink(root.resolve("podlink"), good);

    List<String> uids =
        List.of(
            "good", "fifo", "zero", "steal", "huge", "long", "garbage", "nul", "dirlink", "podlink",
            "absent");
    SbatchRenderer r =
        new SbatchRenderer(SlurmConfig.parse(Map.of("workRoot", root.toString())), "/nonexistent");
    Instant start = Instant.now();
    String out =
        new LocalTransport(Duration.ofSeconds(30))
            .exec(JobObserver.podFilesCommand(r, uids), null)
            .stdout();
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(5));
    assertThat(out).doesNotContain("s3cr3t").hasSizeLessThan(4096);
    Map<String, PodFiles> files = PodFiles.parse(out);

    PodFiles ok = files.get("good");
    assertThat(ok.problem()).isNull();
    assertThat(ok.jobId()).isEqualTo("41");
    assertThat(ok.containers().get("main").exitCode()).isZero();
    assertThat(ok.nodeIp()).isEqualTo("10.0.0.1");

    assertThat(files.get("fifo").problem()).isEqualTo("done (notregular)");
    assertThat(files.get("zero").problem()).isEqualTo("c/main/exit (notregular)");
    assertThat(files.get("steal").problem()).isEqualTo("manifest (notregular)");
    assertThat(files.get("huge").problem()).isEqualTo("node (invalid)");
    assertThat(files.get("long").problem()).isEqualTo("started (invalid)");
    assertThat(files.get("garbage").problem()).isEqualTo("c/main/exit");
    assertThat(files.get("nul").problem()).isEqualTo("done (invalid)");
    // A symlinked directory is not entered: the pod just has no container files.
    assertThat(files.get("dirlink").problem()).isNull();
    assertThat(files.get("dirlink").containers().get("main").start()).isNull();
    assertThat(files).doesNotContainKeys("podlink", "absent");

    for (String uid : List.of("fifo", "zero", "steal", "huge", "long", "garbage", "nul")) {
      Observed o = StateMapper.map("7", null, files.get(uid));
      assertThat(o.phase()).as(uid).isEqualTo(Phase.FAILED);
      assertThat(o.reason()).as(uid).isEqualTo("InvalidJobState");
    }
    assertThat(StateMapper.map("41", null, ok).phase()).isEqualTo(Phase.FAILED); // JobLost
  }

  /**
   * The reader's command for {@code uids}, with a pod's swap "won": {@code regular} replaces the
   * check before each open, as if the file changed right after it.
   */
  String readWithSwap(List<String> uids, String regular) throws Exception {
    SbatchRenderer r =
        new SbatchRenderer(SlurmConfig.parse(Map.of("workRoot", root.toString())), "/nonexistent");
    String cmd =
        JobObserver.podFilesCommand(r, uids)
            .replace("HPCB_READ_WAIT=" + PodFiles.READ_WAIT_SECONDS, "HPCB_READ_WAIT=1")
            .replace("\nhpcb_pods ", "\nhpcb_regular() { " + regular + "; }\nhpcb_pods ");
    return new LocalTransport(Duration.ofSeconds(30)).exec(cmd, null).stdout();
  }

  Path good(String uid) throws Exception {
    Path p = pod(uid, "main main\npolicy Never\n");
    Files.writeString(p.resolve("jobid"), "41\n");
    return p;
  }

  @Test
  void aFifoSwappedInAfterTheCheckLeavesThatPodUnreadAndStallsNoOther() throws Exception {
    good("before");
    fifo(good("stuck").resolve("done"));
    good("after");
    Instant start = Instant.now();
    // Opened read-only, the FIFO blocks the open: the reader is killed and a new one goes on.
    String out = readWithSwap(List.of("before", "stuck", "after"), "[ ! -L \"$1\" ]");
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
    assertThat(PodFiles.unread(out)).containsExactly("stuck");
    Map<String, PodFiles> files = PodFiles.parse(out);
    assertThat(files).containsOnlyKeys("before", "after");
    assertThat(files.get("before").jobId()).isEqualTo("41");
    assertThat(files.get("after").jobId()).isEqualTo("41");
    assertThat(files.get("after").problem()).isNull();
  }

  @Test
  void aDanglingLinkSwappedInAfterTheCheckCreatesNothing() throws Exception {
    Path target = root.resolve("created-by-the-reader");
    Files.createSymbolicLink(good("dangling").resolve("done"), target);
    String out = readWithSwap(List.of("dangling"), "return 0");
    assertThat(target).doesNotExist();
    assertThat(PodFiles.parse(out).get("dangling").problem()).isEqualTo("done (unreadable)");
  }

  @Test
  void valuesMustBeExactlyWhatTheWrapperWrites() {
    assertThat(PodFiles.valid("manifest", "init a\nmain b-2\npolicy OnFailure")).isTrue();
    assertThat(PodFiles.valid("manifest", "main B")).isFalse();
    assertThat(PodFiles.valid("manifest", "main a b")).isFalse();
    assertThat(PodFiles.valid("jobid", "")).isTrue();
    assertThat(PodFiles.valid("jobid", "12_3")).isFalse();
    assertThat(PodFiles.valid("submitted", "1234567890123456789")).isFalse();
    assertThat(PodFiles.valid("done", "143 1795559299")).isTrue();
    assertThat(PodFiles.valid("done", "-1 1795559299")).isFalse();
    assertThat(PodFiles.valid("node", "c1 ")).isTrue();
    assertThat(PodFiles.valid("node", "c1 fe80::1")).isTrue();
    assertThat(PodFiles.valid("node", "c1 $(id)")).isFalse();
    assertThat(PodFiles.valid("c/x/last", "3 1795559298 1795559299")).isTrue();
    assertThat(PodFiles.valid("c/x/restarts", "99999999999")).isFalse();
    assertThat(PodFiles.valid("c/x/pid", "1")).isFalse();
  }
}
