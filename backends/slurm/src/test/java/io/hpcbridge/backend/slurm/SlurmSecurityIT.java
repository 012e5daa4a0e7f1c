package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.pod;
import static io.hpcbridge.backend.slurm.SecurityPods.SECRET;
import static io.hpcbridge.backend.slurm.SecurityPods.creds;
import static io.hpcbridge.backend.slurm.SecurityPods.hostPath;
import static io.hpcbridge.backend.slurm.SecurityPods.mounted;
import static io.hpcbridge.backend.slurm.SecurityPods.sh;
import static io.hpcbridge.backend.slurm.SecurityPods.victim;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.slurm.transport.SshTransport;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The escapes a pod of one account could try against the other pods of the same account, on the
 * real Slurm test cluster: each is refused, or contained, or (runtime none) shown to be exactly
 * what the bridge's policy must keep from untrusted pods.
 */
class SlurmSecurityIT {
  static SlurmCluster cluster;
  static SlurmBackend backend;
  final List<Handle> started = new ArrayList<>();

  @BeforeAll
  static void up() throws Exception {
    cluster = SlurmCluster.start();
    SlurmConfig config = SlurmConfig.parse(cluster.settings());
    backend = new SlurmBackend(config, new SshTransport(config.ssh(), config.commandTimeout()));
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

  @AfterEach
  void cancelAll() {
    for (Handle h : started) {
      try {
        backend.cancel(h, Duration.ZERO);
      } catch (BackendException e) {
        // gone
      }
    }
  }

  static String uid() {
    return UUID.randomUUID().toString();
  }

  static String login(String cmd) throws Exception {
    return cluster.loginExec(cmd).getStdout();
  }

  Handle submit(PodPlan plan) throws BackendException {
    Handle h = backend.submit(plan);
    started.add(h);
    return h;
  }

  static Observed awaitPhase(Handle h, Phase... phases) {
    Observed[] last = new Observed[1];
    await()
        .atMost(Duration.ofSeconds(120))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              last[0] = backend.observe(List.of(h)).get(h);
              return List.of(phases).contains(last[0].phase());
            });
    return last[0];
  }

  static String logs(Handle h, LogOptions o) throws Exception {
    try (InputStream in = backend.logs(h, "main", o)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** A victim pod that holds its Secret (env, args, volume) while it runs. */
  PodPlan victimPod(String uid) {
    return pod("victim")
        .uid(uid)
        .volume(creds())
        .main(victim("main", "echo ready; sleep 300"))
        .build();
  }

  @Test
  void aSecretIsNeverInTheJobScriptNorInTheRuntimesArgv() throws Exception {
    String uid = uid();
    Handle h = submit(victimPod(uid));
    awaitPhase(h, Phase.RUNNING);
    await().atMost(Duration.ofSeconds(60)).until(() -> logs(h, LogOptions.ALL).contains("ready"));
    String jobId = h.id().split("/")[0];
    // Slurm's own copy of the script, and the pod directory's.
    assertThat(login("scontrol write batch_script " + jobId + " -"))
        .isNotBlank()
        .doesNotContain(SECRET);
    assertThat(login("cat ~/pods/" + uid + "/job.sh")).doesNotContain(SECRET);
    // The runtime was started without it: the shim records its argv.
    String calls = login("grep -F " + uid + " ~/apptainer-calls.log");
    assertThat(calls).contains("[/bin/sh] [-c]").doesNotContain(SECRET);
    // The env and command line files are private while the job runs, and gone once it ends.
    assertThat(
            login(
                "stat -c '%a %n' ~/pods/"
                    + uid
                    + "/env/main.env ~/pods/"
                    + uid
                    + "/run/main.argv ~/pods/"
                    + uid
                    + "/vol/creds/token ~/pods/"
                    + uid
                    + "/vol/creds/tool"))
        .contains("755 /home/hpc/pods/" + uid + "/vol/creds/tool")
        .contains("600 /home/hpc/pods/" + uid + "/env/main.env")
        .contains("600 /home/hpc/pods/" + uid + "/run/main.argv")
        .contains("600 /home/hpc/pods/" + uid + "/vol/creds/token");
    backend.cancel(h, Duration.ofSeconds(2));
    awaitPhase(h, Phase.FAILED, Phase.SUCCEEDED);
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> login("ls ~/pods/" + uid).lines().noneMatch(l -> l.matches("env|run")));
    assertThat(login("ls ~/pods/" + uid + "/vol")).doesNotContain("creds");
  }

  @Test
  void runtimeNoneReadsItsNeighboursSecretsApptainerIsConfined() throws Exception {
    String victimUid = uid();
    Handle victim = submit(victimPod(victimUid));
    awaitPhase(victim, Phase.RUNNING);
    String steal =
        "cat ~/pods/" + victimUid + "/env/main.env ~/pods/" + victimUid + "/vol/creds/token";
    // Runtime none: the same account, the same home, nothing in between. This is why choices()
    // reports the runtime, so that the bridge's policy keeps untrusted pods off runtime none.
    PodPlan none = pod("thief").uid(uid()).main(sh(steal)).annotate("runtime", "none").build();
    assertThat(backend.choices(none)).containsEntry(Backend.CHOICE_RUNTIME, "none");
    Handle thief = submit(none);
    awaitPhase(thief, Phase.SUCCEEDED, Phase.FAILED);
    assertThat(logs(thief, LogOptions.ALL)).contains(SECRET);
    // Apptainer (the default): started with --containall --no-home and bound to its own pod's
    // volumes only, so a real apptainer shows it neither $HOME nor the other pods.
    String thiefUid = uid();
    Handle contained =
        submit(
            pod("thief2")
                .uid(thiefUid)
                .volume(
                    new VolumePlan("scratch", VolumePlan.Type.EMPTY_DIR, List.of(), null, false))
                .main(
                    Plans.with(
                        sh(steal),
                        null,
                        null,
                        null,
                        List.of(new ContainerPlan.Mount("scratch", "/scratch", null, false))))
                .build());
    awaitPhase(contained, Phase.SUCCEEDED, Phase.FAILED);
    String call = login("grep -F /" + thiefUid + "/ ~/apptainer-calls.log");
    assertThat(call).contains("[exec] [--containall] [--no-home] [--env-file]");
    List<String> binds = new ArrayList<>();
    var m = java.util.regex.Pattern.compile("\\[--bind\\] \\[([^\\]]*)\\]").matcher(call);
    while (m.find()) {
      binds.add(m.group(1));
    }
    assertThat(binds).containsExactly("/home/hpc/pods/" + thiefUid + "/vol/scratch:/scratch");
  }

  @Test
  void aSymlinkAPodPlantsIsNeverBoundIntoAContainer() throws Exception {
    // An init container links ../../.. (the work root) into the emptyDir; the main container
    // would bind it with subPath. Refused before anything is shipped.
    String uid = uid();
    PodPlan viaSubPath =
        pod("subpath")
            .uid(uid)
            .volume(new VolumePlan("e", VolumePlan.Type.EMPTY_DIR, List.of(), null, false))
            .init(
                mounted(
                    Plans.container(
                        "plant",
                        "busybox:1.36",
                        List.of("ln", "-s", "../../..", "/e/x"),
                        List.of()),
                    new ContainerPlan.Mount("e", "/e", null, false)))
            .main(mounted(sh("cat /w/*/env/*"), new ContainerPlan.Mount("e", "/w", "x", false)))
            .build();
    assertThatThrownBy(() -> submit(viaSubPath))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("UnsupportedSubPath"));
    assertThat(login("ls ~/pods")).doesNotContain(uid);
    // A hostPath pods of the account write, where one planted a link to $HOME: the wrapper does not
    // bind it. Root's own links (/bin -> usr/bin) are followed.
    login("mkdir -p ~/shared/real && ln -sfn ~ ~/shared/x");
    String hostUid = uid();
    Handle h =
        submit(
            pod("hostpath")
                .uid(hostUid)
                .volume(hostPath("planted", "/home/hpc/shared/x"))
                .volume(hostPath("real", "/home/hpc/shared/real"))
                .volume(hostPath("bin", "/bin"))
                .main(
                    mounted(
                        sh("echo reached"), new ContainerPlan.Mount("planted", "/w", null, true)))
                .main(
                    mounted(
                        Plans.container("ok", "busybox:1.36", List.of("echo", "ok"), List.of()),
                        new ContainerPlan.Mount("real", "/w", null, false),
                        new ContainerPlan.Mount("bin", "/b", null, true)))
                .build());
    Observed o = awaitPhase(h, Phase.FAILED, Phase.SUCCEEDED);
    assertThat(o.phase()).isEqualTo(Phase.FAILED);
    assertThat(logs(h, LogOptions.ALL))
        .contains(
            "hpc-bridge: not binding /home/hpc/shared/x: /home/hpc/shared/x is a symbolic link")
        .doesNotContain("reached");
    try (InputStream in = backend.logs(h, "ok", LogOptions.ALL)) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("ok\n");
    }
    String calls = login("grep -F /" + hostUid + "/ ~/apptainer-calls.log");
    assertThat(calls).contains("[/home/hpc/shared/real:/w]").doesNotContain("/home/hpc/shared/x");
  }

  @Test
  void aForgedJobIdOrAForeignJobWithThePodsNameIsNotAdopted() throws Exception {
    PodRef pod = new PodRef("default", "target", uid());
    String name = "hpcb-" + pod.uid();
    String comment = "hpc-bridge:default/target/" + pod.uid();
    // Another account submits a job with this pod's name and even its comment.
    String foreign =
        cluster
            .loginExecAs(
                "other",
                "sbatch --parsable --chdir=/tmp --output=/dev/null --job-name="
                    + name
                    + " --comment="
                    + comment
                    + " --wrap='sleep 300'")
            .getStdout()
            .trim();
    assertThat(foreign).matches("\\d+");
    // A job of this account with the name but not the comment (a pod could sbatch one).
    String sameName =
        login(
                "sbatch --parsable --output=/dev/null --job-name="
                    + name
                    + " --comment=hpc-bridge:default/other/x --wrap='sleep 300'")
            .trim();
    try {
      assertThat(backend.find(pod)).isEmpty();
      // The pod's directory names those jobs (a runtime-none pod of the account can write it).
      login(
          "mkdir -p ~/pods/"
              + pod.uid()
              + " && echo "
              + foreign
              + " > ~/pods/"
              + pod.uid()
              + "/submitted && echo "
              + sameName
              + " > ~/pods/"
              + pod.uid()
              + "/jobid");
      assertThat(backend.find(pod)).isEmpty();
      // A job id Slurm has never heard of: nothing contradicts the directory, it is adopted.
      login("echo 999999 > ~/pods/" + pod.uid() + "/submitted");
      assertThat(backend.find(pod)).contains(new SlurmHandle("999999", pod.uid()).handle());
    } finally {
      cluster.loginExecAs("other", "scancel " + foreign);
      login("scancel " + sameName + "; rm -rf ~/pods/" + pod.uid());
    }
  }

  @Test
  void aPodsGarbageStatusFilesFailItAloneAndItsSymlinkedLogIsNotServed() throws Exception {
    Handle good = submit(pod("good").uid(uid()).main(sh("echo ok; sleep 300")).build());
    String victimUid = uid();
    Handle victim = submit(victimPod(victimUid));
    // Runtime none runs in its pod's directory: it replaces its status files with a FIFO, a 2 GiB
    // file and a symlink to /dev/zero, and its log with a symlink to the victim's secret.
    String attack =
        "rm -f jobid node started; mkfifo jobid; truncate -s 2G node; ln -s /dev/zero started;"
            + " ln -sfn ~/pods/"
            + victimUid
            + "/vol/creds/token c/main/log; echo planted > planted; sleep 300";
    String uid = uid();
    Handle evil = submit(pod("evil").uid(uid).main(sh(attack)).annotate("runtime", "none").build());
    awaitPhase(good, Phase.RUNNING);
    awaitPhase(victim, Phase.RUNNING);
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> login("cat ~/pods/" + uid + "/planted").contains("planted"));
    Instant start = Instant.now();
    Map<Handle, Observed> seen = backend.observe(List.of(good, evil, victim));
    assertThat(Duration.between(start, Instant.now())).isLessThan(Duration.ofSeconds(10));
    assertThat(seen.get(good).phase()).isEqualTo(Phase.RUNNING);
    assertThat(seen.get(victim).phase()).isEqualTo(Phase.RUNNING);
    assertThat(seen.get(evil).phase()).isEqualTo(Phase.FAILED);
    assertThat(seen.get(evil).reason()).isEqualTo("InvalidJobState");
    assertThat(seen.get(evil).message()).doesNotContain(SECRET);
    assertThatThrownBy(() -> logs(evil, LogOptions.ALL))
        .isInstanceOf(BackendException.NotFound.class)
        .hasMessageContaining("not a regular file");
  }

  @Test
  void updateVolumeReplacesFilesAtomicallyAndNeverThroughASymlink() throws Exception {
    String uid = uid();
    VolumePlan token =
        new VolumePlan(
            "token",
            VolumePlan.Type.PROJECTED,
            List.of(Plans.file("token", "v1", 0600)),
            null,
            true);
    Handle h =
        submit(
            pod("token")
                .uid(uid)
                .volume(token)
                .main(
                    Plans.with(
                        sh("sleep 300"),
                        null,
                        null,
                        null,
                        List.of(new ContainerPlan.Mount("token", "/var/run/token", null, true))))
                .build());
    awaitPhase(h, Phase.RUNNING);
    backend.updateVolume(
        h,
        new VolumePlan(
            "token",
            VolumePlan.Type.PROJECTED,
            List.of(Plans.file("token", "v2", 0600)),
            null,
            true));
    assertThat(login("cat ~/pods/" + uid + "/vol/token/token")).isEqualTo("v2");
    assertThat(login("ls -A ~/pods/" + uid + "/vol/token")).isEqualTo("token\n");
    // The volume's directory swapped for a symlink to ~/.ssh: nothing is written there.
    login(
        "mv ~/pods/"
            + uid
            + "/vol/token ~/pods/"
            + uid
            + "/vol/moved && ln -s ~/.ssh ~/pods/"
            + uid
            + "/vol/token");
    assertThatThrownBy(
            () ->
                backend.updateVolume(
                    h,
                    new VolumePlan(
                        "token",
                        VolumePlan.Type.PROJECTED,
                        List.of(Plans.file("authorized_keys", "ssh-ed25519 AAAA evil", 0600)),
                        null,
                        true)))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("UnsafeVolumePath"));
    assertThat(login("cat ~/.ssh/authorized_keys")).doesNotContain("evil");
  }
}
