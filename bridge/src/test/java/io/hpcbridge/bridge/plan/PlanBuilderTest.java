package io.hpcbridge.bridge.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeBuilder;
import io.fabric8.kubernetes.api.model.VolumeMountBuilder;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.VolumePlan.FilePlan;
import io.hpcbridge.bridge.Manifests;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PlanBuilderTest {

  private static final NodeFacts NODE = new NodeFacts("vnode-1", "10.1.2.3", 4000, 8L << 30);

  private final List<HasMetadata> objects = new ArrayList<>();

  // ---- configMap and secret volumes ----

  @Test
  void configMapVolumeHasEveryKeyWithMode0644IncludingBinaryData() throws Exception {
    objects.add(
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName("cfg")
            .withNamespace("ns")
            .endMetadata()
            .addToData("b.conf", "bee")
            .addToData("a.conf", "ay")
            .addToBinaryData("blob.bin", b64(new byte[] {0, 1, (byte) 0xff}))
            .build());

    VolumePlan v =
        volume(
            new VolumeBuilder()
                .withName("v")
                .withNewConfigMap()
                .withName("cfg")
                .endConfigMap()
                .build());

    assertThat(v.type()).isEqualTo(VolumePlan.Type.CONFIG_MAP);
    assertThat(v.sensitive()).isFalse();
    assertThat(v.files())
        .extracting(FilePlan::path, FilePlan::mode)
        .containsExactly(tuple("a.conf", 0644), tuple("b.conf", 0644), tuple("blob.bin", 0644));
    assertThat(file(v, "a.conf").content()).isEqualTo("ay".getBytes(StandardCharsets.UTF_8));
    assertThat(file(v, "blob.bin").content()).containsExactly(0, 1, 0xff);
  }

  @Test
  void configMapItemsSelectKeysAndHonourDefaultModeAndItemMode() throws Exception {
    configMap("cfg", Map.of("a", "1", "b", "2", "c", "3"));

    VolumePlan v =
        volume(
            new VolumeBuilder()
                .withName("v")
                .withNewConfigMap()
                .withName("cfg")
                .withDefaultMode(0440)
                .withItems(
                    new KeyToPath("a", null, "conf/a.txt"), new KeyToPath("b", 0400, "b.txt"))
                .endConfigMap()
                .build());

    assertThat(v.files())
        .extracting(FilePlan::path, FilePlan::mode)
        .containsExactly(tuple("conf/a.txt", 0440), tuple("b.txt", 0400));
  }

  @Test
  void secretVolumeDefaultsTo0600AndIsSensitive() throws Exception {
    secret("creds", Map.of("password", "s3cr3t"), Map.of("user", "admin"));

    VolumePlan v =
        volume(
            new VolumeBuilder()
                .withName("v")
                .withNewSecret()
                .withSecretName("creds")
                .endSecret()
                .build());

    assertThat(v.type()).isEqualTo(VolumePlan.Type.SECRET);
    assertThat(v.sensitive()).isTrue();
    assertThat(v.files())
        .extracting(FilePlan::path, FilePlan::mode)
        .containsExactly(tuple("password", 0600), tuple("user", 0600));
    assertThat(new String(file(v, "password").content(), StandardCharsets.UTF_8))
        .isEqualTo("s3cr3t");
    assertThat(new String(file(v, "user").content(), StandardCharsets.UTF_8)).isEqualTo("admin");
  }

  @Test
  void secretVolumeWithTheApiServersDefault0644IsStillOwnerOnly() throws Exception {
    secret("creds", Map.of("password", "s3cr3t"), Map.of());

    VolumePlan v =
        volume(
            new VolumeBuilder()
                .withName("v")
                .withNewSecret()
                .withSecretName("creds")
                .withDefaultMode(0644)
                .endSecret()
                .build());

    assertThat(v.files()).extracting(FilePlan::mode).containsExactly(0600);
  }

  @Test
  void secretVolumeHonoursDefaultModeAndItemMode() throws Exception {
    secret("creds", Map.of("a", "1", "b", "2"), Map.of());

    VolumePlan v =
        volume(
            new VolumeBuilder()
                .withName("v")
                .withNewSecret()
                .withSecretName("creds")
                .withDefaultMode(0444)
                .withItems(new KeyToPath("a", null, "a"), new KeyToPath("b", 0400, "sub/b"))
                .endSecret()
                .build());

    assertThat(v.files())
        .extracting(FilePlan::path, FilePlan::mode)
        .containsExactly(tuple("a", 0444), tuple("sub/b", 0400));
  }

  @Test
  void missingConfigMapOrSecretIsMissingUnlessOptional() throws Exception {
    Volume cm =
        new VolumeBuilder()
            .withName("c")
            .withNewConfigMap()
            .withName("absent")
            .endConfigMap()
            .build();
    Volume s =
        new VolumeBuilder()
            .withName("s")
            .withNewSecret()
            .withSecretName("absent")
            .endSecret()
            .build();
    Volume optCm =
        new VolumeBuilder()
            .withName("c")
            .withNewConfigMap()
            .withName("absent")
            .withOptional(true)
            .endConfigMap()
            .build();
    Volume optS =
        new VolumeBuilder()
            .withName("s")
            .withNewSecret()
            .withSecretName("absent")
            .withOptional(true)
            .endSecret()
            .build();

    assertThatThrownBy(() -> volume(cm))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("configmap \"absent\" not found");
    assertThatThrownBy(() -> volume(s))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("secret \"absent\" not found");
    assertThat(volume(optCm).files()).isEmpty();
    assertThat(volume(optS).files()).isEmpty();
  }

  @Test
  void itemNamingAMissingKeyWaitsForItUnlessOptional() throws Exception {
    configMap("cfg", Map.of("a", "1"));
    Volume required =
        new VolumeBuilder()
            .withName("v")
            .withNewConfigMap()
            .withName("cfg")
            .withItems(new KeyToPath("a", null, "a"), new KeyToPath("nope", null, "nope"))
            .endConfigMap()
            .build();
    Volume optional =
        new VolumeBuilder(required).editConfigMap().withOptional(true).endConfigMap().build();

    // The kubelet keeps retrying the mount: the key may still be added.
    assertThatThrownBy(() -> volume(required))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("nope");
    assertThat(volume(optional).files()).extracting(FilePlan::path).containsExactly("a");
  }

  @ParameterizedTest
  @ValueSource(strings = {"../escape", "/etc/passwd", "a/../../b"})
  void itemPathsMustStayInsideTheVolume(String path) {
    configMap("cfg", Map.of("a", "1"));
    Volume v =
        new VolumeBuilder()
            .withName("v")
            .withNewConfigMap()
            .withName("cfg")
            .withItems(new KeyToPath("a", null, path))
            .endConfigMap()
            .build();

    assertThatThrownBy(() -> volume(v))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining(path);
  }

  // ---- downwardAPI, projected, emptyDir, hostPath ----

  @Test
  void downwardApiVolumeWritesFieldsAndResources() throws Exception {
    Volume v =
        new VolumeBuilder()
            .withName("info")
            .withNewDownwardAPI()
            .addNewItem()
            .withPath("name")
            .withNewFieldRef()
            .withFieldPath("metadata.name")
            .endFieldRef()
            .endItem()
            .addNewItem()
            .withPath("labels")
            .withMode(0400)
            .withNewFieldRef()
            .withFieldPath("metadata.labels")
            .endFieldRef()
            .endItem()
            .addNewItem()
            .withPath("mem_mi")
            .withNewResourceFieldRef()
            .withContainerName("main")
            .withResource("limits.memory")
            .withDivisor(new Quantity("1Mi"))
            .endResourceFieldRef()
            .endItem()
            .endDownwardAPI()
            .build();

    VolumePlan plan = volume(v);

    assertThat(plan.type()).isEqualTo(VolumePlan.Type.DOWNWARD_API);
    assertThat(plan.files())
        .extracting(
            FilePlan::path, f -> new String(f.content(), StandardCharsets.UTF_8), FilePlan::mode)
        .containsExactly(
            tuple("name", "web-0", 0644),
            tuple("labels", "app=\"web\"\ntier=\"front\"", 0400),
            tuple("mem_mi", "8192", 0644));
  }

  @Test
  void projectedVolumeCombinesSourcesWithItsDefaultMode() throws Exception {
    configMap("cfg", Map.of("app.conf", "x=1"));
    secret("creds", Map.of("token", "t0k"), Map.of());
    Volume v =
        new VolumeBuilder()
            .withName("all")
            .withNewProjected()
            .withDefaultMode(0440)
            .addNewSource()
            .withNewConfigMap()
            .withName("cfg")
            .endConfigMap()
            .endSource()
            .addNewSource()
            .withNewSecret()
            .withName("creds")
            .withItems(new KeyToPath("token", 0400, "secret/token"))
            .endSecret()
            .endSource()
            .addNewSource()
            .withNewDownwardAPI()
            .addNewItem()
            .withPath("ns")
            .withNewFieldRef()
            .withFieldPath("metadata.namespace")
            .endFieldRef()
            .endItem()
            .endDownwardAPI()
            .endSource()
            .addNewSource()
            .withNewConfigMap()
            .withName("absent")
            .withOptional(true)
            .endConfigMap()
            .endSource()
            .endProjected()
            .build();

    VolumePlan plan = volume(v);

    assertThat(plan.type()).isEqualTo(VolumePlan.Type.PROJECTED);
    assertThat(plan.sensitive()).isTrue();
    assertThat(plan.files())
        .extracting(
            FilePlan::path, f -> new String(f.content(), StandardCharsets.UTF_8), FilePlan::mode)
        .containsExactly(
            tuple("app.conf", "x=1", 0440),
            tuple("secret/token", "t0k", 0400),
            tuple("ns", "ns", 0440));
  }

  @Test
  void projectedVolumeWithAMissingRequiredSourceIsMissing() {
    Volume v =
        new VolumeBuilder()
            .withName("all")
            .withNewProjected()
            .addNewSource()
            .withNewSecret()
            .withName("absent")
            .endSecret()
            .endSource()
            .endProjected()
            .build();

    assertThatThrownBy(() -> volume(v))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("absent");
  }

  @Test
  void emptyDirAndHostPath() throws Exception {
    VolumePlan scratch =
        volume(new VolumeBuilder().withName("scratch").withNewEmptyDir().endEmptyDir().build());
    VolumePlan data =
        volume(
            new VolumeBuilder()
                .withName("data")
                .withNewHostPath()
                .withPath("/srv/data")
                .endHostPath()
                .build());

    assertThat(scratch.type()).isEqualTo(VolumePlan.Type.EMPTY_DIR);
    assertThat(scratch.files()).isEmpty();
    assertThat(data.type()).isEqualTo(VolumePlan.Type.HOST_PATH);
    assertThat(data.hostPath()).isEqualTo("/srv/data");
  }

  @Test
  void unsupportedVolumeIsInvalidAndNamesTheType() {
    Volume pvc =
        new VolumeBuilder()
            .withName("data")
            .withNewPersistentVolumeClaim()
            .withClaimName("claim")
            .endPersistentVolumeClaim()
            .build();

    assertThatThrownBy(() -> volume(pvc))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("persistentVolumeClaim")
        .hasMessageContaining("\"data\"")
        .extracting(e -> ((PlanException) e).reason())
        .isEqualTo("UnsupportedVolume");
  }

  // ---- mounts ----

  @Test
  void mountsKeepPathSubPathAndReadOnly() throws Exception {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .addNewVolume()
                    .withName("scratch")
                    .withNewEmptyDir()
                    .endEmptyDir()
                    .endVolume()
                    .editFirstContainer()
                    .withVolumeMounts(
                        mount("/work").build(),
                        mount("/logs").withReadOnly(true).withSubPath("logs").build(),
                        mount("/per-pod").withSubPathExpr("pods/$(POD)").build())
                    .withEnv(
                        new EnvVarBuilder()
                            .withName("POD")
                            .withNewValueFrom()
                            .withNewFieldRef()
                            .withFieldPath("metadata.name")
                            .endFieldRef()
                            .endValueFrom()
                            .build())
                    .endContainer()
                    .endSpec());

    ContainerPlan c = build(pod).containers().get(0);

    assertThat(c.mounts())
        .containsExactly(
            new ContainerPlan.Mount("scratch", "/work", null, false),
            new ContainerPlan.Mount("scratch", "/logs", "logs", true),
            new ContainerPlan.Mount("scratch", "/per-pod", "pods/web-0", false));
  }

  @Test
  void mountOfUnknownVolumeIsInvalid() {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .editFirstContainer()
                    .addNewVolumeMount()
                    .withName("ghost")
                    .withMountPath("/ghost")
                    .endVolumeMount()
                    .endContainer()
                    .endSpec());

    assertThatThrownBy(() -> build(pod))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("ghost")
        .extracting(e -> ((PlanException) e).reason())
        .isEqualTo("InvalidVolumeMount");
  }

  @ParameterizedTest
  @ValueSource(strings = {"..", "../x", "a/../../x", "/abs"})
  void subPathMustStayInsideTheVolume(String subPath) {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .addNewVolume()
                    .withName("scratch")
                    .withNewEmptyDir()
                    .endEmptyDir()
                    .endVolume()
                    .editFirstContainer()
                    .addNewVolumeMount()
                    .withName("scratch")
                    .withMountPath("/m")
                    .withSubPath(subPath)
                    .endVolumeMount()
                    .endContainer()
                    .endSpec());

    assertThatThrownBy(() -> build(pod))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("subPath");
  }

  @Test
  void subPathExprThatExpandsOutsideIsInvalid() {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .addNewVolume()
                    .withName("scratch")
                    .withNewEmptyDir()
                    .endEmptyDir()
                    .endVolume()
                    .editFirstContainer()
                    .addToEnv(new EnvVar("UP", "..", null))
                    .addNewVolumeMount()
                    .withName("scratch")
                    .withMountPath("/m")
                    .withSubPathExpr("$(UP)/etc")
                    .endVolumeMount()
                    .endContainer()
                    .endSpec());

    assertThatThrownBy(() -> build(pod))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("../etc");
  }

  // ---- resources, policies, command ----

  @Test
  void resourcesInPlainUnits() throws Exception {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .editFirstContainer()
                    .withNewResources()
                    .addToRequests("cpu", new Quantity("500m"))
                    .addToRequests("memory", new Quantity("1Gi"))
                    .addToLimits("cpu", new Quantity("2"))
                    .addToLimits("memory", new Quantity("1500M"))
                    .addToLimits("nvidia.com/gpu", new Quantity("2"))
                    .addToLimits("example.com/fpga", new Quantity("1"))
                    .endResources()
                    .endContainer()
                    .endSpec());

    Resources r = build(pod).containers().get(0).resources();

    assertThat(r)
        .isEqualTo(
            new Resources(500, 2000, 1L << 30, 1_500_000_000L, 2, Map.of("example.com/fpga", 1L)));
  }

  @Test
  void noResourcesIsNone() throws Exception {
    assertThat(build(pod(p -> p)).containers().get(0).resources()).isEqualTo(Resources.NONE);
  }

  @Test
  void fractionalCpuRoundsUpToWholeMillicores() throws Exception {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .editFirstContainer()
                    .withNewResources()
                    .addToRequests("cpu", new Quantity("0.0005"))
                    .endResources()
                    .endContainer()
                    .endSpec());

    assertThat(build(pod).containers().get(0).resources().cpuRequestMillis()).isEqualTo(1);
  }

  @Test
  void badQuantityIsInvalid() {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .editFirstContainer()
                    .withNewResources()
                    .addToLimits("memory", new Quantity("lots"))
                    .endResources()
                    .endContainer()
                    .endSpec());

    assertThatThrownBy(() -> build(pod))
        .isInstanceOf(PlanException.Invalid.class)
        .extracting(e -> ((PlanException) e).reason())
        .isEqualTo("InvalidResources");
  }

  @Test
  void restartPolicyDefaultsToAlways() throws Exception {
    assertThat(build(pod(p -> p)).restartPolicy()).isEqualTo(PodPlan.RestartPolicy.ALWAYS);
    assertThat(
            build(pod(p -> p.editSpec().withRestartPolicy("OnFailure").endSpec())).restartPolicy())
        .isEqualTo(PodPlan.RestartPolicy.ON_FAILURE);
    assertThat(build(pod(p -> p.editSpec().withRestartPolicy("Never").endSpec())).restartPolicy())
        .isEqualTo(PodPlan.RestartPolicy.NEVER);
  }

  @Test
  void unknownRestartPolicyIsInvalid() {
    Pod pod = pod(p -> p.editSpec().withRestartPolicy("Sometimes").endSpec());

    assertThatThrownBy(() -> build(pod))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("Sometimes");
  }

  @Test
  void gracePeriodDefaultsTo30SecondsAndDeadlineIsOptional() throws Exception {
    PodPlan defaults = build(pod(p -> p));
    PodPlan set =
        build(
            pod(
                p ->
                    p.editSpec()
                        .withTerminationGracePeriodSeconds(5L)
                        .withActiveDeadlineSeconds(600L)
                        .endSpec()));

    assertThat(defaults.terminationGracePeriod()).isEqualTo(Duration.ofSeconds(30));
    assertThat(defaults.activeDeadline()).isEmpty();
    assertThat(set.terminationGracePeriod()).isEqualTo(Duration.ofSeconds(5));
    assertThat(set.activeDeadline()).contains(Duration.ofMinutes(10));
  }

  @Test
  void commandAndArgsAreExpandedWithTheContainerEnv() throws Exception {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .editFirstContainer()
                    .addToEnv(new EnvVar("GREETING", "hi", null))
                    .withCommand("/bin/echo", "$(GREETING)")
                    .withArgs("$(NOPE)", "$$(GREETING)")
                    .withWorkingDir("/tmp")
                    .endContainer()
                    .endSpec());

    ContainerPlan c = build(pod).containers().get(0);

    assertThat(c.argv()).containsExactly("/bin/echo", "hi", "$(NOPE)", "$(GREETING)");
    assertThat(c.workingDir()).isEqualTo("/tmp");
  }

  @Test
  void initContainersComeFirstAndIdentityIsCopied() throws Exception {
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .addNewInitContainer()
                    .withName("init")
                    .withImage("busybox")
                    .endInitContainer()
                    .endSpec());

    PodPlan plan = build(pod);

    assertThat(plan.initContainers()).extracting(ContainerPlan::name).containsExactly("init");
    assertThat(plan.containers()).extracting(ContainerPlan::name).containsExactly("main");
    assertThat(plan.pod().uid()).isEqualTo("uid-1");
    assertThat(plan.pod().namespace()).isEqualTo("ns");
    assertThat(plan.nodeName()).isEqualTo("vnode-1");
    assertThat(plan.labels()).containsEntry("app", "web");
  }

  @Test
  void podWithoutContainersIsInvalid() {
    Pod pod = pod(p -> p.editSpec().withContainers(List.of()).endSpec());

    assertThatThrownBy(() -> build(pod)).isInstanceOf(PlanException.Invalid.class);
  }

  // ---- redaction ----

  @Test
  void redactedHidesSecretEnvValuesAndSecretFiles() throws Exception {
    secret("creds", Map.of("password", "s3cr3t"), Map.of());
    configMap("cfg", Map.of("app.conf", "public"));
    Pod pod =
        pod(
            p ->
                p.editSpec()
                    .addNewVolume()
                    .withName("sec")
                    .withNewSecret()
                    .withSecretName("creds")
                    .endSecret()
                    .endVolume()
                    .addNewVolume()
                    .withName("cfg")
                    .withNewConfigMap()
                    .withName("cfg")
                    .endConfigMap()
                    .endVolume()
                    .editFirstContainer()
                    .addToEnv(
                        new EnvVarBuilder()
                            .withName("PASSWORD")
                            .withNewValueFrom()
                            .withNewSecretKeyRef("password", "creds", null)
                            .endValueFrom()
                            .build())
                    .addToEnv(new EnvVar("DSN", "db:$(PASSWORD)", null))
                    .addToEnv(new EnvVar("LEVEL", "debug", null))
                    .withArgs("--password=$(PASSWORD)", "--level=$(LEVEL)")
                    .endContainer()
                    .endSpec());
    PodPlan plan = build(pod);

    PodPlan redacted = plan.redacted();

    ContainerPlan c = redacted.containers().get(0);
    assertThat(c.env())
        .containsEntry("PASSWORD", "<redacted>")
        .containsEntry("DSN", "<redacted>")
        .containsEntry("LEVEL", "debug");
    assertThat(c.args()).containsExactly("--password=<redacted>", "--level=debug");
    assertThat(
            new String(
                file(redacted.volume("sec").orElseThrow(), "password").content(),
                StandardCharsets.UTF_8))
        .isEqualTo("<redacted>");
    assertThat(
            new String(
                file(redacted.volume("cfg").orElseThrow(), "app.conf").content(),
                StandardCharsets.UTF_8))
        .isEqualTo("public");
    // The original keeps its values.
    assertThat(plan.containers().get(0).env()).containsEntry("PASSWORD", "s3cr3t");
    assertThat(plan.containers().get(0).args())
        .containsExactly("--password=s3cr3t", "--level=debug");
  }

  // ---- helpers ----

  private PodPlan build(Pod pod) throws PlanException {
    return new PlanBuilder(new Manifests(objects), Map.of(), NODE).build(pod).plan();
  }

  private VolumePlan volume(Volume v) throws PlanException {
    Pod pod = pod(p -> p.editSpec().withVolumes(v).endSpec());
    return build(pod).volume(v.getName()).orElseThrow();
  }

  private static Pod pod(UnaryOperator<PodBuilder> customize) {
    PodBuilder b =
        new PodBuilder()
            .withNewMetadata()
            .withName("web-0")
            .withNamespace("ns")
            .withUid("uid-1")
            .addToLabels("app", "web")
            .addToLabels("tier", "front")
            .endMetadata()
            .withNewSpec()
            .withNodeName("vnode-1")
            .withContainers(new ContainerBuilder().withName("main").withImage("busybox").build())
            .endSpec();
    return customize.apply(b).build();
  }

  private static VolumeMountBuilder mount(String path) {
    return new VolumeMountBuilder().withName("scratch").withMountPath(path);
  }

  private static FilePlan file(VolumePlan v, String path) {
    Optional<FilePlan> f = v.files().stream().filter(x -> x.path().equals(path)).findFirst();
    assertThat(f).as("file %s in volume %s", path, v.name()).isPresent();
    return f.get();
  }

  private void configMap(String name, Map<String, String> data) {
    objects.add(
        new ConfigMapBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace("ns")
            .endMetadata()
            .withData(data)
            .build());
  }

  private void secret(String name, Map<String, String> data, Map<String, String> stringData) {
    Map<String, String> encoded = new java.util.HashMap<>();
    data.forEach((k, v) -> encoded.put(k, b64(v.getBytes(StandardCharsets.UTF_8))));
    objects.add(
        new SecretBuilder()
            .withNewMetadata()
            .withName(name)
            .withNamespace("ns")
            .endMetadata()
            .withData(encoded)
            .withStringData(stringData)
            .build());
  }

  private static String b64(byte[] bytes) {
    return Base64.getEncoder().encodeToString(bytes);
  }
}
