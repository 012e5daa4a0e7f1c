package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.slurm.transport.LocalTransport;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * observe() over many pods, run for real (bash, the status reader) with a stand-in {@code squeue}
 * and a transport whose output cap is small: pods are observed in batches sized so that no batch
 * can pass the cap, and a pod whose files would print too much fails alone.
 */
class JobObserverTest {
  static final int CAP = 512 << 10;

  @TempDir Path root;

  /** A local transport that finds the stand-in squeue first and prints at most {@link #CAP}. */
  final class SmallTransport implements Transport {
    final LocalTransport local = new LocalTransport(Duration.ofSeconds(60));
    final AtomicInteger commands = new AtomicInteger();

    @Override
    public Result exec(String script, byte[] stdin) throws BackendException.Transient {
      commands.incrementAndGet();
      Result r = local.exec("export PATH=" + root.resolve("bin") + ":$PATH\n" + script, stdin);
      if (r.out().length > CAP) {
        throw new BackendException.Transient("a command printed more than " + CAP + " bytes");
      }
      return r;
    }

    @Override
    public int maxOutput() {
      return CAP;
    }

    @Override
    public void write(List<FileWrite> files) {
      throw new UnsupportedOperationException();
    }

    @Override
    public void replace(String base, List<FileWrite> files) {
      throw new UnsupportedOperationException();
    }

    @Override
    public String describe() {
      return "small";
    }

    @Override
    public void close() {}
  }

  /** A pod whose 64 containers have long names: about 24 KiB of status, all of it legitimate. */
  Path pod(String uid) throws Exception {
    Path d = Files.createDirectories(root.resolve("pods").resolve(uid));
    StringBuilder manifest = new StringBuilder();
    for (int i = 0; i < 64; i++) {
      String name = String.format("container-%02d-", i) + "x".repeat(49);
      manifest.append("main ").append(name).append('\n');
      Path c = Files.createDirectories(d.resolve("c").resolve(name));
      Files.writeString(c.resolve("start"), "1795559298\n");
      Files.writeString(c.resolve("restarts"), "0\n");
    }
    Files.writeString(d.resolve("manifest"), manifest.append("policy Never\n"));
    Files.writeString(d.resolve("started"), "1795559298\n");
    return d;
  }

  @Test
  void manyPodsAreObservedInBatchesAndAPodThatPrintsTooMuchFailsAlone() throws Exception {
    Path bin = Files.createDirectories(root.resolve("bin"));
    // squeue -h -a -t all -o FORMAT -j ID,ID…: every job is running.
    Files.writeString(
        bin.resolve("squeue"),
        "#!/bin/bash\n"
            + "while [ $# -gt 0 ]; do [ \"$1\" = -j ] && ids=$2; shift; done\n"
            + "for id in $(tr , '\\n' <<< \"$ids\" | sort -u); do\n"
            + "  echo \"$id|hpcb-x|RUNNING|c1|1795559290|1795559291|1795600000|None|hpc|c\"\n"
            + "done\n");
    bin.resolve("squeue").toFile().setExecutable(true);
    List<Handle> handles = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      String uid = String.format("%08d-0000-4000-8000-000000000000", i);
      pod(uid);
      handles.add(new SlurmHandle(String.valueOf(100 + i), uid).handle());
    }
    // 16 KiB of empty lines in its manifest: each line printed with its prefix is 750 KiB.
    Files.writeString(pod("greedy").resolve("manifest"), "\n".repeat(16384));
    Handle greedy = new SlurmHandle("99", "greedy").handle();
    handles.add(15, greedy);

    SmallTransport t = new SmallTransport();
    LoginNode login =
        new LoginNode(SlurmConfig.parse(Map.of("workRoot", root.resolve("pods").toString())), t);
    login.account();
    t.commands.set(0);
    Map<Handle, Observed> seen = new JobObserver(login).observe(handles);

    int batch = JobObserver.batchSize(CAP);
    assertThat(batch).isEqualTo(3);
    assertThat(t.commands.get()).isEqualTo((handles.size() + batch - 1) / batch);
    assertThat(seen).hasSize(31);
    for (Handle h : handles) {
      if (h.equals(greedy)) {
        continue;
      }
      assertThat(seen.get(h).phase()).as(h.id()).isEqualTo(Phase.RUNNING);
      assertThat(seen.get(h).containers()).as(h.id()).hasSize(64);
    }
    assertThat(seen.get(greedy).phase()).isEqualTo(Phase.FAILED);
    assertThat(seen.get(greedy).reason()).isEqualTo("InvalidJobState");
    assertThat(seen.get(greedy).message()).contains("files (toolarge)");
  }

  @Test
  void aBatchOfTheRealCapIsLarge() {
    // 16 MiB over the worst a pod may print (its files, its squeue line).
    assertThat(JobObserver.batchSize(Transport.MAX_OUTPUT)).isEqualTo(124);
  }
}
