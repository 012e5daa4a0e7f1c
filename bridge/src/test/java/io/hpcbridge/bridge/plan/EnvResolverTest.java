package io.hpcbridge.bridge.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvFromSourceBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.hpcbridge.bridge.Manifests;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EnvResolverTest {

  private static final NodeFacts NODE = new NodeFacts("vnode-1", "10.1.2.3", 8000, 16L << 30);

  private final List<HasMetadata> objects = new ArrayList<>();
  private Map<String, String> serviceEnv = Map.of();

  // ---- order and precedence ----

  @Test
  void serviceEnvThenEnvFromInOrderThenEnv() throws Exception {
    serviceEnv = Map.of("KUBERNETES_SERVICE_HOST", "10.96.0.1", "SHARED", "service");
    configMap("first", Map.of("SHARED", "first", "ONLY_FIRST", "1", "LATER_WINS", "first"));
    configMap("second", Map.of("LATER_WINS", "second"));
    Container c =
        container()
            .withEnvFrom(fromConfigMap("first", null), fromConfigMap("second", null))
            .withEnv(value("SHARED", "env"))
            .build();

    Map<String, String> env = resolve(c).env();

    assertThat(env)
        .containsOnly(
            entry("KUBERNETES_SERVICE_HOST", "10.96.0.1"),
            entry("SHARED", "env"),
            entry("ONLY_FIRST", "1"),
            entry("LATER_WINS", "second"));
  }

  @Test
  void envFromOverridesServiceEnv() throws Exception {
    serviceEnv = Map.of("KUBERNETES_SERVICE_PORT", "443");
    configMap("cm", Map.of("KUBERNETES_SERVICE_PORT", "6443"));

    Map<String, String> env =
        resolve(container().withEnvFrom(fromConfigMap("cm", null)).build()).env();

    assertThat(env).containsEntry("KUBERNETES_SERVICE_PORT", "6443");
  }

  @Test
  void envFromPrefixIsPrependedToEveryKey() throws Exception {
    configMap("cm", Map.of("HOST", "db", "PORT", "5432"));

    Map<String, String> env =
        resolve(container().withEnvFrom(fromConfigMap("cm", "DB_")).build()).env();

    assertThat(env).containsOnly(entry("DB_HOST", "db"), entry("DB_PORT", "5432"));
  }

  @Test
  void invalidEnvFromNamesAreSkippedWithAWarning() throws Exception {
    configMap("cm", Map.of("GOOD", "1", "1BAD", "2", "has space", "3", "dots.and-dashes", "4"));
    configMap("prefixed", Map.of("1FIXED", "5"));

    EnvResolver.Resolved r =
        resolve(
            container()
                .withEnvFrom(fromConfigMap("cm", null), fromConfigMap("prefixed", "P_"))
                .build());

    assertThat(r.env())
        .containsOnly(entry("GOOD", "1"), entry("dots.and-dashes", "4"), entry("P_1FIXED", "5"));
    assertThat(r.warnings()).hasSize(2);
    assertThat(String.join("\n", r.warnings())).contains("1BAD").contains("has space");
  }

  // ---- $(VAR) expansion ----

  @Test
  void envValuesExpandReferencesToEarlierVariables() throws Exception {
    serviceEnv = Map.of("KUBERNETES_SERVICE_HOST", "10.96.0.1");
    configMap("cm", Map.of("FROM_CM", "cm-value"));
    Container c =
        container()
            .withEnvFrom(fromConfigMap("cm", null))
            .withEnv(
                value("A", "a"),
                value("B", "$(A)-$(FROM_CM)-$(KUBERNETES_SERVICE_HOST)"),
                value("FORWARD", "$(C)"),
                value("C", "c"),
                value("ESCAPED", "$$(A)"),
                value("UNDEFINED", "x$(NOPE)y"))
            .build();

    Map<String, String> env = resolve(c).env();

    assertThat(env)
        .containsEntry("B", "a-cm-value-10.96.0.1")
        .containsEntry("FORWARD", "$(C)")
        .containsEntry("ESCAPED", "$(A)")
        .containsEntry("UNDEFINED", "x$(NOPE)y");
  }

  @Test
  void envFromValuesAreNotExpanded() throws Exception {
    configMap("cm", Map.of("RAW", "$(A) and $$"));
    Container c =
        container().withEnv(value("A", "a")).withEnvFrom(fromConfigMap("cm", null)).build();

    assertThat(resolve(c).env()).containsEntry("RAW", "$(A) and $$");
  }

  @ParameterizedTest(name = "[{index}] \"{0}\" -> \"{1}\"")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '\'',
      value = {
        "$(A)          | 1",
        "$(A)$(A)      | 11",
        "x$(A)y        | x1y",
        "$$(A)         | $(A)",
        "$$$(A)        | $1",
        "$$$$          | $$",
        "$(MISSING)    | $(MISSING)",
        "$()           | $()",
        "$(A           | $(A",
        "$(A $$        | $(A $",
        "$x$           | $x$",
        "trailing$     | trailing$",
        "'$(A B)'      | '$(A B)'",
        "'$(SP ACE)'   | 'v w'",
      })
  void expansionFollowsKubernetes(String input, String expected) {
    assertThat(EnvResolver.expand(input, Map.of("A", "1", "SP ACE", "v w"))).isEqualTo(expected);
  }

  @Test
  void expansionOfEmptyStringIsEmpty() {
    assertThat(EnvResolver.expand("", Map.of("A", "1"))).isEmpty();
  }

  // ---- configMapKeyRef / secretKeyRef ----

  @Test
  void configMapKeyRefReadsTheKey() throws Exception {
    configMap("cm", Map.of("k", "v"));
    Container c = container().withEnv(fromConfigMapKey("X", "cm", "k", null)).build();

    EnvResolver.Resolved r = resolve(c);

    assertThat(r.env()).containsEntry("X", "v");
    assertThat(r.secretKeys()).isEmpty();
  }

  @Test
  void missingConfigMapIsMissing() {
    Container c = container().withEnv(fromConfigMapKey("X", "absent", "k", null)).build();

    assertThatThrownBy(() -> resolve(c))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("configmap \"absent\" not found")
        .extracting(e -> ((PlanException) e).reason())
        .isEqualTo("CreateContainerConfigError");
  }

  @Test
  void missingConfigMapKeyIsMissing() {
    configMap("cm", Map.of("other", "v"));
    Container c = container().withEnv(fromConfigMapKey("X", "cm", "k", false)).build();

    assertThatThrownBy(() -> resolve(c))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("couldn't find key k in ConfigMap ns/cm");
  }

  @Test
  void optionalConfigMapKeyRefThatIsMissingLeavesTheVariableUnset() throws Exception {
    configMap("cm", Map.of("other", "v"));
    Container c =
        container()
            .withEnv(
                fromConfigMapKey("NO_MAP", "absent", "k", true),
                fromConfigMapKey("NO_KEY", "cm", "k", true))
            .build();

    assertThat(resolve(c).env()).doesNotContainKeys("NO_MAP", "NO_KEY");
  }

  @Test
  void optionalRefThatIsMissingKeepsAnEarlierValue() throws Exception {
    configMap("defaults", Map.of("LEVEL", "info", "TOKEN", "none"));
    Container c =
        container()
            .withEnvFrom(fromConfigMap("defaults", null))
            .withEnv(
                fromConfigMapKey("LEVEL", "absent", "level", true),
                fromSecretKey("TOKEN", "absent", "token", true))
            .build();

    assertThat(resolve(c).env()).containsEntry("LEVEL", "info").containsEntry("TOKEN", "none");
  }

  @Test
  void secretKeyRefDecodesDataAndIsRecordedAsSecret() throws Exception {
    secret("creds", Map.of("password", "s3cr3t"), Map.of("user", "admin"));
    Container c =
        container()
            .withEnv(
                fromSecretKey("PASSWORD", "creds", "password", null),
                fromSecretKey("USER", "creds", "user", null),
                value("PLAIN", "p"))
            .build();

    EnvResolver.Resolved r = resolve(c);

    assertThat(r.env()).containsEntry("PASSWORD", "s3cr3t").containsEntry("USER", "admin");
    assertThat(r.secretKeys()).containsExactlyInAnyOrder("PASSWORD", "USER");
  }

  @Test
  void missingSecretAndMissingSecretKeyAreMissing() {
    secret("creds", Map.of("password", "x"), Map.of());
    Container noSecret = container().withEnv(fromSecretKey("X", "absent", "k", null)).build();
    Container noKey = container().withEnv(fromSecretKey("X", "creds", "k", false)).build();

    assertThatThrownBy(() -> resolve(noSecret))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("secret \"absent\" not found");
    assertThatThrownBy(() -> resolve(noKey))
        .isInstanceOf(PlanException.Missing.class)
        .hasMessageContaining("couldn't find key k in Secret ns/creds");
  }

  @Test
  void optionalSecretKeyRefThatIsMissingLeavesTheVariableUnset() throws Exception {
    secret("creds", Map.of("password", "x"), Map.of());
    Container c =
        container()
            .withEnv(
                fromSecretKey("NO_SECRET", "absent", "k", true),
                fromSecretKey("NO_KEY", "creds", "k", true))
            .build();

    EnvResolver.Resolved r = resolve(c);

    assertThat(r.env()).doesNotContainKeys("NO_SECRET", "NO_KEY");
    assertThat(r.secretKeys()).isEmpty();
  }

  @Test
  void envFromSecretRecordsEveryPrefixedKeyAsSecret() throws Exception {
    secret("creds", Map.of("USER", "u", "PASS", "p"), Map.of());
    Container c = container().withEnvFrom(fromSecret("creds", "DB_")).build();

    EnvResolver.Resolved r = resolve(c);

    assertThat(r.env()).containsOnly(entry("DB_USER", "u"), entry("DB_PASS", "p"));
    assertThat(r.secretKeys()).containsExactlyInAnyOrder("DB_USER", "DB_PASS");
  }

  @Test
  void aLaterPlainValueIsNoLongerSecret() throws Exception {
    secret("creds", Map.of("USER", "u", "PASS", "p"), Map.of());
    configMap("cm", Map.of("USER", "public"));
    Container c =
        container()
            .withEnvFrom(fromSecret("creds", null), fromConfigMap("cm", null))
            .withEnv(value("PASS", "overridden"))
            .build();

    EnvResolver.Resolved r = resolve(c);

    assertThat(r.env()).containsEntry("USER", "public").containsEntry("PASS", "overridden");
    assertThat(r.secretKeys()).isEmpty();
  }

  @Test
  void aValueExpandedFromASecretIsSecretToo() throws Exception {
    secret("creds", Map.of("PASS", "p4ss"), Map.of());
    Container c =
        container()
            .withEnvFrom(fromSecret("creds", null))
            .withEnv(value("URL", "postgres://u:$(PASS)@db"), value("HOST", "db"))
            .build();

    EnvResolver.Resolved r = resolve(c);

    assertThat(r.env()).containsEntry("URL", "postgres://u:p4ss@db");
    assertThat(r.secretKeys()).containsExactlyInAnyOrder("PASS", "URL");
  }

  @Test
  void missingEnvFromSourcesAreMissingUnlessOptional() throws Exception {
    Container cm = container().withEnvFrom(fromConfigMap("absent", null)).build();
    Container secret = container().withEnvFrom(fromSecret("absent", null)).build();
    Container optional =
        container()
            .withEnvFrom(
                new EnvFromSourceBuilder().withNewConfigMapRef("absent", true).build(),
                new EnvFromSourceBuilder().withNewSecretRef("absent", true).build())
            .build();

    assertThatThrownBy(() -> resolve(cm)).isInstanceOf(PlanException.Missing.class);
    assertThatThrownBy(() -> resolve(secret)).isInstanceOf(PlanException.Missing.class);
    assertThat(resolve(optional).env()).isEmpty();
  }

  // ---- fieldRef ----

  @ParameterizedTest(name = "[{index}] {0}")
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      value = {
        "metadata.name                      | web-0",
        "metadata.namespace                 | ns",
        "metadata.uid                       | 1111-2222",
        "metadata.labels['app']             | web",
        "metadata.labels['app.kubernetes.io/part-of'] | shop",
        "metadata.annotations['note']       | hello",
        "spec.nodeName                      | vnode-1",
        "spec.serviceAccountName            | runner",
        "status.hostIP                      | 10.1.2.3",
      })
  void fieldRefReadsThePod(String path, String expected) throws Exception {
    Container c = container().withEnv(field("V", path)).build();

    assertThat(resolve(pod(c), c).env()).containsEntry("V", expected);
  }

  @Test
  void fieldRefToAnAbsentLabelIsEmpty() throws Exception {
    Container c = container().withEnv(field("V", "metadata.labels['absent']")).build();

    assertThat(resolve(pod(c), c).env()).containsEntry("V", "");
  }

  @Test
  void podIpIsTheReportedOneElseTheNodeAddress() throws Exception {
    Container c = container().withEnv(field("IP", "status.podIP")).build();
    Pod unscheduled = pod(c);
    Pod running = new PodBuilder(pod(c)).withNewStatus().withPodIP("10.9.9.9").endStatus().build();

    assertThat(resolve(unscheduled, c).env()).containsEntry("IP", "10.1.2.3");
    assertThat(resolve(running, c).env()).containsEntry("IP", "10.9.9.9");
  }

  @Test
  void unsupportedFieldPathIsInvalid() {
    Container c = container().withEnv(field("V", "spec.schedulerName")).build();

    assertThatThrownBy(() -> resolve(pod(c), c))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("spec.schedulerName");
  }

  @Test
  void labelsFormatLikeTheDownwardApi() {
    assertThat(EnvResolver.formatMap(Map.of("b", "2", "a", "say \"hi\"\n")))
        .isEqualTo("a=\"say \\\"hi\\\"\\n\"\nb=\"2\"");
  }

  // ---- resourceFieldRef ----

  @ParameterizedTest(name = "[{index}] {0} / {1} -> {2}")
  @CsvSource(
      delimiter = '|',
      value = {
        // limits set on the container
        "limits.cpu      |     | 2",
        "limits.cpu      | 1m  | 1500",
        "limits.memory   |     | 1073741824",
        "limits.memory   | 1Mi | 1024",
        "limits.memory   | 1Gi | 1",
        // requests set on the container
        "requests.cpu    | 1m  | 250",
        "requests.cpu    |     | 1",
        "requests.memory | 1Mi | 512",
        "requests.memory | 1k  | 536871",
      })
  void resourceFieldRefDividesAndRoundsUp(String resource, String divisor, String expected)
      throws Exception {
    Container c =
        container()
            .withNewResources()
            .addToRequests("cpu", new Quantity("250m"))
            .addToRequests("memory", new Quantity("512Mi"))
            .addToLimits("cpu", new Quantity("1500m"))
            .addToLimits("memory", new Quantity("1Gi"))
            .endResources()
            .withEnv(resource("V", resource, divisor, null))
            .build();

    assertThat(resolve(pod(c), c).env()).containsEntry("V", expected);
  }

  @Test
  void limitsDefaultToNodeAllocatable() throws Exception {
    Container c =
        container()
            .withEnv(
                resource("CPU", "limits.cpu", null, null),
                resource("CPU_M", "limits.cpu", "1m", null),
                resource("MEM_MI", "limits.memory", "1Mi", null))
            .build();

    assertThat(resolve(pod(c), c).env())
        .containsEntry("CPU", "8")
        .containsEntry("CPU_M", "8000")
        .containsEntry("MEM_MI", String.valueOf(16 * 1024));
  }

  @Test
  void requestsFallBackToLimitsThenZero() throws Exception {
    Container c =
        container()
            .withNewResources()
            .addToLimits("cpu", new Quantity("2"))
            .endResources()
            .withEnv(
                resource("CPU", "requests.cpu", "1m", null),
                resource("MEM", "requests.memory", null, null))
            .build();

    assertThat(resolve(pod(c), c).env()).containsEntry("CPU", "2000").containsEntry("MEM", "0");
  }

  @Test
  void resourceFieldRefCanNameAnotherContainer() throws Exception {
    Container self = container().withEnv(resource("SIDE", "limits.memory", "1Mi", "side")).build();
    Container side =
        new ContainerBuilder()
            .withName("side")
            .withNewResources()
            .addToLimits("memory", new Quantity("64Mi"))
            .endResources()
            .build();
    Pod pod = new PodBuilder(pod(self)).editSpec().addToContainers(side).endSpec().build();

    assertThat(resolve(pod, self).env()).containsEntry("SIDE", "64");
  }

  @Test
  void resourceFieldRefToUnknownContainerOrResourceIsInvalid() {
    Container unknownContainer =
        container().withEnv(resource("V", "limits.cpu", null, "ghost")).build();
    Container unknownResource =
        container().withEnv(resource("V", "limits.gpu", null, null)).build();

    assertThatThrownBy(() -> resolve(pod(unknownContainer), unknownContainer))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("ghost");
    assertThatThrownBy(() -> resolve(pod(unknownResource), unknownResource))
        .isInstanceOf(PlanException.Invalid.class)
        .hasMessageContaining("limits.gpu");
  }

  // ---- helpers ----

  private EnvResolver.Resolved resolve(Container c) throws PlanException {
    return resolve(pod(c), c);
  }

  private EnvResolver.Resolved resolve(Pod pod, Container c) throws PlanException {
    return new EnvResolver(new Manifests(objects), serviceEnv, NODE).resolve(pod, c);
  }

  private static Pod pod(Container c) {
    return new PodBuilder()
        .withNewMetadata()
        .withName("web-0")
        .withNamespace("ns")
        .withUid("1111-2222")
        .addToLabels("app", "web")
        .addToLabels("app.kubernetes.io/part-of", "shop")
        .addToAnnotations("note", "hello")
        .endMetadata()
        .withNewSpec()
        .withNodeName("vnode-1")
        .withServiceAccountName("runner")
        .withContainers(c)
        .endSpec()
        .build();
  }

  private static ContainerBuilder container() {
    return new ContainerBuilder().withName("main").withImage("busybox");
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
    data.forEach(
        (k, v) ->
            encoded.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
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

  private static EnvVar value(String name, String value) {
    return new EnvVar(name, value, null);
  }

  private static EnvVar fromConfigMapKey(String name, String cm, String key, Boolean optional) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewConfigMapKeyRef(key, cm, optional)
        .endValueFrom()
        .build();
  }

  private static EnvVar fromSecretKey(String name, String secret, String key, Boolean optional) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewSecretKeyRef(key, secret, optional)
        .endValueFrom()
        .build();
  }

  private static EnvVar field(String name, String path) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewFieldRef()
        .withFieldPath(path)
        .endFieldRef()
        .endValueFrom()
        .build();
  }

  private static EnvVar resource(String name, String resource, String divisor, String container) {
    return new EnvVarBuilder()
        .withName(name)
        .withNewValueFrom()
        .withNewResourceFieldRef()
        .withResource(resource)
        .withDivisor(divisor == null ? null : new Quantity(divisor))
        .withContainerName(container)
        .endResourceFieldRef()
        .endValueFrom()
        .build();
  }

  private static EnvFromSource fromConfigMap(String name, String prefix) {
    return new EnvFromSourceBuilder().withNewConfigMapRef(name, null).withPrefix(prefix).build();
  }

  private static EnvFromSource fromSecret(String name, String prefix) {
    return new EnvFromSourceBuilder().withNewSecretRef(name, null).withPrefix(prefix).build();
  }
}
