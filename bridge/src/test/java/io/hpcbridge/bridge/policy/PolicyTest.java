package io.hpcbridge.bridge.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.bridge.Manifests;
import io.hpcbridge.bridge.plan.NodeFacts;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.plan.PlanException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

/** Every rule of the policy, through the plan builder that enforces it. */
class PolicyTest {
  static final NodeFacts NODE = new NodeFacts("vnode", "10.0.0.1", 4000, 8L << 30);

  Policy policy = Policy.CLOSED;
  Map<String, String> choices = new HashMap<>();

  PodPlan build(Pod pod) throws PlanException {
    return new PlanBuilder(
            new Manifests(List.of()), Map.of(), NODE, new PolicyChecker(policy, p -> choices))
        .build(pod)
        .plan();
  }

  static Pod pod(UnaryOperator<PodBuilder> customize) {
    PodBuilder b =
        new PodBuilder()
            .withNewMetadata()
            .withName("p")
            .withNamespace("ns")
            .withUid("u")
            .endMetadata()
            .withNewSpec()
            .withNodeName("vnode")
            .withContainers(new ContainerBuilder().withName("main").withImage("busybox").build())
            .endSpec();
    return customize.apply(b).build();
  }

  static Pod withContainerSecurity(String json) {
    Pod p = pod(b -> b);
    p.getSpec()
        .getContainers()
        .get(0)
        .setSecurityContext(
            io.fabric8.kubernetes.client.utils.Serialization.unmarshal(
                json.replace('\'', '"'), io.fabric8.kubernetes.api.model.SecurityContext.class));
    return p;
  }

  AbstractThrowableAssert<?, ? extends Throwable> refused(Pod pod, String reason) {
    return assertThatThrownBy(() -> build(pod))
        .isInstanceOf(PlanException.Invalid.class)
        .satisfies(e -> assertThat(((PlanException) e).reason()).isEqualTo(reason));
  }

  static Policy open(UnaryOperator<Map<String, Object>> fields) {
    Map<String, Object> m = fields.apply(new HashMap<>());
    return io.hpcbridge.backend.SettingsBinder.bind(m, Policy.class, "policy");
  }

  static Pod hostPath(String path) {
    return pod(
        b ->
            b.editSpec()
                .addNewVolume()
                .withName("data")
                .withNewHostPath()
                .withPath(path)
                .endHostPath()
                .endVolume()
                .endSpec());
  }

  @Test
  void hostPathIsClosedByDefaultAndOpenOnlyBelowAnAllowedPrefix() throws Exception {
    refused(hostPath("/var/run/docker.sock"), "PolicyViolation")
        .hasMessageContaining("volume data: hostPath /var/run/docker.sock is not allowed")
        .hasMessageContaining("policy.hostPathPrefixes allows none");
    policy =
        open(
            m -> {
              m.put("hostPathPrefixes", List.of("/data"));
              return m;
            });
    assertThat(build(hostPath("/data/set1")).volume("data")).isPresent();
    assertThat(build(hostPath("/data")).volume("data")).isPresent();
    refused(hostPath("/database"), "PolicyViolation").hasMessageContaining("allows /data");
    refused(hostPath("/data/../etc"), "PolicyViolation").hasMessageContaining("without '..'");
  }

  @Test
  void privilegedIsClosedByDefault() throws Exception {
    Pod p = withContainerSecurity("{'privileged':true}");
    refused(p, "PolicyViolation")
        .hasMessage(
            "container main: securityContext.privileged is not allowed (policy.privileged is"
                + " false)");
    policy =
        open(
            m -> {
              m.put("privileged", true);
              return m;
            });
    assertThat(build(p).containers().get(0).security().privileged()).isTrue();
  }

  @Test
  void addedCapabilitiesMustBeListedAndDropsAreAlwaysFine() throws Exception {
    Pod add = withContainerSecurity("{'capabilities':{'add':['NET_ADMIN'],'drop':['ALL']}}");
    refused(add, "PolicyViolation")
        .hasMessageContaining("capabilities.add NET_ADMIN is not allowed")
        .hasMessageContaining("policy.capabilities allows none");
    policy =
        open(
            m -> {
              m.put("capabilities", List.of("CAP_NET_ADMIN"));
              return m;
            });
    SecurityPlan s = build(add).containers().get(0).security();
    assertThat(s.addCapabilities()).containsExactly("NET_ADMIN");
    assertThat(s.dropCapabilities()).containsExactly("ALL");
  }

  @Test
  void hostNamespacesAndHostPortsAreClosedByDefault() throws Exception {
    refused(pod(b -> b.editSpec().withHostNetwork(true).endSpec()), "PolicyViolation")
        .hasMessageContaining("spec.hostNetwork is not allowed (policy.hostNetwork is false)");
    refused(pod(b -> b.editSpec().withHostPID(true).endSpec()), "PolicyViolation")
        .hasMessageContaining("policy.hostPID");
    refused(pod(b -> b.editSpec().withHostIPC(true).endSpec()), "PolicyViolation")
        .hasMessageContaining("policy.hostIPC");
    Pod port =
        pod(
            b ->
                b.editSpec()
                    .editFirstContainer()
                    .addNewPort()
                    .withContainerPort(80)
                    .withHostPort(8080)
                    .endPort()
                    .endContainer()
                    .endSpec());
    refused(port, "PolicyViolation").hasMessageContaining("ports.hostPort 8080");
    policy =
        open(
            m -> {
              m.put("hostNetwork", true);
              m.put("hostPorts", true);
              return m;
            });
    assertThat(build(pod(b -> b.editSpec().withHostNetwork(true).endSpec())).hostAccess().network())
        .isTrue();
    assertThat(build(port).containers().get(0).ports().get(0).hostPort()).isEqualTo(8080);
  }

  @Test
  void runningAsRootMustBeAllowedAndNeverWithRunAsNonRoot() throws Exception {
    Pod root = withContainerSecurity("{'runAsUser':0}");
    refused(root, "PolicyViolation").hasMessageContaining("policy.runAsRoot is false");
    refused(withContainerSecurity("{'runAsUser':0,'runAsNonRoot':true}"), "PolicyViolation")
        .hasMessageContaining("runAsUser is 0 but runAsNonRoot is true");
    policy =
        open(
            m -> {
              m.put("runAsRoot", true);
              return m;
            });
    assertThat(build(root).containers().get(0).security().runAsUser()).isZero();
  }

  @Test
  void theContainersFieldsWinOverThePods() throws Exception {
    policy =
        open(
            m -> {
              m.put("runAsUsers", List.of("1000-1999"));
              m.put("runAsGroups", List.of("1000", "2000-3000"));
              return m;
            });
    Pod p =
        pod(
            b ->
                b.editSpec()
                    .withNewSecurityContext()
                    .withRunAsUser(1000L)
                    .withRunAsGroup(1000L)
                    .withFsGroup(2000L)
                    .withSupplementalGroups(3000L)
                    .withRunAsNonRoot(true)
                    .endSecurityContext()
                    .editFirstContainer()
                    .withNewSecurityContext()
                    .withRunAsUser(1001L)
                    .withReadOnlyRootFilesystem(true)
                    .withAllowPrivilegeEscalation(false)
                    .endSecurityContext()
                    .endContainer()
                    .endSpec());
    SecurityPlan s = build(p).containers().get(0).security();
    assertThat(s.runAsUser()).isEqualTo(1001L);
    assertThat(s.runAsGroup()).isEqualTo(1000L);
    assertThat(s.fsGroup()).isEqualTo(2000L);
    assertThat(s.supplementalGroups()).containsExactly(3000L);
    assertThat(s.requiresNonRoot()).isTrue();
    assertThat(s.readOnlyRootFilesystem()).isTrue();
    assertThat(s.noNewPrivileges()).isTrue();
  }

  @Test
  void explicitUsersAndGroupsMustBeListedAndGroupZeroIsRoot() throws Exception {
    Pod uid = withContainerSecurity("{'runAsUser':1000}");
    refused(uid, "PolicyViolation")
        .hasMessage(
            "container main: securityContext.runAsUser 1000 is not allowed (policy.runAsUsers"
                + " allows none)");
    Pod disk =
        pod(
            b ->
                b.editSpec()
                    .withNewSecurityContext()
                    .withSupplementalGroups(6L)
                    .endSecurityContext()
                    .endSpec());
    refused(disk, "PolicyViolation").hasMessageContaining("supplementalGroups 6");
    refused(withContainerSecurity("{'runAsGroup':0}"), "PolicyViolation")
        .hasMessageContaining("runAsGroup: 0", "policy.runAsRoot");
    Pod fs =
        pod(
            b ->
                b.editSpec()
                    .withNewSecurityContext()
                    .withFsGroup(0L)
                    .endSecurityContext()
                    .endSpec());
    refused(fs, "PolicyViolation").hasMessageContaining("fsGroup: 0");
    policy =
        open(
            m -> {
              m.put("runAsUsers", List.of("1000-1999"));
              m.put("runAsGroups", List.of("1000-1999"));
              return m;
            });
    assertThat(build(uid).containers().get(0).security().runAsUser()).isEqualTo(1000L);
    refused(withContainerSecurity("{'runAsUser':2000}"), "PolicyViolation")
        .hasMessageContaining("allows 1000-1999");
    refused(disk, "PolicyViolation");
  }

  @Test
  void privilegeEscalationIsADoor() throws Exception {
    Pod p = withContainerSecurity("{'allowPrivilegeEscalation':true}");
    refused(p, "PolicyViolation").hasMessageContaining("policy.allowPrivilegeEscalation");
    policy =
        open(
            m -> {
              m.put("allowPrivilegeEscalation", true);
              return m;
            });
    assertThat(build(p).containers().get(0).security().noNewPrivileges()).isFalse();
  }

  @Test
  void requireNonRootMarksEveryContainer() throws Exception {
    assertThat(build(pod(b -> b)).containers().get(0).security().requiresNonRoot()).isFalse();
    policy =
        open(
            m -> {
              m.put("requireNonRoot", true);
              return m;
            });
    assertThat(build(pod(b -> b)).containers().get(0).security().requiresNonRoot()).isTrue();
  }

  @Test
  void seccompUnconfinedIsADoorAndLocalhostProfilesCannotBeHonoured() throws Exception {
    refused(withContainerSecurity("{'seccompProfile':{'type':'Unconfined'}}"), "PolicyViolation")
        .hasMessageContaining("policy.seccompUnconfined");
    assertThat(
            build(withContainerSecurity("{'seccompProfile':{'type':'RuntimeDefault'}}"))
                .containers()
                .get(0)
                .security()
                .seccompProfile())
        .isEqualTo("RuntimeDefault");
    refused(
            withContainerSecurity(
                "{'seccompProfile':{'type':'Localhost','localhostProfile':'x.json'}}"),
            "UnsupportedSecurityContext")
        .hasMessageContaining("container main: securityContext.seccompProfile");
  }

  @Test
  void fieldsNoBackendCanHonourAreRefusedNotDropped() {
    refused(
            withContainerSecurity("{'seLinuxOptions':{'level':'s0'}}"),
            "UnsupportedSecurityContext")
        .hasMessageContaining("container main: securityContext.seLinuxOptions");
    refused(withContainerSecurity("{'procMount':'Unmasked'}"), "UnsupportedSecurityContext")
        .hasMessageContaining("procMount");
    refused(
            withContainerSecurity("{'windowsOptions':{'runAsUserName':'x'}}"),
            "UnsupportedSecurityContext")
        .hasMessageContaining("windowsOptions");
    refused(withContainerSecurity("{'someFutureField':true}"), "UnsupportedSecurityContext")
        .hasMessageContaining("someFutureField");
    refused(
            pod(
                b ->
                    b.editSpec()
                        .withNewSecurityContext()
                        .addNewSysctl("net.core.somaxconn", "1024")
                        .endSecurityContext()
                        .endSpec()),
            "UnsupportedSecurityContext")
        .hasMessageContaining("securityContext.sysctls");
    refused(
            pod(
                b ->
                    b.editMetadata()
                        .addToAnnotations(
                            "container.apparmor.security.beta.kubernetes.io/main", "localhost/x")
                        .endMetadata()),
            "UnsupportedSecurityContext")
        .hasMessageContaining("apparmor");
  }

  @Test
  void isolationNoBackendGivesIsRefused() {
    refused(
            pod(b -> b.editSpec().withRuntimeClassName("gvisor").endSpec()),
            "UnsupportedSecurityContext")
        .hasMessageContaining("spec.runtimeClassName");
    refused(pod(b -> b.editSpec().withHostUsers(false).endSpec()), "UnsupportedSecurityContext")
        .hasMessageContaining("spec.hostUsers");
    refused(
            pod(b -> b.editSpec().withShareProcessNamespace(true).endSpec()),
            "UnsupportedSecurityContext")
        .hasMessageContaining("shareProcessNamespace");
    refused(
            withContainerSecurity("{'appArmorProfile':{'type':'Unconfined'}}"),
            "UnsupportedSecurityContext")
        .hasMessageContaining("appArmorProfile");
    Pod propagation =
        pod(
            b ->
                b.editSpec()
                    .addNewVolume()
                    .withName("e")
                    .withNewEmptyDir()
                    .endEmptyDir()
                    .endVolume()
                    .editFirstContainer()
                    .addNewVolumeMount()
                    .withName("e")
                    .withMountPath("/e")
                    .withMountPropagation("Bidirectional")
                    .endVolumeMount()
                    .endContainer()
                    .endSpec());
    refused(propagation, "UnsupportedSecurityContext").hasMessageContaining("mountPropagation");
  }

  @Test
  void aNamespaceOverridesTheBridgeWideFields() throws Exception {
    policy =
        open(
            m -> {
              m.put(
                  "namespaces",
                  Map.of("team-a", Map.of("hostPathPrefixes", List.of("/scratch/team-a"))));
              return m;
            });
    refused(hostPath("/scratch/team-a/x"), "PolicyViolation");
    Pod inTeamA = hostPath("/scratch/team-a/x");
    inTeamA.getMetadata().setNamespace("team-a");
    assertThat(build(inTeamA).volume("data")).isPresent();
  }

  @Test
  void slurmChoicesAreCheckedAgainstTheNamespacesLists() throws Exception {
    choices.put(Backend.CHOICE_RUNTIME, "none");
    refused(pod(b -> b), "PolicyViolation")
        .hasMessageContaining("annotation runtime: none is not allowed")
        .hasMessageContaining("policy.slurm.runtimes allows no choice of the pod's own");
    choices.clear();
    choices.put(Backend.CHOICE_ACCOUNT, "physics");
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("policy.slurm.accounts");
    policy =
        open(
            m -> {
              m.put(
                  "slurm",
                  Map.of(
                      "accounts",
                      List.of("physics"),
                      "maxNodes",
                      4,
                      "maxTime",
                      "24h",
                      "flavors",
                      List.of("small")));
              return m;
            });
    assertThat(build(pod(b -> b))).isNotNull();
    choices.put(Backend.CHOICE_NODES, "5");
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("policy.slurm.maxNodes (4)");
    choices.put(Backend.CHOICE_NODES, "4");
    choices.put(Backend.CHOICE_EXCLUSIVE, "true");
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("policy.slurm.exclusive");
    choices.remove(Backend.CHOICE_EXCLUSIVE);
    choices.put(Backend.CHOICE_TIME, String.valueOf(Duration.ofHours(25).toSeconds()));
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("policy.slurm.maxTime");
    choices.put(Backend.CHOICE_TIME, "0"); // Slurm: unlimited
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("0 (unlimited)");
    choices.remove(Backend.CHOICE_TIME);
    assertThat(build(pod(b -> b)).activeDeadline())
        .as("no time chosen: the policy's limit applies")
        .contains(Duration.ofHours(24));
    choices.put(Backend.CHOICE_PRESET, "huge");
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("policy.slurm.flavors");
    choices.put(Backend.CHOICE_PRESET, "small");
    assertThat(build(pod(b -> b))).isNotNull();
    choices.put(Backend.CHOICE_RESERVATION, "team-b");
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("policy.slurm.reservations");
    choices.remove(Backend.CHOICE_RESERVATION);
    choices.put(Backend.CHOICE_NODES, "99999999999999999999");
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("not a number");
  }

  @Test
  void presetsAreClosedUnlessListed() {
    choices.put(Backend.CHOICE_PRESET, "trusted");
    refused(pod(b -> b), "PolicyViolation")
        .hasMessageContaining("annotation flavor: trusted is not allowed");
  }

  @Test
  void anEmptyListOfDockerHostsAllowsNone() {
    policy =
        open(
            m -> {
              m.put("docker", Map.of("hosts", List.of()));
              return m;
            });
    refused(pod(b -> b), "PolicyViolation").hasMessageContaining("may use no Docker host");
  }

  @Test
  void dockerHostsOfTheNamespaceBecomeThePlansAllowedHosts() throws Exception {
    assertThat(build(pod(b -> b)).allowedHosts()).isEmpty();
    policy =
        open(
            m -> {
              m.put("docker", Map.of("hosts", List.of("gpu-1", "gpu-2")));
              return m;
            });
    assertThat(build(pod(b -> b)).allowedHosts()).containsExactly("gpu-1", "gpu-2");
  }
}
