package io.hpcbridge.backend.local;

import static io.hpcbridge.backend.local.TestPods.PATH;
import static io.hpcbridge.backend.local.TestPods.pod;
import static io.hpcbridge.backend.local.TestPods.sh;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.ContainerStatus;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.Records;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs real processes through the backend API. */
class LocalBackendIT {

  @TempDir Path dir;
  Backend backend;
  final List<Handle> started = new ArrayList<>();

  @BeforeEach
  void setUp() throws IOException {
    // Pods run as nobody: let them write their marker files here.
    Files.setPosixFilePermissions(dir, AtomicFiles.permissions(0777));
    backend = TestPods.backend(dir);
  }

  @AfterEach
  void stopEverything() throws Exception {
    try (Backend b = TestPods.backend(dir)) {
      for (Handle h : started) {
        try {
          b.cancel(h, Duration.ZERO);
        } catch (BackendException.NotFound gone) {
          continue;
        }
        waitFor().until(() -> b.observe(List.of(h)).get(h).phase() != Observed.Phase.RUNNING);
      }
    }
    backend.close();
  }

  static ConditionFactory waitFor() {
    return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50));
  }

  Handle submit(PodPlan plan) throws BackendException {
    Handle h = backend.submit(plan);
    started.add(h);
    return h;
  }

  Observed observe(Handle h) throws BackendException {
    return backend.observe(List.of(h)).get(h);
  }

  Observed awaitTerminal(Handle h) {
    return waitFor().until(() -> observe(h), o -> o.phase().terminal());
  }

  String logs(Handle h, String container, LogOptions o) throws Exception {
    try (InputStream in = backend.logs(h, container, o)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static LogOptions opts() {
    return LogOptions.ALL;
  }

  static ContainerStatus container(Observed o, String name) {
    return o.container(name).orElseThrow();
  }

  // ---- exit codes, init containers, parallel containers, restarts ----------------------------

  @Test
  void exitCodesAndTimesAreRecorded() throws Exception {
    Instant before = Instant.now();
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(sh("ok", "echo fine"), sh("bad", "echo broken >&2; exit 3"))));
    assertThat(h.backend()).isEqualTo("local");
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    ContainerStatus ok = container(o, "ok");
    assertThat(ok.state()).isEqualTo(Observed.State.TERMINATED);
    assertThat(ok.exitCode()).isZero();
    assertThat(ok.reason()).isEqualTo("Completed");
    ContainerStatus bad = container(o, "bad");
    assertThat(bad.exitCode()).isEqualTo(3);
    assertThat(bad.reason()).isEqualTo("Error");
    assertThat(bad.startedAt()).isAfterOrEqualTo(before.minusSeconds(1));
    assertThat(bad.finishedAt()).isAfterOrEqualTo(bad.startedAt());
    assertThat(bad.restartCount()).isZero();
    assertThat(o.hostIP()).matches("\\d+\\.\\d+\\.\\d+\\.\\d+");
    assertThat(o.podIP()).isEqualTo(o.hostIP());
    assertThat(o.startTime()).isNotNull();
    assertThat(logs(h, "ok", opts())).isEqualTo("fine\n");
    assertThat(logs(h, "bad", opts())).isEqualTo("broken\n");
    assertThat(Files.readString(((LocalBackend) backend).podDir(h).resolve("supervisor.log")))
        .contains("pod finished: FAILED")
        .doesNotContain("supervisor failed", "Exception");
  }

  @Test
  void containerPidIsItsOwnProcessGroup() throws Exception {
    Path out = dir.resolve("ids");
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(sh("app", "ps -o pid=,pgid=,sid= -p $$ > " + out))));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    String[] ids = Files.readString(out).trim().split("\\s+");
    assertThat(ids[0]).isEqualTo(ids[1]).isEqualTo(ids[2]);
  }

  @Test
  void failedInitContainerStopsThePod() throws Exception {
    Path marker = dir.resolve("marker");
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(
                    sh("init-1", "echo init-1 >> " + marker),
                    sh("init-2", "exit 5"),
                    sh("init-3", "echo init-3 >> " + marker)),
                List.of(sh("main", "echo main >> " + marker))));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    assertThat(o.reason()).isEqualTo("InitContainerFailed");
    assertThat(o.message()).contains("init-2", "5");
    assertThat(o.initContainers())
        .extracting(ContainerStatus::name)
        .containsExactly("init-1", "init-2", "init-3");
    assertThat(container(o, "init-1").exitCode()).isZero();
    assertThat(container(o, "init-2").exitCode()).isEqualTo(5);
    assertThat(container(o, "init-3").state()).isEqualTo(Observed.State.WAITING);
    assertThat(container(o, "main").state()).isEqualTo(Observed.State.WAITING);
    assertThat(Files.readAllLines(marker)).containsExactly("init-1");
  }

  @Test
  void initContainersRunInOrderBeforeTheContainers() throws Exception {
    Path marker = dir.resolve("order");
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(sh("a", "sleep 0.2; echo a >> " + marker), sh("b", "echo b >> " + marker)),
                List.of(sh("main", "echo main >> " + marker))));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(Files.readAllLines(marker)).containsExactly("a", "b", "main");
  }

  @Test
  void containersRunInParallel() throws Exception {
    // Each waits for the other's file: only possible when both run at the same time.
    Path a = dir.resolve("a");
    Path b = dir.resolve("b");
    String wait =
        "i=0; while [ ! -e %s ]; do i=$((i+1)); [ $i -gt 300 ] && exit 9; sleep 0.1; done";
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(
                    sh("left", "touch " + a + "; " + wait.formatted(b)),
                    sh("right", "touch " + b + "; " + wait.formatted(a)))));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(container(o, "left").exitCode()).isZero();
    assertThat(container(o, "right").exitCode()).isZero();
  }

  @Test
  void podIsRunningWhileItsContainersRun() throws Exception {
    Path release = dir.resolve("release");
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(sh("app", "while [ ! -e " + release + " ]; do sleep 0.05; done"))));
    Observed running = waitFor().until(() -> observe(h), o -> o.phase() == Observed.Phase.RUNNING);
    ContainerStatus c = container(running, "app");
    assertThat(c.state()).isEqualTo(Observed.State.RUNNING);
    assertThat(c.startedAt()).isNotNull();
    Files.createFile(release);
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
  }

  @Test
  void onFailureRestartsInPlaceAndCountsRestarts() throws Exception {
    Path counter = dir.resolve("counter");
    String script =
        "n=$(cat %1$s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %1$s; echo run $n;"
                .formatted(counter)
            + " [ $n -ge 3 ] || exit 4";
    Handle h =
        submit(pod(PodPlan.RestartPolicy.ON_FAILURE, List.of(), List.of(sh("flaky", script))));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    ContainerStatus c = container(o, "flaky");
    assertThat(c.exitCode()).isZero();
    assertThat(c.restartCount()).isEqualTo(2);
    assertThat(c.lastTermination()).isNotNull();
    assertThat(c.lastTermination().exitCode()).isEqualTo(4);
    assertThat(c.lastTermination().reason()).isEqualTo("Error");
    assertThat(Files.readString(counter).trim()).isEqualTo("3");
    assertThat(logs(h, "flaky", opts())).isEqualTo("run 3\n");
    assertThat(logs(h, "flaky", new LogOptions(false, null, false, null, null, null, true)))
        .isEqualTo("run 2\n");
  }

  @Test
  void failedInitContainerIsRetriedUnderOnFailure() throws Exception {
    Path counter = dir.resolve("init-counter");
    String script =
        "n=$(cat %1$s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %1$s; [ $n -ge 2 ]"
            .formatted(counter);
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.ON_FAILURE,
                List.of(sh("setup", script)),
                List.of(sh("main", "echo main"))));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(container(o, "setup").restartCount()).isEqualTo(1);
    assertThat(logs(h, "main", opts())).isEqualTo("main\n");
  }

  @Test
  void alwaysRestartsEvenAfterSuccessUntilStopped() throws Exception {
    Handle h =
        submit(pod(PodPlan.RestartPolicy.ALWAYS, List.of(), List.of(sh("loop", "echo tick"))));
    Observed o = waitFor().until(() -> observe(h), x -> container(x, "loop").restartCount() >= 2);
    assertThat(o.phase()).isEqualTo(Observed.Phase.RUNNING);
    assertThat(container(o, "loop").lastTermination().exitCode()).isZero();
    backend.cancel(h, Duration.ofSeconds(1));
    assertThat(awaitTerminal(h).phase().terminal()).isTrue();
  }

  @Test
  void neverRestartPolicyDoesNotRestart() throws Exception {
    Handle h = submit(pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(sh("once", "exit 1"))));
    Observed o = awaitTerminal(h);
    assertThat(container(o, "once").restartCount()).isZero();
    assertThatThrownBy(
            () -> logs(h, "once", new LogOptions(false, null, false, null, null, null, true)))
        .isInstanceOf(BackendException.NotFound.class)
        .hasMessageContaining("previous");
  }

  // ---- argv and env --------------------------------------------------------------------------

  static final List<String> TRICKY =
      List.of(
          "plain",
          "with space",
          "'single' \"double\"",
          "$HOME $(id) ${PATH} `uname`",
          "back\\slash\\",
          "new\nline\n",
          "tab\there",
          "",
          "-n",
          "--",
          "; rm -rf / &",
          "ünïcödé ☃ 日本語 🚀",
          "*?[a]~");

  @Test
  void argvAndEnvReachTheProcessExactly() throws Exception {
    boolean root = TestPods.rootOrSkipPart();
    List<ContainerPlan> containers = new ArrayList<>();
    Map<String, Map<String, String>> expectedEnv = new HashMap<>();
    List<String> names = root ? List.of("direct", "namespaced") : List.of("direct");
    for (String name : names) {
      Map<String, String> env = new LinkedHashMap<>();
      env.put("OUT_ENV", dir.resolve(name + ".env").toString());
      env.put("OUT_ARGS", dir.resolve(name + ".args").toString());
      for (int i = 0; i < TRICKY.size(); i++) {
        env.put("TRICKY_" + i, TRICKY.get(i));
      }
      env.put("lower.dotted-name", "x=y=z");
      env.put("TZ", "Europe/Paris"); // set after the user switch, like LD_*: still exact
      env.put("LD_BIND_NOW", "1");
      env.put("PATH", "/usr/bin:/bin");
      expectedEnv.put(name, env);
      List<ContainerPlan.Mount> mounts =
          name.equals("namespaced")
              ? List.of(
                  new ContainerPlan.Mount(
                      "scratch", dir.resolve("mnt-scratch").toString(), null, false))
              : List.of();
      containers.add(
          new ContainerPlan(
              name,
              "busybox",
              null,
              List.of(
                  "sh",
                  "-c",
                  "cat /proc/$$/environ > \"$OUT_ENV\"; printf '%s\\0' \"$0\" \"$@\" >"
                      + " \"$OUT_ARGS\""),
              TRICKY,
              null,
              env,
              null,
              null,
              mounts,
              null));
    }
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                containers,
                List.of(new VolumePlan("scratch", VolumePlan.Type.EMPTY_DIR, null, null, false)),
                Optional.empty()));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).as("%s", o).isEqualTo(Observed.Phase.SUCCEEDED);
    for (String name : names) {
      assertThat(split(dir.resolve(name + ".args"))).as(name).containsExactlyElementsOf(TRICKY);
      Map<String, String> env = new HashMap<>();
      for (String kv : split(dir.resolve(name + ".env"))) {
        int eq = kv.indexOf('=');
        env.put(kv.substring(0, eq), kv.substring(eq + 1));
      }
      assertThat(env).as(name).isEqualTo(expectedEnv.get(name));
    }
  }

  private static List<String> split(Path nulSeparated) throws IOException {
    String s = Files.readString(nulSeparated, StandardCharsets.UTF_8);
    List<String> out = new ArrayList<>(List.of(s.split("\0", -1)));
    out.remove(out.size() - 1); // after the last NUL
    return out;
  }

  @Test
  void secretEnvValuesStayOutOfTheSupervisorOutputAndTheReadablePlan() throws Exception {
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "",
            null,
            List.of("sh", "-c", "exit 0"),
            List.of(),
            null,
            Map.of("PATH", "/usr/bin:/bin", "PASSWORD", "hunter2-very-secret"),
            java.util.Set.of("PASSWORD"),
            null,
            null,
            null);
    Handle h = submit(pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(c)));
    awaitTerminal(h);
    Path podDir = ((LocalBackend) backend).podDir(h);
    assertThat(Files.readString(podDir.resolve("supervisor.log"))).doesNotContain("hunter2");
    assertThat(Files.getPosixFilePermissions(podDir.resolve("plan.json")))
        .isEqualTo(AtomicFiles.permissions(0600));
    assertThat(Files.getPosixFilePermissions(podDir)).isEqualTo(AtomicFiles.permissions(0711));
  }

  @Test
  void workingDirIsHonoured() throws Exception {
    Path wd = dir.resolve("work dir with spaces");
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "",
            null,
            List.of("pwd"),
            List.of(),
            wd.toString(),
            PATH,
            null,
            null,
            null,
            null);
    Handle h = submit(pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(c)));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "app", opts())).isEqualTo(wd + "\n");
  }

  @Test
  void missingExecutableFailsTheContainer() throws Exception {
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "",
            null,
            List.of("/no/such/program"),
            List.of(),
            null,
            PATH,
            null,
            null,
            null,
            null);
    Handle h = submit(pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(c)));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    assertThat(container(o, "app").exitCode()).isEqualTo(127);
    assertThat(logs(h, "app", opts())).contains("/no/such/program");
  }

  // ---- volumes -------------------------------------------------------------------------------

  @Test
  void volumesAreVisibleAtTheirMountPaths() throws Exception {
    TestPods.requireRoot();
    Path m = dir.resolve("mnt"); // does not exist: mount points are created
    Path host = Files.createDirectories(dir.resolve("host"));
    Files.writeString(host.resolve("from-host"), "host data\n");
    List<VolumePlan> volumes =
        List.of(
            new VolumePlan(
                "config",
                VolumePlan.Type.CONFIG_MAP,
                List.of(
                    new VolumePlan.FilePlan("app.properties", "a=1\n".getBytes(), 0644),
                    new VolumePlan.FilePlan("nested/deep.txt", "deep\n".getBytes(), 0640)),
                null,
                false),
            new VolumePlan(
                "secret",
                VolumePlan.Type.SECRET,
                List.of(new VolumePlan.FilePlan("token", "s3cr3t\n".getBytes(), 0600)),
                null,
                true),
            new VolumePlan("scratch", VolumePlan.Type.EMPTY_DIR, null, null, false),
            new VolumePlan(
                "podinfo",
                VolumePlan.Type.DOWNWARD_API,
                List.of(new VolumePlan.FilePlan("labels", "app=\"test\"\n".getBytes(), 0644)),
                null,
                false),
            new VolumePlan("host", VolumePlan.Type.HOST_PATH, null, host.toString(), false));
    List<ContainerPlan.Mount> mounts =
        List.of(
            new ContainerPlan.Mount("config", m + "/config", null, true),
            new ContainerPlan.Mount("secret", m + "/secret", null, true),
            new ContainerPlan.Mount("scratch", m + "/scratch", null, false),
            new ContainerPlan.Mount("podinfo", m + "/podinfo", null, true),
            new ContainerPlan.Mount("host", m + "/host", null, true),
            new ContainerPlan.Mount("config", m + "/single/app.conf", "app.properties", true));
    String script =
        String.join(
            "\n",
            "cat " + m + "/config/app.properties",
            "cat " + m + "/config/nested/deep.txt",
            "stat -c '%a %n' " + m + "/config/app.properties " + m + "/secret/token",
            "cat " + m + "/secret/token",
            "cat " + m + "/podinfo/labels",
            "cat " + m + "/host/from-host",
            "cat " + m + "/single/app.conf",
            "echo written > " + m + "/scratch/out && cat " + m + "/scratch/out",
            "touch " + m + "/config/x 2>/dev/null || echo config is read-only",
            "touch " + m + "/host/x 2>/dev/null || echo host is read-only",
            "pwd");
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "",
            null,
            List.of("sh", "-c", script),
            List.of(),
            m + "/scratch",
            PATH,
            null,
            null,
            mounts,
            null);
    Handle h =
        submit(pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(c), volumes, Optional.empty()));
    Observed o = awaitTerminal(h);
    String log = logs(h, "app", opts());
    assertThat(o.phase()).as(log).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(log)
        .isEqualTo(
            String.join(
                "\n",
                "a=1",
                "deep",
                "644 " + m + "/config/app.properties",
                "600 " + m + "/secret/token",
                "s3cr3t",
                "app=\"test\"",
                "host data",
                "a=1",
                "written",
                "config is read-only",
                "host is read-only",
                m + "/scratch",
                ""));
    // The mounts were private to the container: the host sees empty mount points only.
    try (var s = Files.list(m.resolve("config"))) {
      assertThat(s).isEmpty();
    }
    Path podDir = ((LocalBackend) backend).podDir(h);
    assertThat(Files.readString(podDir.resolve("volumes/scratch/out"))).isEqualTo("written\n");
    assertThat(Files.getPosixFilePermissions(podDir.resolve("volumes/secret/token")))
        .isEqualTo(AtomicFiles.permissions(0600));
    assertThat(Files.getPosixFilePermissions(podDir.resolve("volumes/config/nested/deep.txt")))
        .isEqualTo(AtomicFiles.permissions(0640));
    assertThat(Files.exists(host.resolve("x"))).isFalse();
  }

  @Test
  void updatedVolumeFilesAreSeenByTheRunningPod() throws Exception {
    TestPods.requireRoot();
    String m = dir.resolve("token").toString();
    VolumePlan first =
        new VolumePlan(
            "token",
            VolumePlan.Type.PROJECTED,
            List.of(
                new VolumePlan.FilePlan("token", "old\n".getBytes(), 0600),
                new VolumePlan.FilePlan("ca/old.crt", "x".getBytes(), 0644)),
            null,
            true);
    // Waits for the new token and the old file's removal, then shows what the volume holds.
    String script =
        "until [ \"$(cat "
            + m
            + "/token)\" = new ] && [ ! -e "
            + m
            + "/ca/old.crt ]; do sleep 0.05; done; stat -c '%a %U' "
            + m
            + "/token; ls "
            + m
            + "/ca";
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(
                    sh(
                        "app",
                        script,
                        PATH,
                        List.of(new ContainerPlan.Mount("token", m, null, false)))),
                List.of(first),
                Optional.empty()));
    waitFor().until(() -> observe(h).phase() == Observed.Phase.RUNNING);
    backend.updateVolume(
        h,
        new VolumePlan(
            "token",
            VolumePlan.Type.PROJECTED,
            List.of(
                new VolumePlan.FilePlan("token", "new\n".getBytes(), 0600),
                new VolumePlan.FilePlan("ca/new.crt", "y".getBytes(), 0644)),
            null,
            true));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).as(logs(h, "app", opts())).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "app", opts())).isEqualTo("600 nobody\nnew.crt\n");
    assertThatThrownBy(
            () ->
                backend.updateVolume(
                    h, new VolumePlan("nope", VolumePlan.Type.SECRET, List.of(), null, true)))
        .isInstanceOf(BackendException.NotFound.class);
    assertThatThrownBy(
            () ->
                backend.updateVolume(
                    h, new VolumePlan("token", VolumePlan.Type.EMPTY_DIR, List.of(), null, false)))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("InvalidVolume"));
  }

  @Test
  void emptyDirIsSharedBetweenContainersOfThePod() throws Exception {
    TestPods.requireRoot();
    String shared = dir.resolve("shared").toString();
    var mount = List.of(new ContainerPlan.Mount("data", shared, null, false));
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(sh("fill", "echo from-init > " + shared + "/f", PATH, mount)),
                List.of(sh("read", "cat " + shared + "/f", PATH, mount)),
                List.of(new VolumePlan("data", VolumePlan.Type.EMPTY_DIR, null, null, false)),
                Optional.empty()));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "read", opts())).isEqualTo("from-init\n");
  }

  // ---- cancel --------------------------------------------------------------------------------

  @Test
  void aStoppedPodRestartsNothingAndKeepsEachContainersExitCode() throws Exception {
    // TERM then KILL after the grace period is the contract's; here: several containers, each
    // ending its own way, and restartPolicy Always restarting none of them.
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.ALWAYS,
                List.of(),
                List.of(
                    sh(
                        "polite",
                        "trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05;"
                            + " done"),
                    sh("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done"))));
    waitFor()
        .until(
            () ->
                logsOrEmpty(h, "polite").contains("ready")
                    && logsOrEmpty(h, "stubborn").contains("ready"));
    backend.cancel(h, Duration.ofSeconds(2));
    backend.cancel(h, Duration.ofSeconds(2)); // harmless again
    Observed politeDone =
        waitFor()
            .until(
                () -> observe(h), o -> container(o, "polite").state() == Observed.State.TERMINATED);
    assertThat(container(politeDone, "polite").exitCode()).isEqualTo(42);
    assertThat(container(politeDone, "stubborn").state()).isEqualTo(Observed.State.RUNNING);
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    ContainerStatus stubborn = container(o, "stubborn");
    assertThat(stubborn.exitCode()).isEqualTo(137);
    assertThat(container(o, "polite").restartCount()).isZero();
    assertThat(stubborn.restartCount()).isZero();
  }

  @Test
  void cancelBeforeTheSupervisorStartsRunsNothing() throws Exception {
    Path marker = dir.resolve("ran");
    PodPlan plan =
        pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(sh("app", "touch " + marker)));
    Handle h = submit(plan);
    backend.cancel(h, Duration.ofSeconds(1));
    Observed o = awaitTerminal(h);
    // Either it was stopped before starting, or it already ran: never half-way.
    if (container(o, "app").state() == Observed.State.WAITING) {
      assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
      assertThat(marker).doesNotExist();
    }
  }

  @Test
  void activeDeadlineStopsThePod() throws Exception {
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(sh("slow", "sleep 60")),
                List.of(),
                Optional.of(Duration.ofMillis(500))));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    assertThat(o.reason()).isEqualTo("DeadlineExceeded");
    assertThat(container(o, "slow").exitCode()).isEqualTo(143);
  }

  private String logsOrEmpty(Handle h, String c) {
    try {
      return logs(h, c, opts());
    } catch (Exception e) {
      return "";
    }
  }

  // ---- logs ----------------------------------------------------------------------------------

  @Test
  void logsMergeBothStreamsInOrderAndSelectByExactTime() throws Exception {
    // tailLines, limitBytes, timestamps and follow are the contract's; here: stdout and stderr in
    // one log, Unicode, sinceTime at a line's own time, sinceSeconds, an unknown container.
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(
                    sh("app", "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo 'three ü'"))));
    awaitTerminal(h);
    assertThat(logs(h, "app", opts())).isEqualTo("one\ntwo\nthree ü\n");
    assertThat(logs(h, "app", new LogOptions(false, 0, false, null, null, null, false))).isEmpty();
    String stamped = logs(h, "app", new LogOptions(false, null, true, null, null, null, false));
    List<String> lines = stamped.lines().toList();
    assertThat(lines).hasSize(3);
    assertThat(lines)
        .allMatch(l -> l.matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z .*"));
    assertThat(lines.get(1)).endsWith(" two");
    Instant second = Instant.parse(lines.get(1).substring(0, lines.get(1).indexOf(' ')));
    assertThat(logs(h, "app", new LogOptions(false, null, false, null, null, second, false)))
        .isEqualTo("two\nthree ü\n");
    assertThat(logs(h, "app", new LogOptions(false, null, false, null, 3600L, null, false)))
        .isEqualTo("one\ntwo\nthree ü\n");
    assertThatThrownBy(() -> logs(h, "nope", opts())).isInstanceOf(BackendException.NotFound.class);
  }

  @Test
  void followStreamsUntilTheContainerEnds() throws Exception {
    Path release = dir.resolve("release");
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(
                    sh(
                        "app",
                        "echo first; while [ ! -e "
                            + release
                            + " ]; do sleep 0.05; done; echo second; sleep 0.3; echo third"))));
    waitFor().until(() -> logsOrEmpty(h, "app").contains("first"));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (InputStream in =
            backend.logs(h, "app", new LogOptions(true, null, false, null, null, null, false));
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      assertThat(pool.submit(r::readLine).get(30, TimeUnit.SECONDS)).isEqualTo("first");
      CompletableFuture<List<String>> rest =
          CompletableFuture.supplyAsync(() -> r.lines().toList(), pool);
      Files.createFile(release);
      assertThat(rest.get(30, TimeUnit.SECONDS)).containsExactly("second", "third");
      assertThat(observe(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void followEndsWhenTheReaderClosesTheStream() throws Exception {
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(sh("app", "echo first; exec sleep 300"))));
    waitFor().until(() -> logsOrEmpty(h, "app").contains("first"));
    InputStream in =
        backend.logs(h, "app", new LogOptions(true, null, false, null, null, null, false));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      CompletableFuture<String> reader =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                  return "closed: " + e;
                }
              },
              pool);
      waitFor().during(Duration.ofMillis(300)).until(() -> !reader.isDone());
      in.close(); // a client that went away
      assertThat(reader.get(10, TimeUnit.SECONDS)).doesNotContain("sleep");
      assertThat(observe(h).phase()).isEqualTo(Observed.Phase.RUNNING);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void followOfAFinishedContainerReturnsAtOnce() throws Exception {
    Handle h = submit(pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(sh("app", "echo done"))));
    awaitTerminal(h);
    assertThat(
            CompletableFuture.supplyAsync(
                    () -> {
                      try {
                        return logs(
                            h, "app", new LogOptions(true, null, false, null, null, null, false));
                      } catch (Exception e) {
                        throw new RuntimeException(e);
                      }
                    })
                .get(30, TimeUnit.SECONDS))
        .isEqualTo("done\n");
  }

  // ---- idempotency and bridge restarts -------------------------------------------------------

  @Test
  void podSurvivesABridgeRestartAndIsNotStartedTwice() throws Exception {
    Path release = dir.resolve("release");
    Path runs = dir.resolve("runs");
    PodPlan plan =
        pod(
            PodPlan.RestartPolicy.NEVER,
            List.of(),
            List.of(
                sh(
                    "app",
                    "echo started >> "
                        + runs
                        + "; while [ ! -e "
                        + release
                        + " ]; do sleep 0.05; done; exit 7")));
    Handle h = submit(plan);
    waitFor().until(() -> observe(h).phase() == Observed.Phase.RUNNING);
    Path podDir = ((LocalBackend) backend).podDir(h);
    long supervisor =
        Json.read(podDir.resolve("status.json"), Records.PodStatus.class).supervisorPid();
    backend.close();

    backend = TestPods.backend(dir); // a new bridge on the same directory
    assertThat(backend.find(plan.pod())).contains(h);
    assertThat(backend.submit(plan)).isEqualTo(h);
    assertThat(observe(h).phase()).isEqualTo(Observed.Phase.RUNNING);
    Files.createFile(release);
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    assertThat(container(o, "app").exitCode()).isEqualTo(7);
    assertThat(Files.readAllLines(runs)).containsExactly("started");
    assertThat(Json.read(podDir.resolve("status.json"), Records.PodStatus.class).supervisorPid())
        .isEqualTo(supervisor);
    assertThat(Files.readString(podDir.resolve("supervisor.log")).split("supervising pod", -1))
        .hasSize(2);
    assertThat(backend.submit(plan)).isEqualTo(h); // after the end too
    assertThat(Files.readAllLines(runs)).containsExactly("started");
  }

  @Test
  void concurrentSubmitsStartOnePod() throws Exception {
    Path runs = dir.resolve("runs");
    PodPlan plan =
        pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(sh("app", "echo started >> " + runs)));
    Backend other = TestPods.backend(dir);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<CompletableFuture<Handle>> all = new ArrayList<>();
      Map<Integer, Backend> byTask = new ConcurrentHashMap<>();
      for (int i = 0; i < 4; i++) {
        Backend b = i % 2 == 0 ? backend : other;
        byTask.put(i, b);
        all.add(
            CompletableFuture.supplyAsync(
                () -> {
                  try {
                    return b.submit(plan);
                  } catch (BackendException e) {
                    throw new RuntimeException(e);
                  }
                },
                pool));
      }
      Handle h = all.get(0).get(60, TimeUnit.SECONDS);
      started.add(h);
      for (var f : all) {
        assertThat(f.get(60, TimeUnit.SECONDS)).isEqualTo(h);
      }
      assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
      assertThat(Files.readAllLines(runs)).containsExactly("started");
    } finally {
      pool.shutdownNow();
      other.close();
    }
  }

  @Test
  void lostSupervisorIsReportedAndCancelStillStopsTheContainers() throws Exception {
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(
                    sh("app", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"))));
    waitFor().until(() -> logsOrEmpty(h, "app").contains("ready"));
    Path podDir = ((LocalBackend) backend).podDir(h);
    Records.PodStatus s = Json.read(podDir.resolve("status.json"), Records.PodStatus.class);
    long appPid = s.containers().get(0).pid();
    ProcessHandle.of(s.supervisorPid()).orElseThrow().destroyForcibly();
    Observed o = waitFor().until(() -> observe(h), x -> x.phase() == Observed.Phase.UNKNOWN);
    assertThat(o.reason()).isEqualTo("SupervisorLost");
    assertThat(ProcessHandle.of(appPid).map(ProcessHandle::isAlive)).contains(true);
    backend.cancel(h, Duration.ofSeconds(5));
    Observed end = awaitTerminal(h);
    assertThat(end.phase()).isEqualTo(Observed.Phase.FAILED);
    assertThat(end.reason()).isEqualTo("SupervisorLost");
    assertThat(container(end, "app").reason()).isEqualTo("ContainerStatusUnknown");
    waitFor().until(() -> ProcessHandle.of(appPid).map(p -> !p.isAlive()).orElse(true));
    // The supervisor could not remove the container's cgroup: releasing the pod does.
    backend.release(h);
    assertThat(TestPods.memoryCgroup(h)).doesNotExist();
  }

  @Test
  void releaseRemovesOnlyFinishedPods() throws Exception {
    Path release = dir.resolve("release");
    PodPlan plan =
        pod(
            PodPlan.RestartPolicy.NEVER,
            List.of(),
            List.of(sh("app", "while [ ! -e " + release + " ]; do sleep 0.05; done")));
    Handle h = submit(plan);
    Path podDir = ((LocalBackend) backend).podDir(h);
    waitFor().until(() -> observe(h).phase() == Observed.Phase.RUNNING);
    assertThatThrownBy(() -> backend.release(h)).isInstanceOf(BackendException.Transient.class);
    assertThat(podDir).isDirectory();
    Files.createFile(release);
    awaitTerminal(h);
    backend.release(h);
    assertThat(podDir).doesNotExist();
    assertThat(backend.find(plan.pod())).isEmpty();
    assertThat(observe(h).phase()).isEqualTo(Observed.Phase.UNKNOWN);
    backend.release(h); // again: nothing to do
  }
}
