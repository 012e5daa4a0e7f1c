package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.RestartPolicy;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ContainerSpecsTest {
  static final DockerSettings SETTINGS =
      DockerSettings.parse(
          Map.of("hosts", List.of(Map.of("name", "h1", "uri", "unix:///var/run/docker.sock"))));

  @Test
  void namesFollowTheKubeletConvention() {
    PodPlan p = Plans.pod("web-1", List.of(), List.of(Plans.sh("app", "true")));
    assertThat(Names.container(p.pod(), "app"))
        .isEqualTo("k8s_app_web-1_default_" + p.pod().uid() + "_0");
    assertThat(Names.sandbox(p.pod())).isEqualTo("k8s_POD_web-1_default_" + p.pod().uid() + "_0");
    assertThat(Names.volume(p.pod(), "cache")).isEqualTo("k8s_vol_cache_" + p.pod().uid());
    assertThat(Names.clean("a_b/c")).isEqualTo("a-b-c");
    assertThat(Names.clean("_x")).isEqualTo("x-x");
  }

  @Test
  void sandboxCarriesLabelsPortsAndPodFacts() {
    ContainerPlan app =
        new ContainerPlan(
            "app",
            "nginx",
            null,
            List.of(),
            List.of(),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(),
            List.of(
                new ContainerPlan.Port("http", 80, 8080, "TCP"),
                new ContainerPlan.Port("dns", 53, 0, "UDP")));
    PodPlan p =
        Plans.pod(
            "web", List.of(Plans.sh("init1", "true"), Plans.sh("init2", "true")), List.of(app));
    var s = ContainerSpecs.sandbox(p, "vnode", SETTINGS);
    assertThat(s.image()).isEqualTo("local/busybox:1");
    assertThat(s.hostname()).isEqualTo("web");
    assertThat(s.labels())
        .containsEntry(Names.LABEL_POD_UID, p.pod().uid())
        .containsEntry(Names.LABEL_POD_NAME, "web")
        .containsEntry(Names.LABEL_POD_NAMESPACE, "default")
        .containsEntry(Names.LABEL_CONTAINER_NAME, "POD")
        .containsEntry(Names.LABEL_NODE, "vnode")
        .containsEntry(Names.LABEL_INIT_CONTAINERS, "init1,init2")
        .containsEntry(Names.LABEL_CONTAINERS, "app")
        .containsEntry(Names.LABEL_RESTART_POLICY, "Never");
    assertThat(s.exposedPorts()).containsExactly(ExposedPort.tcp(80));
    assertThat(
            s.hostConfig()
                .getPortBindings()
                .getBindings()
                .get(ExposedPort.tcp(80))[0]
                .getHostPortSpec())
        .isEqualTo("8080");
    assertThat(s.hostConfig().getNetworkMode()).isEqualTo("bridge");
    assertThat(s.hostConfig().getRestartPolicy()).isEqualTo(RestartPolicy.unlessStoppedRestart());
    assertThat(s.hostConfig().getPidsLimit()).as("maxProcesses").isEqualTo(4096L);
  }

  @Test
  void containerMapsCommandEnvResourcesAndJoinsTheSandbox() {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("A", "1");
    env.put("B", "x=y");
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "busybox",
            "Always",
            List.of("sh"),
            List.of("-c", "echo hi"),
            "/work",
            env,
            null,
            new Resources(250, 1500, 0, 256L << 20, 0, Map.of()),
            List.of(),
            List.of());
    PodPlan p =
        Plans.pod("web", List.of(), List.of(c), List.of(), PodPlan.RestartPolicy.ON_FAILURE);
    var s = ContainerSpecs.container(p, "vnode", SETTINGS, c, -1, "sandbox123", null, Map.of());
    assertThat(s.image()).isEqualTo("busybox:latest");
    assertThat(s.entrypoint()).containsExactly("sh");
    assertThat(s.cmd()).containsExactly("-c", "echo hi");
    assertThat(s.env()).containsExactly("A=1", "B=x=y");
    assertThat(s.workingDir()).isEqualTo("/work");
    assertThat(s.labels())
        .containsEntry(Names.LABEL_CONTAINER_NAME, "app")
        .containsEntry(Names.LABEL_ROLE, "container");
    var hc = s.hostConfig();
    assertThat(hc.getNetworkMode()).isEqualTo("container:sandbox123");
    assertThat(hc.getIpcMode()).isEqualTo("container:sandbox123");
    assertThat(hc.getCpuShares()).isEqualTo(256);
    assertThat(hc.getCpuPeriod()).isEqualTo(100_000L);
    assertThat(hc.getCpuQuota()).isEqualTo(150_000L);
    assertThat(hc.getMemory()).isEqualTo(256L << 20);
    assertThat(hc.getRestartPolicy()).isEqualTo(RestartPolicy.onFailureRestart(0));
    assertThat(hc.getPidsLimit()).as("maxProcesses").isEqualTo(4096L);
  }

  @Test
  void hostNamespacesReachSandboxAndContainers() {
    ContainerPlan app =
        new ContainerPlan(
            "app",
            "nginx",
            null,
            List.of(),
            List.of(),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(),
            List.of(new ContainerPlan.Port("http", 80, 8080, "TCP")));
    PodPlan p =
        Plans.pod("web", List.of(), List.of(app))
            .withPlacement(new PodPlan.HostAccess(true, true, true), List.of());
    var sb = ContainerSpecs.sandbox(p, "vnode", SETTINGS);
    assertThat(sb.hostConfig().getNetworkMode()).isEqualTo("host");
    assertThat(sb.hostConfig().getIpcMode()).isEqualTo("host");
    assertThat(sb.hostConfig().getPidMode()).isEqualTo("host");
    assertThat(sb.hostname()).isNull();
    assertThat(sb.exposedPorts()).isEmpty();
    assertThat(sb.labels()).containsEntry(Names.LABEL_HOST_NETWORK, "true");
    var c = ContainerSpecs.container(p, "vnode", SETTINGS, app, -1, "sb1", null, Map.of());
    assertThat(c.hostConfig().getNetworkMode()).isEqualTo("host");
    assertThat(c.hostConfig().getIpcMode()).isEqualTo("host");
    assertThat(c.hostConfig().getPidMode()).isEqualTo("host");
    // only the network: the rest stays the pod's own
    PodPlan net =
        Plans.pod("web", List.of(), List.of(app))
            .withPlacement(new PodPlan.HostAccess(true, false, false), List.of());
    var c2 = ContainerSpecs.container(net, "vnode", SETTINGS, app, -1, "sb1", null, Map.of());
    assertThat(c2.hostConfig().getIpcMode()).isEqualTo("container:sb1");
    assertThat(c2.hostConfig().getPidMode()).isNull();
    assertThat(ContainerSpecs.sandbox(net, "vnode", SETTINGS).hostConfig().getIpcMode())
        .isEqualTo("shareable");
  }

  @Test
  void imageDefaultsAreKept() {
    assertThat(ContainerSpecs.normalizeImage("debian:bookworm")).isEqualTo("debian:bookworm");
    assertThat(ContainerSpecs.normalizeImage("localhost:5000/x"))
        .isEqualTo("localhost:5000/x:latest");
    assertThat(ContainerSpecs.normalizeImage("x@sha256:abc")).isEqualTo("x@sha256:abc");
  }

  @Test
  void emptyArgsAndCommandKeepTheImageDefaults() {
    ContainerPlan c = Plans.container("app", "local/busybox:1", List.of(), List.of());
    var s =
        ContainerSpecs.container(
            Plans.pod("p", List.of(), List.of(c)), "n", SETTINGS, c, -1, "sb", null, Map.of());
    assertThat(s.entrypoint()).isNull();
    assertThat(s.cmd()).isNull();
  }

  @Test
  void restartPolicies() {
    assertThat(ContainerSpecs.restartPolicy(PodPlan.RestartPolicy.ALWAYS, false))
        .isEqualTo(RestartPolicy.unlessStoppedRestart());
    assertThat(ContainerSpecs.restartPolicy(PodPlan.RestartPolicy.ALWAYS, true))
        .isEqualTo(RestartPolicy.onFailureRestart(0));
    assertThat(ContainerSpecs.restartPolicy(PodPlan.RestartPolicy.ON_FAILURE, false))
        .isEqualTo(RestartPolicy.onFailureRestart(0));
    assertThat(ContainerSpecs.restartPolicy(PodPlan.RestartPolicy.NEVER, true))
        .isEqualTo(RestartPolicy.noRestart());
  }

  @Test
  void volumesBecomeBinds() {
    byte[] secret = "s3cr3t".getBytes(StandardCharsets.UTF_8);
    var vols =
        List.of(
            new VolumePlan("cache", VolumePlan.Type.EMPTY_DIR, List.of(), null, false),
            new VolumePlan("data", VolumePlan.Type.HOST_PATH, List.of(), "/srv/data/", false),
            new VolumePlan(
                "cfg",
                VolumePlan.Type.CONFIG_MAP,
                List.of(
                    new VolumePlan.FilePlan(
                        "app.conf", "x=1".getBytes(StandardCharsets.UTF_8), 0644),
                    new VolumePlan.FilePlan(
                        "sub/other.conf", "y".getBytes(StandardCharsets.UTF_8), 0644)),
                null,
                false),
            new VolumePlan(
                "sec",
                VolumePlan.Type.SECRET,
                List.of(new VolumePlan.FilePlan("token", secret, 0600)),
                null,
                true));
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "busybox",
            null,
            List.of(),
            List.of(),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(
                new ContainerPlan.Mount("cache", "/cache", null, false),
                new ContainerPlan.Mount("data", "/data", "logs", true),
                new ContainerPlan.Mount("cfg", "/etc/app/", null, true),
                new ContainerPlan.Mount("cfg", "/etc/other.conf", "sub/other.conf", true),
                new ContainerPlan.Mount("sec", "/var/run/secret", null, true)),
            List.of());
    PodPlan p = Plans.pod("p", List.of(), List.of(c), vols, PodPlan.RestartPolicy.NEVER);
    var s =
        ContainerSpecs.container(
            p, "n", SETTINGS, c, -1, "sb", null, Map.of("cfg", "/var/lib/docker/volumes/x/_data"));
    String uid = p.pod().uid();
    assertThat(s.hostConfig().getBinds())
        .extracting(Object::toString)
        .containsExactly(
            Names.volume(p.pod(), "cache") + ":/cache:rw,nocopy",
            "/srv/data/logs:/data:ro",
            Names.volume(p.pod(), "cfg") + ":/etc/app/:ro,nocopy",
            "/var/lib/docker/volumes/x/_data/..data/sub/other.conf:/etc/other.conf:ro",
            Names.volume(p.pod(), "sec") + ":/var/run/secret:ro,nocopy");
    assertThat(PodVolumes.subPathVolumes(p, c)).containsExactly("cfg");
    // the sandbox holds every volume but hostPath, to write their files
    assertThat(ContainerSpecs.sandbox(p, "n", SETTINGS).hostConfig().getBinds())
        .extracting(Object::toString)
        .containsExactly(
            "k8s_vol_cache_" + uid + ":/.hpcbridge/volumes/cache:rw,nocopy",
            "k8s_vol_cfg_" + uid + ":/.hpcbridge/volumes/cfg:rw,nocopy",
            "k8s_vol_sec_" + uid + ":/.hpcbridge/volumes/sec:rw,nocopy");
  }

  @Test
  void invalidPodsAreRejectedWithAReason() {
    var vols = List.of(new VolumePlan("cache", VolumePlan.Type.EMPTY_DIR, List.of(), null, false));
    ContainerPlan sub =
        new ContainerPlan(
            "app",
            "busybox",
            null,
            List.of(),
            List.of(),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(new ContainerPlan.Mount("cache", "/c", "x", false)),
            List.of());
    assertThatThrownBy(
            () ->
                ContainerSpecs.validate(
                    Plans.pod("p", List.of(), List.of(sub), vols, PodPlan.RestartPolicy.NEVER)))
        .isInstanceOf(BackendException.InvalidPod.class)
        .extracting(e -> ((BackendException.InvalidPod) e).reason())
        .isEqualTo("UnsupportedSubPath");
    ContainerPlan missing =
        new ContainerPlan(
            "app",
            "busybox",
            null,
            List.of(),
            List.of(),
            null,
            Map.of(),
            null,
            Resources.NONE,
            List.of(new ContainerPlan.Mount("nope", "/c", null, false)),
            List.of());
    assertThatThrownBy(() -> ContainerSpecs.validate(Plans.pod("p", List.of(), List.of(missing))))
        .isInstanceOf(BackendException.InvalidPod.class)
        .extracting(e -> ((BackendException.InvalidPod) e).reason())
        .isEqualTo("VolumeNotFound");
    assertThatThrownBy(
            () ->
                ContainerSpecs.validate(
                    Plans.pod(
                        "p", List.of(), List.of(Plans.container("a", "", List.of(), List.of())))))
        .isInstanceOf(BackendException.InvalidPod.class);
  }

  @Test
  void activeDeadlineIsLabelledAndChecked() {
    PodPlan p0 = Plans.pod("d", List.of(), List.of(Plans.sh("c", "true")));
    PodPlan p =
        new PodPlan(
            p0.pod(),
            p0.nodeName(),
            p0.initContainers(),
            p0.containers(),
            p0.volumes(),
            p0.restartPolicy(),
            java.time.Duration.ofSeconds(7),
            java.util.Optional.of(java.time.Duration.ofSeconds(60)),
            p0.labels(),
            p0.annotations());
    var labels = ContainerSpecs.sandbox(p, "n", SETTINGS).labels();
    assertThat(labels)
        .containsEntry(Names.LABEL_ACTIVE_DEADLINE, "60")
        .containsEntry(Names.LABEL_GRACE, "7");
    var t0 = java.time.Instant.parse("2026-01-01T00:00:00Z");
    assertThat(ContainerSpecs.deadlineExceeded(labels, t0, t0.plusSeconds(59))).isFalse();
    assertThat(ContainerSpecs.deadlineExceeded(labels, t0, t0.plusSeconds(61))).isTrue();
    assertThat(ContainerSpecs.deadlineExceeded(Map.of(), t0, t0.plusSeconds(6100))).isFalse();
  }
}
