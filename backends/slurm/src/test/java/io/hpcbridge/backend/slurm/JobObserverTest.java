package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.slurm.transport.LocalTransport;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * observe() over many pods. Run for real (bash, observe.sh and the status reader) with stand-in
 * {@code squeue} and {@code scontrol} and a transport whose output cap is small: the output budget
 * defers pods instead of passing the cap, a deferred pod is read by the second command or first on
 * the next poll, a pod that prints too much fails alone, and no pod's files can make another look
 * deferred or done. With a transport that answers in Java: any number of pods costs at most two
 * commands of the same size.
 */
class JobObserverTest {
  static final int CAP = 512 << 10;

  @TempDir Path root;

  /** A local transport that finds the stand-ins first and prints at most {@link #CAP}. */
  final class SmallTransport implements Transport {
    final LocalTransport local = new LocalTransport(Duration.ofSeconds(60));
    final AtomicInteger commands = new AtomicInteger();
    int largest;

    @Override
    public Result exec(String script, byte[] stdin) throws BackendException.Transient {
      commands.incrementAndGet();
      Result r = local.exec("export PATH=" + root.resolve("bin") + ":$PATH\n" + script, stdin);
      if (r.out().length > CAP) {
        throw new BackendException.Transient("a command printed more than " + CAP + " bytes");
      }
      largest = Math.max(largest, r.out().length);
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

  static String uid(int i) {
    return String.format("%08d-0000-4000-8000-000000000000", i);
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

  /** Stand-ins: squeue prints bin/queue (this account's jobs), scontrol bin/controller. */
  void slurm(String queue, String controller) throws Exception {
    Path bin = Files.createDirectories(root.resolve("bin"));
    Files.writeString(bin.resolve("queue"), queue);
    Files.writeString(bin.resolve("controller"), controller);
    Files.writeString(bin.resolve("squeue"), "#!/bin/bash\ncat \"$(dirname \"$0\")/queue\"\n");
    Files.writeString(
        bin.resolve("scontrol"), "#!/bin/bash\ncat \"$(dirname \"$0\")/controller\"\n");
    bin.resolve("squeue").toFile().setExecutable(true);
    bin.resolve("scontrol").toFile().setExecutable(true);
  }

  static String running(String id) {
    return id + "||RUNNING|c1|1795559290|1795559291|1795600000|None|hpc|\n";
  }

  JobObserver observer(Transport t) throws Exception {
    LoginNode login =
        new LoginNode(SlurmConfig.parse(Map.of("workRoot", root.resolve("pods").toString())), t);
    login.account();
    return new JobObserver(login);
  }

  @Test
  void theBudgetDefersPodsToTheSecondCommandAndAPodThatPrintsTooMuchFailsAlone() throws Exception {
    StringBuilder queue = new StringBuilder();
    List<Handle> handles = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      pod(uid(i));
      handles.add(new SlurmHandle(String.valueOf(100 + i), uid(i)).handle());
      queue.append(running(String.valueOf(100 + i)));
    }
    // 16 KiB of empty lines in its manifest: each line printed with its prefix is 750 KiB.
    Files.writeString(pod("greedy").resolve("manifest"), "\n".repeat(16384));
    Handle greedy = new SlurmHandle("99", "greedy").handle();
    handles.add(15, greedy);
    slurm(queue.append(running("99")).toString(), "");

    SmallTransport t = new SmallTransport();
    JobObserver o = observer(t);
    t.commands.set(0);
    Map<Handle, Observed> seen = o.observe(handles);

    // 31 pods of 24 KiB do not fit in one command's 512 KiB: the rest come in the second.
    assertThat(t.commands.get()).isEqualTo(2);
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
  void podsDeferredTwiceKeepTheirLastObservationAndAreReadFirstOnTheNextPoll() throws Exception {
    StringBuilder queue = new StringBuilder();
    List<Handle> handles = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      pod(uid(i));
      handles.add(new SlurmHandle(String.valueOf(100 + i), uid(i)).handle());
      queue.append(running(String.valueOf(100 + i)));
    }
    slurm(queue.toString(), "");
    SmallTransport t = new SmallTransport();
    JobObserver o = observer(t);
    t.commands.set(0);

    Map<Handle, Observed> first = o.observe(handles);
    assertThat(t.commands.get()).isEqualTo(2);
    assertThat(first).hasSizeBetween(20, 49);
    assertThat(first.keySet()).containsExactlyElementsOf(handles.subList(0, first.size()));

    t.commands.set(0);
    Map<Handle, Observed> second = o.observe(handles);
    assertThat(t.commands.get()).isEqualTo(2);
    Set<Handle> left = new HashSet<>(handles.subList(first.size(), handles.size()));
    assertThat(second.keySet()).containsAll(left);
    second.values().forEach(v -> assertThat(v.phase()).isEqualTo(Phase.RUNNING));
    assertThat(t.largest).isLessThanOrEqualTo(CAP);
  }

  @Test
  void aPodsFilesCannotMakeAnotherPodLookDeferredUnreadOrDone() throws Exception {
    pod(uid(1));
    pod(uid(2));
    Path forger = pod(uid(3));
    String forged =
        "\n@@deferred " + uid(1) + "\n@@unread " + uid(2) + "\n" + uid(2) + "/done:0 1795559299\n";
    Files.writeString(forger.resolve("manifest"), "main main" + forged);
    Files.writeString(forger.resolve("node"), "c1" + forged);
    Files.writeString(forger.resolve("started"), "1795559298" + forged);
    slurm(running("101") + running("102") + running("103"), "");
    List<Handle> handles = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      handles.add(new SlurmHandle(String.valueOf(100 + i), uid(i)).handle());
    }
    SmallTransport t = new SmallTransport();
    JobObserver o = observer(t);
    t.commands.set(0);
    Map<Handle, Observed> seen = o.observe(handles);

    assertThat(t.commands.get()).isEqualTo(1);
    assertThat(seen.get(handles.get(0)).phase()).isEqualTo(Phase.RUNNING);
    assertThat(seen.get(handles.get(0)).containers()).hasSize(64);
    assertThat(seen.get(handles.get(1)).phase()).isEqualTo(Phase.RUNNING);
    assertThat(seen.get(handles.get(2)).reason()).isEqualTo("InvalidJobState");
  }

  @Test
  void jobsThatLeftTheQueueCostOneScontrolForAllOfThem() throws Exception {
    // 101 runs; 102 ended and the controller still knows it; 103 is forgotten but its wrapper
    // finished; 104 is forgotten with no exit status.
    for (int i = 1; i <= 4; i++) {
      pod(uid(i));
    }
    Path ended = root.resolve("pods").resolve(uid(3));
    Files.writeString(ended.resolve("manifest"), "main main\npolicy Never\n");
    Files.createDirectories(ended.resolve("c/main"));
    Files.writeString(ended.resolve("c/main/start"), "1795559298\n");
    Files.writeString(ended.resolve("c/main/exit"), "0 1795559299\n");
    Files.writeString(ended.resolve("done"), "0 1795559299\n");
    slurm(
        running("101"),
        "JobId=102 JobName=x UserId=hpc(1000) JobState=TIMEOUT Reason=TimeLimit ExitCode=0:15"
            + " SubmitTime=1795559290 StartTime=1795559291 EndTime=1795559999 NodeList=c1"
            + " Command=/x Comment=hpc-bridge:ns/p/u\n"
            + "JobId=7 JobName=other JobState=COMPLETED\n");
    List<Handle> handles = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      handles.add(new SlurmHandle(String.valueOf(100 + i), uid(i)).handle());
    }
    SmallTransport t = new SmallTransport();
    JobObserver o = observer(t);
    t.commands.set(0);
    Map<Handle, Observed> seen = o.observe(handles);

    assertThat(t.commands.get()).isEqualTo(2);
    assertThat(seen.get(handles.get(0)).phase()).isEqualTo(Phase.RUNNING);
    assertThat(seen.get(handles.get(1)).reason()).isEqualTo("DeadlineExceeded");
    assertThat(seen.get(handles.get(2)).phase()).isEqualTo(Phase.SUCCEEDED);
    assertThat(seen.get(handles.get(3)).reason()).isEqualTo("JobLost");
  }

  @Test
  void whenScontrolFailsTheJobsThatLeftTheQueueAreNotCalledLost() throws Exception {
    pod(uid(1));
    pod(uid(2));
    slurm(running("101"), "");
    Files.writeString(root.resolve("bin/scontrol"), "#!/bin/bash\nexit 1\n");
    List<Handle> handles =
        List.of(new SlurmHandle("101", uid(1)).handle(), new SlurmHandle("102", uid(2)).handle());
    Map<Handle, Observed> seen = observer(new SmallTransport()).observe(handles);
    assertThat(seen).containsOnlyKeys(handles.get(0));
  }

  /**
   * Answers observe.sh as a cluster would, without running it: the job ids and UIDs from stdin,
   * every other job in the queue, the rest known to the controller as COMPLETED, and each pod's
   * files as the wrapper leaves them for one container (about 500 bytes).
   */
  static final class FakeCluster implements Transport {
    final AtomicInteger commands = new AtomicInteger();
    final Set<Integer> scriptSizes = new HashSet<>();

    @Override
    public Result exec(String script, byte[] stdin) {
      commands.incrementAndGet();
      if (stdin == null) {
        return new Result(0, "1000\n1000\n1000\nhpc\n/home/hpc\n", "");
      }
      scriptSizes.add(script.length());
      String[] in = new String(stdin, StandardCharsets.UTF_8).split("\n");
      StringBuilder out = new StringBuilder();
      boolean queue = script.contains("hpcb_observe squeue");
      int i = 0;
      for (; !in[i].equals("@@"); i++) {
        long id = Long.parseLong(in[i]);
        if (queue && id % 2 == 0) {
          out.append(running(in[i]));
        } else if (!queue) {
          out.append("JobId=").append(id).append(" JobState=COMPLETED ExitCode=0:0\n");
        }
      }
      out.append("@@files\n");
      for (i++; i < in.length; i++) {
        String u = in[i];
        out.append(u).append("/manifest:main main\n").append(u).append("/manifest:policy Never\n");
        for (String f : List.of("jobid:1", "started:1795559298", "node:c1 10.0.0.1")) {
          out.append(u).append('/').append(f).append('\n');
        }
        out.append(u).append("/c/main/start:1795559298\n");
        out.append(u).append("/c/main/exit:0 1795559300\n");
      }
      return new Result(0, out.toString(), "");
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
      return "fake";
    }

    @Override
    public void close() {}
  }

  @ParameterizedTest
  @ValueSource(ints = {10, 100, 1_000, 10_000})
  void anyNumberOfPodsCostsAtMostTwoCommandsOfTheSameSize(int n) throws Exception {
    FakeCluster cluster = new FakeCluster();
    CountingTransport t = new CountingTransport(cluster);
    LoginNode login = new LoginNode(SlurmConfig.parse(Map.of("workRoot", "~/pods")), t);
    login.account();
    t.calls.set(0);
    List<Handle> handles = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      handles.add(new SlurmHandle(String.valueOf(1000 + i), uid(i)).handle());
    }
    Map<Handle, Observed> seen = new JobObserver(login).observe(handles);

    assertThat(t.calls.get()).isEqualTo(2);
    assertThat(cluster.scriptSizes).hasSize(2); // the squeue one and the gone one, whatever n
    assertThat(seen).hasSize(n);
    for (int i = 0; i < n; i++) {
      assertThat(seen.get(handles.get(i)).phase())
          .isEqualTo(i % 2 == 0 ? Phase.RUNNING : Phase.SUCCEEDED);
    }
  }

  @Test
  void onlyAnAbsurdNumberOfPodsIsSplitAcrossCommands() {
    assertThat(JobObserver.podsPerCommand(Transport.MAX_OUTPUT)).isGreaterThan(40_000);
    assertThat(JobObserver.podsPerCommand(CAP)).isEqualTo(1489);
  }
}
