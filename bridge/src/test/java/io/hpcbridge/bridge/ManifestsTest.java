package io.hpcbridge.bridge;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestsTest {

  @TempDir Path dir;

  private static final String JOB_WITH_CONFIG =
      """
      apiVersion: v1
      kind: ConfigMap
      metadata:
        name: settings
      data:
        LEVEL: debug
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: creds
        namespace: team-a
      stringData:
        password: s3cr3t
      ---
      # an empty document is skipped
      ---
      apiVersion: batch/v1
      kind: Job
      metadata:
        name: hello
        namespace: team-a
      spec:
        completions: 2
        template:
          spec:
            restartPolicy: Never
            containers:
            - name: main
              image: busybox
              command: [echo, hi]
      """;

  @Test
  void readsEveryDocumentInOrder() throws IOException {
    Manifests m = Manifests.read(file(JOB_WITH_CONFIG));

    assertThat(m.objects()).hasExactlyElementsOfTypes(ConfigMap.class, Secret.class, Job.class);
    Job job = (Job) m.workload();
    assertThat(job.getMetadata().getName()).isEqualTo("hello");
    assertThat(job.getSpec().getCompletions()).isEqualTo(2);
    assertThat(job.getSpec().getTemplate().getSpec().getContainers().get(0).getCommand())
        .containsExactly("echo", "hi");
  }

  @Test
  void findsConfigMapsAndSecretsByNamespaceAndName() throws IOException {
    Manifests m = Manifests.read(file(JOB_WITH_CONFIG));

    // Without a namespace the object serves any namespace, like kubectl apply -n.
    assertThat(m.configMap("team-a", "settings"))
        .map(c -> c.getData().get("LEVEL"))
        .contains("debug");
    assertThat(m.configMap("other", "settings")).isPresent();
    assertThat(m.secret("team-a", "creds"))
        .map(s -> s.getStringData().get("password"))
        .contains("s3cr3t");
    assertThat(m.secret("other", "creds")).isEmpty();
    assertThat(m.secret("team-a", "settings")).isEmpty();
    assertThat(m.configMap("team-a", "absent")).isEmpty();
  }

  @Test
  void aSinglePodIsTheWorkload() throws IOException {
    Manifests m =
        Manifests.read(
            file(
                """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  containers: [{name: c, image: busybox}]
                """));

    assertThat(m.workload()).isInstanceOf(Pod.class);
  }

  @Test
  void theWorkloadMustBeExactlyOnePodOrJob() throws IOException {
    Manifests none = Manifests.read(file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"));
    Manifests two =
        Manifests.read(
            file(
                """
                apiVersion: v1
                kind: Pod
                metadata: {name: a}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: b}
                """));

    assertThatThrownBy(none::workload)
        .isInstanceOf(IOException.class)
        .hasMessageContaining("found 0");
    assertThatThrownBy(two::workload)
        .isInstanceOf(IOException.class)
        .hasMessageContaining("found 2");
  }

  @Test
  void aDocumentThatIsNotAnObjectIsAnErrorNamingIt() throws IOException {
    Path scalar = file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\njust text\n");
    Path list = file("- a\n- b\n");
    Path noKind = file("apiVersion: v1\nmetadata: {name: c}\n");

    assertThatThrownBy(() -> Manifests.read(scalar))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(scalar.toString())
        .hasMessageContaining("document 2");
    assertThatThrownBy(() -> Manifests.read(list))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("document 1");
    assertThatThrownBy(() -> Manifests.read(noKind))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("no kind");
  }

  @Test
  void brokenYamlIsAnIoError() throws IOException {
    Path broken =
        file(
            "apiVersion: v1\n"
                + "kind: ConfigMap\n"
                + "metadata: {name: c}\n"
                + "---\n"
                + "apiVersion: v1\n"
                + "kind: [Pod\n");

    assertThatThrownBy(() -> Manifests.read(broken))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(broken + ": not valid YAML: ")
        .hasMessageContaining("line 6")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  @Test
  void aDocumentThatDoesNotFitItsKindIsAnErrorNamingIt() throws IOException {
    Path bad =
        file("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {name: c}\n");

    assertThatThrownBy(() -> Manifests.read(bad))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(bad + ": document 1 (Pod) is not a valid Pod: ")
        .hasMessageContaining("spec.containers")
        .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
  }

  private Path file(String yaml) throws IOException {
    Path f = Files.createTempFile(dir, "manifest", ".yaml");
    Files.writeString(f, yaml);
    return f;
  }
}
