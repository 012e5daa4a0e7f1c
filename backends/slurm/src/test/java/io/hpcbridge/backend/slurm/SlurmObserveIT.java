package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.slurm.transport.SshTransport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Observing hundreds of pods on the real Slurm test cluster costs at most two remote calls: real
 * jobs (running and ended) next to pod directories written straight onto the shared /home, whose
 * job ids Slurm never knew (the "left the queue" path). With {@code
 * -Dslurm.observe.scale=1000,10000} it also times one observe of that many fabricated pods and
 * prints the figures.
 */
class SlurmObserveIT {
  static SlurmCluster cluster;
  static CountingTransport transport;
  static SlurmBackend backend;

  @BeforeAll
  static void up() throws Exception {
    cluster = SlurmCluster.start();
    Map<String, Object> settings = new LinkedHashMap<>(cluster.settings());
    settings.put("commandTimeout", "300s"); // room for the timing runs on a busy machine
    SlurmConfig config = SlurmConfig.parse(settings);
    transport = new CountingTransport(new SshTransport(config.ssh(), config.commandTimeout()));
    backend = new SlurmBackend(config, transport);
    backend.renderer(); // learns the account once, before anything is counted
  }

  @AfterAll
  static void down() {
    if (backend != null) {
      backend.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /**
   * Writes {@code n} pod directories as the wrapper leaves them for one container, with job ids
   * from 900000 up; even ones finished (exit 0), odd ones without an exit status. One bash, no
   * process per file.
   */
  static List<Handle> fabricate(String prefix, int n) throws Exception {
    String script =
        "mkdir -p ~/pods && cd ~/pods && d=() && for ((i = 0; i < N; i++)); do"
            + " printf -v u 'P-%08d-0000-4000-8000-000000000000' $i; d+=(\"$u/c/main\"); done"
            + " && mkdir -p \"${d[@]}\" && for ((i = 0; i < N; i++)); do"
            + " printf -v u 'P-%08d-0000-4000-8000-000000000000' $i;"
            + " printf 'main main\\npolicy Never\\n' > $u/manifest;"
            + " echo $((900000 + i)) > $u/jobid; echo $((900000 + i)) > $u/submitted;"
            + " echo 'c1 172.18.0.3' > $u/node; echo 1795559298 > $u/started;"
            + " echo 1795559298 > $u/c/main/start; echo 0 > $u/c/main/restarts;"
            + " if ((i % 2 == 0)); then echo '0 1795559300' > $u/c/main/exit;"
            + " echo '0 1795559300' > $u/done; fi; done";
    var r = cluster.loginExec(script.replace("N;", n + ";").replace("P-", prefix + "-"));
    assertThat(r.getExitCode()).as(r.getStderr()).isZero();
    List<Handle> handles = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String uid = String.format("%s-%08d-0000-4000-8000-000000000000", prefix, i);
      handles.add(new SlurmHandle(String.valueOf(900000 + i), uid).handle());
    }
    return handles;
  }

  static void assertFabricated(List<Handle> handles, Map<Handle, Observed> seen) {
    for (int i = 0; i < handles.size(); i++) {
      Observed o = seen.get(handles.get(i));
      assertThat(o).as(handles.get(i).id()).isNotNull();
      if (i % 2 == 0) {
        assertThat(o.phase()).as(handles.get(i).id()).isEqualTo(Phase.SUCCEEDED);
      } else {
        assertThat(o.reason()).as(handles.get(i).id()).isEqualTo("JobLost");
      }
    }
  }

  @Test
  void hundredsOfPodsRealAndLeftTheQueueCostAtMostTwoCalls() throws Exception {
    List<Handle> real = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      String script = i % 2 == 0 ? "echo done" : "sleep 300";
      real.add(
          backend.submit(
              pod("observe-" + i)
                  .uid(UUID.randomUUID().toString())
                  .main(container("main", "busybox:1.36", List.of("sh", "-c", script), List.of()))
                  .build()));
    }
    await()
        .atMost(Duration.ofSeconds(150))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              Map<Handle, Observed> seen = backend.observe(real);
              for (int i = 0; i < real.size(); i++) {
                Phase want = i % 2 == 0 ? Phase.SUCCEEDED : Phase.RUNNING;
                if (seen.get(real.get(i)).phase() != want) {
                  return false;
                }
              }
              return true;
            });
    List<Handle> fabricated = fabricate("it", 300);
    List<Handle> all = new ArrayList<>(real);
    all.addAll(fabricated);

    long before = transport.calls.get();
    Map<Handle, Observed> seen = backend.observe(real);
    assertThat(transport.calls.get() - before).isEqualTo(1); // all in the queue: squeue only
    assertThat(seen).hasSize(real.size());

    before = transport.calls.get();
    long t0 = System.nanoTime();
    seen = backend.observe(all);
    System.out.printf(
        "observe of %d pods: %d calls, %.2f s%n",
        all.size(), transport.calls.get() - before, (System.nanoTime() - t0) / 1e9);
    assertThat(transport.calls.get() - before).isEqualTo(2);
    assertThat(seen).hasSize(all.size());
    for (int i = 0; i < real.size(); i++) {
      assertThat(seen.get(real.get(i)).phase())
          .isEqualTo(i % 2 == 0 ? Phase.SUCCEEDED : Phase.RUNNING);
    }
    assertFabricated(fabricated, seen);
  }

  @Test
  void timesOneObserveOfManyPods() throws Exception {
    String scale = System.getProperty("slurm.observe.scale", "");
    for (String s : scale.split(",")) {
      if (s.isBlank()) {
        continue;
      }
      int n = Integer.parseInt(s.trim());
      long t0 = System.nanoTime();
      List<Handle> handles = fabricate("scale" + n, n);
      double made = (System.nanoTime() - t0) / 1e9;
      for (int round = 1; round <= 2; round++) {
        long before = transport.calls.get();
        t0 = System.nanoTime();
        Map<Handle, Observed> seen = backend.observe(handles);
        double took = (System.nanoTime() - t0) / 1e9;
        long calls = transport.calls.get() - before;
        System.out.printf(
            "SCALE observe of %d pods (round %d): %d calls, %.2f s (directories made in %.1f s)%n",
            n, round, calls, took, made);
        assertThat(calls).isLessThanOrEqualTo(2);
        assertFabricated(handles, seen);
      }
      cluster.loginExec("rm -rf ~/pods/scale" + n + "-*");
    }
  }
}
