package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Forbidden or malformed input fails the pod with a clear reason and never yields a script. */
class InvalidPodTest {
  static final ContainerPlan HELLO = container("main", "busybox", List.of("echo", "hi"), List.of());

  static BackendException.InvalidPod reject(PodPlan plan) {
    try {
      new SbatchRenderer(SbatchRendererGoldenTest.config(), "/home/u").render(plan);
    } catch (BackendException.InvalidPod e) {
      return e;
    }
    throw new AssertionError("rendered a script for an invalid pod");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "flags|--job-name=x|ForbiddenSlurmFlag|is set by the bridge",
        "flags|--output=/etc/passwd|ForbiddenSlurmFlag|is set by the bridge",
        "flags|--comment=x|ForbiddenSlurmFlag|is set by the bridge",
        "flags|--cpus-per-task=64|ForbiddenSlurmFlag|is set by the bridge",
        "flags|--uid=0|ForbiddenSlurmFlag|is set by the bridge",
        "flags|--partition=x|ForbiddenSlurmFlag|use the annotation slurm.hpc-bridge.io/partition",
        "flags|--x11|ForbiddenSlurmFlag|is not allowed",
        "flags|-p debug|InvalidSlurmFlag|is not --name or --name=value",
        "flags|--mail-user=$(id)|InvalidSlurmFlag|is not --name or --name=value",
        "flags|--mail-user='a b'|InvalidSlurmFlag|is not --name or --name=value",
        "partition|debug;rm|InvalidAnnotation|slurm.hpc-bridge.io/partition: expected",
        "partition|a b|InvalidAnnotation|slurm.hpc-bridge.io/partition: expected",
        "time|soon|InvalidAnnotation|slurm.hpc-bridge.io/time: expected",
        "time|153722871003743520|InvalidAnnotation|slurm.hpc-bridge.io/time: too long",
        "time|99999999999999999999|InvalidAnnotation|slurm.hpc-bridge.io/time: too long",
        "time|106751991167301-00|InvalidAnnotation|slurm.hpc-bridge.io/time: too long",
        "nodes|0|InvalidAnnotation|slurm.hpc-bridge.io/nodes: expected",
        "ntasks|-1|InvalidAnnotation|slurm.hpc-bridge.io/ntasks: expected",
        "exclusive|maybe|InvalidAnnotation|slurm.hpc-bridge.io/exclusive: expected",
        "flavor|huge|UnknownFlavor|no flavor named 'huge'",
        "runtime|docker|UnknownRuntime|unknown runtime 'docker'",
        "partitions|debug|UnknownAnnotation|unknown annotation slurm.hpc-bridge.io/partitions",
      })
  void badAnnotations(String key, String value, String reason, String message) {
    BackendException.InvalidPod e = reject(pod("p").main(HELLO).annotate(key, value).build());
    assertThat(e.reason()).isEqualTo(reason);
    assertThat(e.getMessage()).contains(message);
  }

  @Test
  void aNewlineCannotSmuggleADirective() {
    BackendException.InvalidPod e =
        reject(pod("p").main(HELLO).annotate("partition", "debug\n#SBATCH --uid=0").build());
    assertThat(e.reason()).isEqualTo("InvalidAnnotation");
    assertThat(e.getMessage()).contains("\\x0a");
    assertThat(
            reject(pod("p").main(HELLO).annotate("flags", "--begin=now\n#SBATCH --uid=0").build())
                .reason())
        .isIn("InvalidSlurmFlag", "ForbiddenSlurmFlag");
  }

  @Test
  void badNamesEnvAndMounts() {
    assertThat(
            reject(pod("p").main(container("Bad_Name", "busybox", List.of("x"), List.of())).build())
                .reason())
        .isEqualTo("InvalidName");
    assertThat(
            reject(pod("p").main(Plans.with(HELLO, Map.of("A-B", "1"), null, null, null)).build())
                .reason())
        .isEqualTo("UnsupportedEnvName");
    assertThat(
            reject(pod("p").main(Plans.with(HELLO, Map.of("A", "x\0y"), null, null, null)).build())
                .reason())
        .isEqualTo("InvalidEnv");
    assertThat(
            reject(pod("p").main(container("main", "--bind=/:/x", List.of("x"), List.of())).build())
                .reason())
        .isEqualTo("InvalidImage");
    assertThat(
            reject(
                    pod("p")
                        .main(container("main", "busybox", List.of(), List.of()))
                        .annotate("runtime", "none")
                        .build())
                .reason())
        .isEqualTo("MissingCommand");
    PodPlan mountsWithNone =
        pod("p")
            .volume(
                new io.hpcbridge.backend.VolumePlan(
                    "v", io.hpcbridge.backend.VolumePlan.Type.EMPTY_DIR, List.of(), null, false))
            .main(
                Plans.with(
                    HELLO,
                    null,
                    null,
                    null,
                    List.of(new ContainerPlan.Mount("v", "/data", null, false))))
            .annotate("runtime", "none")
            .build();
    assertThat(reject(mountsWithNone).reason()).isEqualTo("UnsupportedVolume");
    PodPlan colon =
        pod("p")
            .volume(
                new io.hpcbridge.backend.VolumePlan(
                    "v", io.hpcbridge.backend.VolumePlan.Type.EMPTY_DIR, List.of(), null, false))
            .main(
                Plans.with(
                    HELLO,
                    null,
                    null,
                    null,
                    List.of(new ContainerPlan.Mount("v", "/data:/etc", null, false))))
            .build();
    assertThat(reject(colon).reason()).isEqualTo("InvalidMountPath");
  }

  /** A pod mounting volume {@code v} at /w, with {@code subPath}, in runtime {@code runtime}. */
  static PodPlan mounting(VolumePlan v, String subPath, boolean readOnly, String runtime) {
    return pod("p")
        .volume(v)
        .main(
            Plans.with(
                HELLO,
                null,
                null,
                null,
                List.of(new ContainerPlan.Mount(v.name(), "/w", subPath, readOnly))))
        .annotate("runtime", runtime)
        .build();
  }

  @ParameterizedTest
  @CsvSource({"apptainer,false", "podman,false", "pyxis,false", "apptainer,true"})
  void subPathIsRefusedWhereAPodCouldPlantASymlink(String runtime, boolean readOnly) {
    // An init container runs `ln -s ../../.. /e/x`: vol/e/x would be the work root (or $HOME).
    VolumePlan empty = new VolumePlan("e", VolumePlan.Type.EMPTY_DIR, List.of(), null, false);
    BackendException.InvalidPod e = reject(mounting(empty, "x", readOnly, runtime));
    assertThat(e.reason()).isEqualTo("UnsupportedSubPath");
    assertThat(e.getMessage())
        .contains("container main: subPath x of emptyDir volume e is not supported");
    // Another pod (or a container of this one) writes the hostPath and plants the link there.
    VolumePlan host =
        new VolumePlan("h", VolumePlan.Type.HOST_PATH, List.of(), "/scratch/t", false);
    e = reject(mounting(host, "x", readOnly, runtime));
    assertThat(e.reason()).isEqualTo("UnsupportedSubPath");
    assertThat(e.getMessage())
        .contains("container main: subPath x of hostPath volume h is not supported")
        .contains("put the directory in the hostPath itself");
  }

  @Test
  void aHostPathMustNotStepBack() {
    VolumePlan up =
        new VolumePlan("h", VolumePlan.Type.HOST_PATH, List.of(), "/scratch/t/../../home", false);
    BackendException.InvalidPod e = reject(mounting(up, null, true, "apptainer"));
    assertThat(e.reason()).isEqualTo("InvalidMountPath");
    assertThat(e.getMessage()).contains("volume h: hostPath must be absolute, without '..'");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "apptainer|HPCB_DIR|UnsupportedEnvName|the bridge's own",
        "none|RANDOM|UnsupportedEnvName|through bash",
        "none|SHELLOPTS|UnsupportedEnvName|through bash",
        "pyxis|LD_PRELOAD|UnsupportedEnvName|srun's own environment",
        "pyxis|SLURM_JOB_ID|UnsupportedEnvName|srun's own environment",
        "pyxis|PATH|UnsupportedEnvName|srun's own environment",
        "pyxis|BASH_ENV|UnsupportedEnvName|srun's own environment",
        "pyxis|GCONV_PATH|UnsupportedEnvName|srun's own environment",
        "pyxis|LOCPATH|UnsupportedEnvName|srun's own environment",
        "pyxis|NLSPATH|UnsupportedEnvName|srun's own environment",
        "pyxis|HOSTALIASES|UnsupportedEnvName|srun's own environment",
        "pyxis|RES_OPTIONS|UnsupportedEnvName|srun's own environment",
        "pyxis|LOCALDOMAIN|UnsupportedEnvName|srun's own environment",
      })
  void envNamesARuntimeCannotPassOnlyToTheContainer(
      String runtime, String name, String reason, String message) {
    BackendException.InvalidPod e =
        reject(
            pod("p")
                .main(Plans.with(HELLO, Map.of(name, "x"), null, null, null))
                .annotate("runtime", runtime)
                .build());
    assertThat(e.reason()).isEqualTo(reason);
    assertThat(e.getMessage()).contains("env " + name).contains(message);
  }

  @Test
  void podmanCannotCarryANewlineInAnEnvValueNorHideSecretArgsWithoutACommand() {
    assertThat(
            reject(
                    pod("p")
                        .main(Plans.with(HELLO, Map.of("PEM", "a\nb"), null, null, null))
                        .annotate("runtime", "podman")
                        .build())
                .reason())
        .isEqualTo("InvalidEnv");
    assertThat(
            reject(
                    pod("p")
                        .main(TrampolineTest.withSecretArg("main", List.of()))
                        .annotate("runtime", "podman")
                        .build())
                .reason())
        .isEqualTo("UnsupportedSecretArgs");
  }
}
