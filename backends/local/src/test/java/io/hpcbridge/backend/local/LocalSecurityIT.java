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
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pod author must not own the machine: each escape is tried on the real machine and refused or
 * contained with the expected reason, and the same pod with what the operator allows runs.
 */
class LocalSecurityIT {

  @TempDir Path dir;
  Backend backend;
  final List<Handle> started = new ArrayList<>();

  @BeforeEach
  void setUp() throws IOException {
    TestPods.requireRoot();
    Files.setPosixFilePermissions(dir, AtomicFiles.permissions(0777));
    backend = TestPods.backend(dir);
  }

  @AfterEach
  void tearDown() {
    for (Handle h : started) {
      try {
        backend.cancel(h, Duration.ZERO);
      } catch (BackendException e) {
        // gone
      }
    }
    backend.close();
  }

  Handle submit(PodPlan plan) throws BackendException {
    Handle h = backend.submit(plan);
    started.add(h);
    return h;
  }

  Observed awaitTerminal(Handle h) {
    return await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> backend.observe(List.of(h)).get(h), o -> o.phase().terminal());
  }

  String logs(Handle h, String container) throws Exception {
    try (InputStream in = backend.logs(h, container, LogOptions.ALL)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static SecurityPlan runAs(Long uid, Boolean nonRoot) {
    return new SecurityPlan(
        uid, null, nonRoot, List.of(), null, false, null, List.of(), List.of(), false, null);
  }

  static PodPlan one(ContainerPlan c) {
    return pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(c));
  }

  @Test
  void aPodRunsAsNobodyWithoutPrivilegesAndCannotReadShadow() throws Exception {
    String script =
        "id -u; id -g; grep -E '^(NoNewPrivs|CapEff|CapBnd)' /proc/self/status; head -c 5"
            + " /etc/shadow 2>&1";
    Handle h = submit(one(sh("app", script)));
    Observed o = awaitTerminal(h);
    String log = logs(h, "app");
    assertThat(o.phase()).as(log).isEqualTo(Observed.Phase.FAILED);
    assertThat(log)
        .startsWith("65534\n65534\n")
        .contains("NoNewPrivs:\t1", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000")
        .contains("Permission denied")
        .doesNotContain("root:");

    // The same pod, with uid 0 asked for (the bridge's policy lets it through when allowed): root.
    Handle asRoot = submit(one(sh("app", script).withSecurity(runAs(0L, null))));
    assertThat(awaitTerminal(asRoot).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(asRoot, "app"))
        .startsWith("0\n")
        .contains("NoNewPrivs:\t1")
        .endsWith("root:\n");
  }

  @Test
  void runAsNonRootNeverRunsAsRoot() throws Exception {
    PodPlan root = one(sh("app", "id -u").withSecurity(runAs(0L, true)));
    assertThatThrownBy(() -> backend.submit(root))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> {
              assertThat(e.reason()).isEqualTo("CreateContainerConfigError");
              assertThat(e.getMessage()).contains("runAsNonRoot and image will run as root");
            });
    assertThat(backend.find(root.pod())).isEmpty();

    Handle h = submit(one(sh("app", "id -u").withSecurity(runAs(4321L, true))));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "app")).isEqualTo("4321\n");
  }

  @Test
  void aContainerThatCannotEnterThePodsWorkDirectoryStillStarts() throws Exception {
    // work/ is the first container's (0770): the second one's user cannot enter it, yet it waits at
    // its start gate like any other and then runs (in a directory just as closed to it).
    ContainerPlan owner = sh("owner", "id -u");
    ContainerPlan other = sh("other", "id -u; ls . >/dev/null 2>&1 || echo closed");
    SecurityPlan stranger =
        new SecurityPlan(
            4321L, 4321L, null, List.of(), null, false, null, List.of(), List.of(), false, null);
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(),
                List.of(owner, other.withSecurity(stranger))));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).as(logs(h, "other")).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "other")).isEqualTo("4321\nclosed\n");
  }

  @Test
  void aPodCannotWriteWhatTheBridgeAndItsSupervisorRead() throws Exception {
    // Its cwd is <pod dir>/work: everything the bridge reads is one level up.
    String script =
        String.join(
            "\n",
            "for f in status.json cancel.json plan.json options.json launched"
                + " containers/app/0.log; do",
            "  (echo '{}' > ../$f) 2>/dev/null && echo wrote $f",
            "  (ln -sf /etc/shadow ../$f) 2>/dev/null && echo linked $f",
            "done",
            "mv ../status.json ../moved 2>/dev/null && echo moved",
            "touch mine && echo work is mine",
            "id -G");
    SecurityPlan groups =
        new SecurityPlan(
            null,
            null,
            null,
            List.of(4242L),
            4343L,
            false,
            null,
            List.of(),
            List.of(),
            false,
            null);
    Handle h = submit(one(sh("app", script).withSecurity(groups)));
    Observed o = awaitTerminal(h);
    String log = logs(h, "app");
    assertThat(o.phase()).as(log).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(log).doesNotContain("wrote", "linked", "moved").contains("work is mine");
    assertThat(log.lines().toList().get(log.lines().toList().size() - 1).split(" "))
        .contains("65534", "4242", "4343");
    Path work = ((LocalBackend) backend).podDir(h).resolve("work");
    assertThat(Files.getAttribute(work, "unix:uid")).isEqualTo(65534);
    assertThat(Files.getAttribute(work, "unix:gid")).isEqualTo(4343);
    assertThat((int) Files.getAttribute(work, "unix:mode") & 07777).isEqualTo(02770);
  }

  @Test
  void theDefaultWorkingDirectoryIsThePodsOwnWhateverItsVolumesCover() throws Exception {
    // A directory the pod's user can read, inside one only root can enter.
    Path vault = dir.resolve("vault");
    Path inner = Files.createDirectories(vault.resolve("inner"));
    Files.writeString(inner.resolve("secret"), "root's secret\n");
    Files.setPosixFilePermissions(vault, AtomicFiles.permissions(0700));
    // The pod plants <uid>/work -> that directory in an emptyDir, then mounts the emptyDir over the
    // bridge's workDir: its default working directory, looked up in its namespace, would be there.
    String plantAt = dir.resolve("plant").toString();
    String workDir = dir.resolve("pods").toString();
    // Its own cwd is <workDir>/<uid>/work: the plant finds its pod's uid there.
    ContainerPlan plant =
        sh(
            "plant",
            "u=$(basename $(dirname $PWD)) && mkdir -p "
                + plantAt
                + "/$u && ln -s "
                + inner
                + " "
                + plantAt
                + "/$u/work",
            PATH,
            List.of(new ContainerPlan.Mount("cover", plantAt, null, false)));
    ContainerPlan app =
        sh(
            "app",
            "cat secret 2>&1; touch here && echo touched",
            PATH,
            List.of(new ContainerPlan.Mount("cover", workDir, null, false)));
    var cover = List.of(new VolumePlan("cover", VolumePlan.Type.EMPTY_DIR, null, null, false));
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(plant),
                List.of(app),
                cover,
                Optional.empty()));
    Observed o = awaitTerminal(h);
    String log = logs(h, "app");
    assertThat(o.phase()).as(log).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(log).doesNotContain("root's secret").contains("touched");
    assertThat(((LocalBackend) backend).podDir(h).resolve("work/here")).exists();
  }

  @Test
  void aHostPathThroughASymbolicLinkIsRefused() throws Exception {
    Path allowed = Files.createDirectories(dir.resolve("allowed"));
    Path real = Files.createDirectories(allowed.resolve("real"));
    Files.writeString(real.resolve("f"), "real data\n");
    Files.createSymbolicLink(allowed.resolve("link"), Path.of("/etc"));
    String mnt = dir.resolve("mnt").toString();
    for (String path : List.of("link", "link/ssl", "link/nonexistent/x")) {
      PodPlan escape = hostPathPod(allowed.resolve(path).toString(), mnt, "cat " + mnt + "/shadow");
      assertThatThrownBy(() -> backend.submit(escape))
          .as(path)
          .isInstanceOfSatisfying(
              BackendException.InvalidPod.class,
              e -> {
                assertThat(e.reason()).isEqualTo("InvalidHostPath");
                assertThat(e.getMessage())
                    .contains("symbolic link", allowed.resolve("link").toString());
              });
    }
    assertThat(allowed.resolve("link/nonexistent")).doesNotExist();

    Handle h = submit(hostPathPod(real.toString(), mnt, "cat " + mnt + "/f"));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "app")).isEqualTo("real data\n");
  }

  @Test
  void aMissingHostPathIsCreatedByTheBridgeForItselfNotForThePod() throws Exception {
    Path missing = dir.resolve("new/dir");
    String mnt = dir.resolve("mnt").toString();
    Handle h =
        submit(hostPathPod(missing.toString(), mnt, "touch " + mnt + "/x || echo read-only"));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "app")).contains("Permission denied");
    assertThat(Files.getAttribute(missing, "unix:uid")).isEqualTo(0);
    assertThat((int) Files.getAttribute(missing, "unix:mode") & 0777).isEqualTo(0755);
  }

  private PodPlan hostPathPod(String hostPath, String mountPath, String script) {
    ContainerPlan c =
        sh("app", script, PATH, List.of(new ContainerPlan.Mount("host", mountPath, null, false)));
    return pod(
        PodPlan.RestartPolicy.NEVER,
        List.of(),
        List.of(c),
        List.of(new VolumePlan("host", VolumePlan.Type.HOST_PATH, null, hostPath, false)),
        Optional.empty());
  }

  @Test
  void aSubPathLinkPlantedByThePodIsNotFollowed() throws Exception {
    String m1 = dir.resolve("m1").toString();
    String m2 = dir.resolve("m2").toString();
    var data = List.of(new VolumePlan("data", VolumePlan.Type.EMPTY_DIR, null, null, false));
    ContainerPlan plant =
        sh("plant", "ln -s /etc " + m1 + "/escape", PATH, List.of(mount(m1, null)));
    ContainerPlan use = sh("use", "cat " + m2 + "/shadow", PATH, List.of(mount(m2, "escape")));
    Handle h =
        submit(
            pod(PodPlan.RestartPolicy.NEVER, List.of(plant), List.of(use), data, Optional.empty()));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    Observed.ContainerStatus c = o.container("use").orElseThrow();
    assertThat(c.reason()).isEqualTo("StartError");
    assertThat(c.message()).contains("subPath escape", "symbolic link");

    // The same pod with a directory where the link was: the subPath is mounted.
    ContainerPlan dirInstead =
        sh(
            "plant",
            "mkdir " + m1 + "/escape && echo kept > " + m1 + "/escape/shadow",
            PATH,
            List.of(mount(m1, null)));
    Handle ok =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(dirInstead),
                List.of(use),
                data,
                Optional.empty()));
    assertThat(awaitTerminal(ok).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(ok, "use")).isEqualTo("kept\n");
  }

  private static ContainerPlan.Mount mount(String path, String subPath) {
    return new ContainerPlan.Mount("data", path, subPath, false);
  }

  static ContainerPlan limited(String name, String script, long memoryLimit, long cpuMillis) {
    ContainerPlan c = sh(name, script);
    return new ContainerPlan(
        c.name(),
        c.image(),
        null,
        c.command(),
        c.args(),
        null,
        c.env(),
        null,
        new Resources(0, cpuMillis, 0, memoryLimit, 0, Map.of()),
        null,
        null);
  }

  @Test
  void aContainerOverItsMemoryLimitIsOOMKilled() throws Exception {
    String hog = "exec dd if=/dev/zero of=/dev/null bs=64M count=1";
    Handle h = submit(one(limited("hog", hog, 16L << 20, 0)));
    Observed o = awaitTerminal(h);
    Observed.ContainerStatus c = o.container("hog").orElseThrow();
    assertThat(o.phase()).isEqualTo(Observed.Phase.FAILED);
    assertThat(c.reason()).as(logs(h, "hog")).isEqualTo("OOMKilled");
    assertThat(c.exitCode()).isEqualTo(137);
    assertThat(TestPods.memoryCgroup(h)).doesNotExist();

    // The same pod with room for its 64 MiB.
    Handle roomy = submit(one(limited("hog", hog, 256L << 20, 0)));
    Observed done = awaitTerminal(roomy);
    assertThat(done.phase()).as(logs(roomy, "hog")).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(done.container("hog").orElseThrow().reason()).isEqualTo("Completed");
  }

  @Test
  void limitsAreTheContainersCgroupsAndItsProcessesDieWithIt() throws Exception {
    // Reads its own limits; leaves a daemon behind, out of its process group.
    String script =
        String.join(
            "\n",
            "cg() { awk -F: -v c=$1 '{ n = split($2, a, \",\"); for (i = 1; i <= n; i++)"
                + " if (a[i] == c) print $3 }' /proc/self/cgroup; }",
            "cat /sys/fs/cgroup/memory$(cg memory)/memory.limit_in_bytes",
            "cat /sys/fs/cgroup/memory$(cg memory)/memory.memsw.limit_in_bytes",
            "cat /sys/fs/cgroup/cpu$(cg cpu)/cpu.cfs_quota_us",
            "cat /sys/fs/cgroup/pids$(cg pids)/pids.max",
            "setsid sleep 300 </dev/null >/dev/null 2>&1 &",
            "echo $! > " + dir.resolve("daemon"));
    Handle h = submit(one(limited("app", script, 48L << 20, 250)));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).as(logs(h, "app")).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "app")).isEqualTo("50331648\n50331648\n25000\n4096\n");
    long daemon = Long.parseLong(Files.readString(dir.resolve("daemon")).trim());
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> ProcessHandle.of(daemon).map(p -> !p.isAlive()).orElse(true));
    assertThat(TestPods.memoryCgroup(h)).doesNotExist();
    assertThat(TestPods.cgroup(h, "pids")).doesNotExist();
  }

  @Test
  void aContainerCannotForkMoreProcessesThanTheOperatorAllows() throws Exception {
    Backend few = TestPods.backend(dir.resolve("few"), Map.of("maxProcesses", 8));
    try {
      // Shell builtins only: each "sleep" is one more process of the container.
      String bomb = "i=0; while [ $i -lt 50 ]; do sleep 60 & i=$((i+1)); done; echo all started";
      Handle h = few.submit(one(sh("app", bomb)));
      Observed o =
          await()
              .atMost(Duration.ofSeconds(60))
              .until(() -> few.observe(List.of(h)).get(h), x -> x.phase().terminal());
      String log;
      try (InputStream in = few.logs(h, "app", LogOptions.ALL)) {
        log = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      assertThat(o.phase()).as(log).isEqualTo(Observed.Phase.FAILED);
      assertThat(log).contains("Cannot fork").doesNotContain("all started");
    } finally {
      few.close();
    }
  }

  @Test
  void theDynamicLoaderNeverRunsThePodsWishesAsRoot() throws Exception {
    // LD_DEBUG_OUTPUT makes every dynamically linked program write a file: only the pod's own
    // program (as nobody) may; the root helpers before the user switch must not see it.
    Path out = Files.createDirectories(dir.resolve("ld"));
    Files.setPosixFilePermissions(out, AtomicFiles.permissions(0777));
    Map<String, String> env = new LinkedHashMap<>(PATH);
    env.put("LD_DEBUG", "files");
    env.put("LD_DEBUG_OUTPUT", out.resolve("debug").toString());
    ContainerPlan c = sh("app", "echo $LD_DEBUG_OUTPUT", env, List.of());
    Handle h = submit(one(c));
    assertThat(awaitTerminal(h).phase()).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "app")).isEqualTo(out.resolve("debug") + "\n");
    try (var files = Files.list(out)) {
      List<Path> written = files.toList();
      assertThat(written).isNotEmpty();
      for (Path f : written) {
        assertThat(Files.getAttribute(f, "unix:uid")).as(f.toString()).isEqualTo(65534);
      }
    }

    // From a Secret, such a variable could only travel on a command line: refused.
    ContainerPlan secret =
        new ContainerPlan(
            "app",
            "",
            null,
            List.of("true"),
            List.of(),
            null,
            Map.of("LD_PRELOAD", "/x.so"),
            Set.of("LD_PRELOAD"),
            null,
            null,
            null);
    assertThatThrownBy(() -> backend.submit(one(secret)))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> {
              assertThat(e.reason()).isEqualTo("UnsupportedEnv");
              assertThat(e.getMessage()).contains("LD_PRELOAD", "Secret");
            });
  }

  @Test
  void volumesOverSystemDirectoriesNeverMakeTheBridgeRunThePodsPrograms() throws Exception {
    // The pod fills an emptyDir with its own "tools", then mounts it over /usr/bin: anything the
    // bridge or its supervisor ran from there (mount, setpriv, nsenter, mkdir, ...), as whichever
    // user, would leave a file in "seen". The pod's own chain may run its env: a real one.
    Path seen = Files.createDirectories(dir.resolve("seen"));
    Files.setPosixFilePermissions(seen, AtomicFiles.permissions(0777));
    String tools = dir.resolve("tools").toString();
    String fake =
        "#!/usr/bin/sh\nwhile read k v rest; do [ \"$k\" = Uid: ] && echo $v; done"
            + " </proc/self/status >"
            + seen
            + "/${0##*/}\nexit 0\n";
    String plant =
        String.join(
            "\n",
            "cp /usr/bin/dash " + tools + "/sh",
            "cp /usr/bin/env " + tools + "/env",
            "for t in mount stat setpriv nsenter unshare mkdir touch flock setsid cat kill; do",
            "  printf '%s' '" + fake.replace("'", "'\\''") + "' > " + tools + "/$t",
            "  chmod 755 " + tools + "/$t",
            "done");
    var volumes =
        List.of(
            new VolumePlan("tools", VolumePlan.Type.EMPTY_DIR, null, null, false),
            new VolumePlan("data", VolumePlan.Type.EMPTY_DIR, null, null, false));
    ContainerPlan init =
        sh("plant", plant, PATH, List.of(new ContainerPlan.Mount("tools", tools, null, false)));
    // Its working directory and the mount point of its second volume are missing: someone must
    // make them once /usr/bin is covered. With only shell builtins, it prints its bounding set.
    String wd = dir.resolve("made/by/pod").toString();
    String capBnd = "while read k v; do [ \"$k\" = CapBnd: ] && echo $v; done </proc/self/status";
    ContainerPlan covered =
        new ContainerPlan(
            "covered",
            "",
            null,
            List.of("/usr/bin/sh", "-c", "pwd; " + capBnd + "; echo still me"),
            List.of(),
            wd,
            PATH,
            null,
            null,
            List.of(
                new ContainerPlan.Mount("tools", "/usr/bin", null, true),
                new ContainerPlan.Mount(
                    "data", dir.resolve("deep/mount/point").toString(), null, false)),
            null);
    Handle h =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(init),
                List.of(covered),
                volumes,
                Optional.empty()));
    Observed o = awaitTerminal(h);
    assertThat(o.phase()).as("%s", o).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(h, "covered")).isEqualTo(wd + "\n0000000000000000\nstill me\n");
    try (var files = Files.list(seen)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .as("programs of the pod run")
          .isEmpty();
    }
    assertThat(Files.getAttribute(Path.of(wd), "unix:uid")).isEqualTo(65534);

    // A uid 0 container has dropped to the runtime default capabilities before its volumes are
    // mounted: covering /usr/bin gains it nothing.
    SecurityPlan root =
        new SecurityPlan(
            0L, 0L, null, List.of(), null, false, null, List.of(), List.of(), false, null);
    ContainerPlan rootCovered =
        new ContainerPlan(
                covered.name(),
                "",
                null,
                covered.command(),
                List.of(),
                dir.resolve("made/by/root").toString(),
                PATH,
                null,
                null,
                covered.mounts(),
                null)
            .withSecurity(root);
    Handle r =
        submit(
            pod(
                PodPlan.RestartPolicy.NEVER,
                List.of(init.withSecurity(root)),
                List.of(rootCovered),
                volumes,
                Optional.empty()));
    Observed ro = awaitTerminal(r);
    assertThat(ro.phase()).as("%s", ro).isEqualTo(Observed.Phase.SUCCEEDED);
    assertThat(logs(r, "covered"))
        .isEqualTo(dir.resolve("made/by/root") + "\n00000000a80425fb\nstill me\n");
    try (var files = Files.list(seen)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .as("programs of the pod run")
          .isEmpty();
    }
  }
}
