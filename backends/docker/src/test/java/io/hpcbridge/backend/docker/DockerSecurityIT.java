package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.backend.VolumePlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A tenant's ways out, tried on the two real engines: each is refused or contained with the
 * expected reason, and the allowed variant runs.
 */
class DockerSecurityIT extends EngineTest {

  /** A securityContext, field by field. */
  static SecurityPlan security(
      Long runAsUser,
      Long runAsGroup,
      Boolean runAsNonRoot,
      List<Long> supplementalGroups,
      Long fsGroup,
      boolean privileged,
      Boolean allowPrivilegeEscalation,
      List<String> add,
      List<String> drop,
      boolean readOnlyRootFilesystem,
      String seccompProfile) {
    return new SecurityPlan(
        runAsUser,
        runAsGroup,
        runAsNonRoot,
        supplementalGroups,
        fsGroup,
        privileged,
        allowPrivilegeEscalation,
        add,
        drop,
        readOnlyRootFilesystem,
        seccompProfile);
  }

  /** The {@code key=value} lines a container printed. */
  Map<String, String> facts(Handle h, String container) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : read(backend.logs(h, container, LogOptions.ALL)).split("\n")) {
      int i = line.indexOf('=');
      if (i > 0) {
        out.put(line.substring(0, i), line.substring(i + 1).trim());
      }
    }
    return out;
  }

  static PodPlan hostPathPod(String name, String hostPath) {
    ContainerPlan c =
        Plans.withMounts(
            Plans.sh("c", "cat /host/probe.txt"),
            new ContainerPlan.Mount("host", "/host", null, true));
    return Plans.pod(
        name,
        List.of(),
        List.of(c),
        List.of(new VolumePlan("host", VolumePlan.Type.HOST_PATH, List.of(), hostPath, false)),
        PodPlan.RestartPolicy.NEVER);
  }

  @Test
  void engineSocketsAndTheDirectoriesAboveThemAreNeverBound() throws Exception {
    String socket2 = DockerEngines.require().get("DOCKER2_HOST_IT").replaceFirst("^unix://", "");
    String dataRoot2;
    try (DockerHost h2 = new DockerHost(settings.hosts().get(1))) {
      dataRoot2 = h2.client.infoCmd().exec().getDockerRootDir(); // as the engine reports it
    }
    for (String path :
        List.of(
            "/var/run/docker.sock",
            "/",
            "/run",
            "/var/run/",
            "/var",
            socket2,
            Path.of(socket2).getParent().toString(),
            // the engine's run directory next to its socket holds its containerd's socket
            Path.of(socket2).resolveSibling("exec/containerd/containerd.sock").toString(),
            "/proc/1/root",
            "/run/user/0/docker.sock",
            "/run/containerd/s",
            "/run/buildkit",
            "/var/lib/docker",
            "/var/lib/containerd",
            dataRoot2,
            dataRoot2 + "/volumes",
            "/sys/fs/cgroup",
            "/dev")) {
      assertThatThrownBy(() -> backend.submit(hostPathPod("escape", path)))
          .as(path)
          .isInstanceOf(BackendException.InvalidPod.class)
          .hasMessageStartingWith("hostPath volume host (")
          .hasMessageContaining("never binds an engine socket")
          .extracting(e -> ((BackendException.InvalidPod) e).reason())
          .isEqualTo("PolicyViolation");
    }
    for (DockerSettings.HostSettings hs : settings.hosts()) {
      try (DockerHost h = new DockerHost(hs)) {
        assertThat(DockerEngines.containers(h, node)).as("created on %s", hs.name()).isEmpty();
      }
    }
    // an ordinary directory is bound
    Path dir = Files.createTempDirectory("hpcb-allowed");
    Files.writeString(dir.resolve("probe.txt"), "from the host");
    Handle ok = backend.submit(hostPathPod("allowed", dir.toString()));
    awaitPhase(ok, Phase.SUCCEEDED);
    assertThat(read(backend.logs(ok, "c", LogOptions.ALL))).isEqualTo("from the host");
  }

  @Test
  void runAsNonRootKeepsARootImageFromStarting() throws Exception {
    SecurityPlan nonRoot =
        security(null, null, true, null, null, false, null, null, null, false, null);
    PodPlan root =
        Plans.pod("nonroot", List.of(), List.of(Plans.sh("c", "id -u").withSecurity(nonRoot)));
    PodPlan zero =
        Plans.pod(
            "uid0",
            List.of(),
            List.of(Plans.sh("c", "id -u").withSecurity(nonRoot.withUser(0L, null))));
    Handle h = backend.submit(root);
    Handle z = backend.submit(zero);
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(
            () -> {
              Map<Handle, Observed> seen = backend.observe(List.of(h, z));
              Observed.ContainerStatus c = seen.get(h).container("c").orElseThrow();
              assertThat(seen.get(h).phase()).isEqualTo(Phase.PENDING);
              assertThat(c.state()).isEqualTo(Observed.State.WAITING);
              assertThat(c.reason()).isEqualTo("CreateContainerConfigError");
              assertThat(c.message())
                  .isEqualTo(
                      "container has runAsNonRoot and image will run as root (pod:"
                          + " \"nonroot_default("
                          + root.pod().uid()
                          + ")\", container: c)");
              assertThat(seen.get(z).container("c").orElseThrow().message())
                  .startsWith("container's runAsUser breaks non-root policy");
            });
    // the container was never made: only the sandboxes exist
    for (DockerSettings.HostSettings hs : settings.hosts()) {
      try (DockerHost host = new DockerHost(hs)) {
        assertThat(DockerEngines.containers(host, node))
            .allMatch(c -> Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE)));
      }
    }
    // with a non-root user it runs
    Handle ok =
        backend.submit(
            Plans.pod(
                "nonroot-ok",
                List.of(),
                List.of(Plans.sh("c", "id -u").withSecurity(nonRoot.withUser(65534L, null)))));
    awaitPhase(ok, Phase.SUCCEEDED);
    assertThat(read(backend.logs(ok, "c", LogOptions.ALL))).isEqualTo("65534\n");
  }

  @Test
  void userGroupsAndVolumeOwnershipFollowTheSecurityContext() throws Exception {
    SecurityPlan s =
        security(65534L, 65533L, true, List.of(1234L), 2000L, false, null, null, null, false, null);
    ContainerPlan c =
        Plans.withMounts(
            Plans.sh(
                    "c",
                    "echo id=$(id -u):$(id -g); echo groups=$(id -G); echo hi > /scratch/f && echo"
                        + " scratch=written; echo scratchmode=$(stat -c %a:%g /scratch); echo"
                        + " token=$(cat /sec/token); echo tokenmode=$(stat -L -c %a:%g"
                        + " /sec/token)")
                .withSecurity(s),
            new ContainerPlan.Mount("scratch", "/scratch", null, false),
            new ContainerPlan.Mount("sec", "/sec", null, true));
    List<VolumePlan> vols =
        List.of(
            new VolumePlan("scratch", VolumePlan.Type.EMPTY_DIR, List.of(), null, false),
            new VolumePlan(
                "sec",
                VolumePlan.Type.SECRET,
                List.of(
                    new VolumePlan.FilePlan(
                        "token", "s3cret".getBytes(StandardCharsets.UTF_8), 0600)),
                null,
                true));
    Handle h =
        backend.submit(Plans.pod("user", List.of(), List.of(c), vols, PodPlan.RestartPolicy.NEVER));
    awaitPhase(h, Phase.SUCCEEDED);
    Map<String, String> f = facts(h, "c");
    assertThat(f.get("id")).isEqualTo("65534:65533");
    assertThat(f.get("groups").split(" ")).contains("65533", "1234", "2000");
    assertThat(f.get("scratch")).isEqualTo("written");
    assertThat(f.get("scratchmode")).isEqualTo("2777:2000");
    assertThat(f.get("token")).isEqualTo("s3cret");
    assertThat(f.get("tokenmode")).isEqualTo("640:2000");
  }

  static final String PROBE =
      "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -d ' \\t' | sed 's/:/=/';"
          + " mkdir -p /tmp/m 2>/dev/null; if mount -t tmpfs none /tmp/m 2>/dev/null; then echo"
          + " mount=yes; else echo mount=no; fi; if touch /probe 2>/dev/null; then echo rootfs=rw;"
          + " else echo rootfs=ro; fi; true";

  @Test
  void capabilitiesPrivilegesSeccompAndRootFileSystem() throws Exception {
    ContainerPlan plain = Plans.sh("plain", PROBE);
    ContainerPlan locked =
        Plans.withMounts(
            Plans.sh("locked", PROBE + "; echo cfg=$(cat /cfg/key)")
                .withSecurity(
                    security(
                        null,
                        null,
                        null,
                        null,
                        null,
                        false,
                        false,
                        null,
                        List.of("ALL"),
                        true,
                        "RuntimeDefault")),
            new ContainerPlan.Mount("cfg", "/cfg", null, true));
    ContainerPlan opened =
        Plans.sh("opened", PROBE)
            .withSecurity(
                security(
                    null,
                    null,
                    null,
                    null,
                    null,
                    false,
                    true,
                    List.of("NET_ADMIN"),
                    null,
                    false,
                    "Unconfined"));
    List<VolumePlan> vols =
        List.of(
            new VolumePlan(
                "cfg",
                VolumePlan.Type.CONFIG_MAP,
                List.of(
                    new VolumePlan.FilePlan("key", "value".getBytes(StandardCharsets.UTF_8), 0644)),
                null,
                false));
    Handle h =
        backend.submit(
            Plans.pod(
                "caps",
                List.of(),
                List.of(plain, locked, opened),
                vols,
                PodPlan.RestartPolicy.NEVER));
    awaitPhase(h, Phase.SUCCEEDED);

    // no securityContext: Docker's default capabilities, no way to gain more, Docker's seccomp
    Map<String, String> p = facts(h, "plain");
    assertThat(p.get("NoNewPrivs")).isEqualTo("1");
    assertThat(p.get("Seccomp")).isEqualTo("2");
    assertThat(p.get("mount")).isEqualTo("no");
    assertThat(p.get("rootfs")).isEqualTo("rw");
    long defaults = Long.parseLong(p.get("CapEff"), 16);
    assertThat(defaults & (1L << 21)).as("CAP_SYS_ADMIN").isZero();

    Map<String, String> l = facts(h, "locked");
    assertThat(l.get("CapEff")).isEqualTo("0000000000000000");
    assertThat(l.get("rootfs")).isEqualTo("ro");
    assertThat(l.get("mount")).isEqualTo("no");
    assertThat(l.get("cfg")).isEqualTo("value"); // volumes still arrive under a read-only root

    Map<String, String> o = facts(h, "opened");
    assertThat(o.get("NoNewPrivs")).isEqualTo("0");
    assertThat(o.get("Seccomp")).isEqualTo("0");
    assertThat(Long.parseLong(o.get("CapEff"), 16) & (1L << 12)).as("CAP_NET_ADMIN").isNotZero();

    // privileged (only when the bridge's policy allowed it) reaches Docker as asked; whether it can
    // run depends on the host (a Docker host that is itself a container may refuse it)
    PodPlan priv =
        Plans.pod(
            "privileged",
            List.of(),
            List.of(
                Plans.sh("c", PROBE)
                    .withSecurity(
                        security(
                            null, null, null, null, null, true, null, null, null, false, null))));
    Handle ph = backend.submit(priv);
    var hc = inspect(ph, priv.pod(), "c").getHostConfig();
    assertThat(hc.getPrivileged()).isTrue();
    assertThat(hc.getSecurityOpts()).doesNotContain("no-new-privileges");
  }

  @Test
  void aForkBombStaysInItsContainer() throws Exception {
    DockerSettings few =
        DockerSettings.parse(DockerEngines.settings("spread", Map.of("maxProcesses", 32)));
    DockerBackend b = new DockerBackend(node, data.resolve("few"), few);
    others.add(b);
    PodPlan bomb =
        Plans.pod(
            "bomb",
            List.of(),
            List.of(
                Plans.sh(
                    "c",
                    "i=0; while [ $i -lt 100 ]; do sleep 600 & i=$((i+1)); done; echo all"
                        + " started")));
    Handle h = b.submit(bomb);
    Observed o = awaitPhase(b, h, java.util.Set.of(Phase.FAILED), Duration.ofSeconds(60));
    assertThat(o.containers().get(0).exitCode()).isNotNull().isNotZero();
    assertThat(read(b.logs(h, "c", LogOptions.ALL)))
        .contains("can't fork")
        .doesNotContain("all started");
    assertThat(inspect(h, bomb.pod(), "c").getHostConfig().getPidsLimit()).isEqualTo(32L);
    // the default holds every container to 4096 processes
    PodPlan plain = Plans.pod("pids", List.of(), List.of(Plans.sh("c", "true")));
    Handle d = backend.submit(plain);
    awaitPhase(d, Phase.SUCCEEDED);
    assertThat(inspect(d, plain.pod(), "c").getHostConfig().getPidsLimit()).isEqualTo(4096L);
  }

  @Test
  void hostNamespacesAndAllowedHosts() throws Exception {
    String probe = "grep -c docker0 /proc/net/dev; true";
    PodPlan onHost =
        Plans.pod("hostnet", List.of(), List.of(Plans.sh("c", probe)))
            .withPlacement(new PodPlan.HostAccess(true, true, true), List.of("h2"));
    PodPlan own = Plans.pod("ownnet", List.of(), List.of(Plans.sh("c", probe)));
    Handle h = backend.submit(onHost);
    Handle o = backend.submit(own);
    assertThat(DockerEngines.hostOf(h)).isEqualTo("h2"); // spread alone would have picked h1
    awaitPhase(h, Phase.SUCCEEDED);
    awaitPhase(o, Phase.SUCCEEDED);
    assertThat(read(backend.logs(h, "c", LogOptions.ALL))).isEqualTo("1\n");
    assertThat(read(backend.logs(o, "c", LogOptions.ALL))).isEqualTo("0\n");
    var hc = inspect(h, onHost.pod(), "c").getHostConfig();
    assertThat(hc.getNetworkMode()).isEqualTo("host");
    assertThat(hc.getPidMode()).isEqualTo("host");
    assertThat(hc.getIpcMode()).isEqualTo("host");
    // no allowed host configured: the pod waits, nothing is placed
    PodPlan nowhere =
        Plans.pod("nowhere", List.of(), List.of(Plans.sh("c", "true")))
            .withPlacement(PodPlan.HostAccess.NONE, List.of("nope"));
    assertThatThrownBy(() -> backend.submit(nowhere))
        .isInstanceOf(BackendException.Transient.class)
        .hasMessageContaining("(nope)");
    assertThat(backend.find(nowhere.pod())).isEmpty();
  }
}
