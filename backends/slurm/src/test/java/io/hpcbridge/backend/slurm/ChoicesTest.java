package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** choices(): what the pod chose itself, for the bridge's policy; never the operator's defaults. */
class ChoicesTest {
  static final ContainerPlan HELLO = container("main", "busybox", List.of("echo", "hi"), List.of());

  /** Settings with a default partition, runtime, and flavors that set everything a pod could. */
  static SlurmConfig config(String defaultFlavor) {
    return SlurmConfig.parse(
        Map.of(
            "partition",
            "batch",
            "runtime",
            "podman",
            "flavors",
            Map.of(
                "big",
                Map.of(
                    "flags",
                    List.of("--partition=huge", "--qos=long", "--nodes=8", "--time=7-0"),
                    "runtime",
                    "none")),
            "defaultFlavor",
            defaultFlavor));
  }

  static Map<String, String> choices(Plans.Builder b) throws BackendException {
    return new SlurmBackend(config("big"), null).choices(b.main(HELLO).build());
  }

  @Test
  void aPodWithoutAnnotationsChoseNothing() throws Exception {
    assertThat(choices(pod("p"))).isEmpty();
  }

  @Test
  void annotationsAreTheChoices() throws Exception {
    assertThat(
            choices(
                pod("p")
                    .annotate("runtime", "enroot")
                    .annotate("partition", "gpu")
                    .annotate("account", "proj-1")
                    .annotate("qos", "high")
                    .annotate("nodes", "2-16")
                    .annotate("exclusive", "user")
                    .annotate("time", "1-02:03:04")
                    .annotate("flavor", "big")
                    .annotate("constraint", "intel")))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(
                Backend.CHOICE_RUNTIME, "pyxis",
                Backend.CHOICE_PARTITION, "gpu",
                Backend.CHOICE_ACCOUNT, "proj-1",
                Backend.CHOICE_QOS, "high",
                Backend.CHOICE_NODES, "16",
                Backend.CHOICE_EXCLUSIVE, "true",
                Backend.CHOICE_TIME, String.valueOf(86400 + 2 * 3600 + 3 * 60 + 4),
                Backend.CHOICE_PRESET, "big"));
  }

  @Test
  void aNamedFlavorIsAChoiceAndSoIsItsRuntimeButNotItsFlags() throws Exception {
    // The flavor sets a partition, qos, nodes and time (the operator's), and runtime none: the pod
    // chose that runtime by naming the flavor, so the policy's runtimes see it.
    assertThat(choices(pod("p").annotate("flavor", "big")))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of(Backend.CHOICE_PRESET, "big", Backend.CHOICE_RUNTIME, "none"));
    // The pod's own runtime wins over its flavor's, as at submit.
    assertThat(choices(pod("p").annotate("flavor", "big").annotate("runtime", "podman")))
        .containsEntry(Backend.CHOICE_RUNTIME, "podman");
  }

  @Test
  void timeComesFromTheAnnotationElseTheDeadline() throws Exception {
    assertThat(choices(pod("p").deadline(90))).containsExactly(Map.entry("time", "90"));
    assertThat(choices(pod("p").deadline(90).annotate("time", "30")))
        .containsExactly(Map.entry("time", "1800"));
    assertThat(choices(pod("p").annotate("time", "10:30"))).containsEntry("time", "630");
    assertThat(choices(pod("p").annotate("time", "2:00:00"))).containsEntry("time", "7200");
    assertThat(choices(pod("p").annotate("time", "3-12"))).containsEntry("time", "302400");
    assertThat(choices(pod("p").annotate("time", "1-00:30"))).containsEntry("time", "88200");
    assertThat(choices(pod("p").annotate("time", "UNLIMITED")))
        .containsEntry("time", String.valueOf(Long.MAX_VALUE));
  }

  @Test
  void nodesIsTheLargestCountAndExclusiveABoolean() throws Exception {
    assertThat(choices(pod("p").annotate("nodes", "4"))).containsEntry("nodes", "4");
    assertThat(choices(pod("p").annotate("exclusive", "false")))
        .containsEntry("exclusive", "false");
    assertThat(choices(pod("p").annotate("exclusive", "true"))).containsEntry("exclusive", "true");
  }

  @Test
  void malformedOptionsAreRefusedWithTheSubmitsReasons() {
    assertThatThrownBy(() -> choices(pod("p").annotate("flavor", "tiny")))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("UnknownFlavor"));
    assertThatThrownBy(() -> choices(pod("p").annotate("partition", "a;b")))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("InvalidAnnotation"));
    // 153722871003743520 minutes overflowed to a negative number of seconds.
    assertThatThrownBy(() -> choices(pod("p").annotate("time", "153722871003743520")))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("InvalidAnnotation"));
    assertThatThrownBy(() -> choices(pod("p").annotate("runtime", "docker")))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("UnknownRuntime"));
  }
}
