package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Plans.container;
import static io.hpcbridge.backend.slurm.Plans.pod;
import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.SecurityPlan;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Each securityContext field is honoured by the runtime, or refused naming field and container. */
class SecurityContextTest {
  static final Account HPC = new Account(1000, 1000, List.of(1000L, 2000L), "hpc", "/home/hpc");
  static final Account ROOT = new Account(0, 0, List.of(0L), "root", "/root");

  static SecurityPlan plan(
      Long user,
      Long group,
      Boolean nonRoot,
      List<Long> groups,
      Long fsGroup,
      boolean privileged,
      Boolean escalation,
      List<String> add,
      List<String> drop,
      boolean readOnly,
      String seccomp) {
    return new SecurityPlan(
        user,
        group,
        nonRoot,
        groups,
        fsGroup,
        privileged,
        escalation,
        add,
        drop,
        readOnly,
        seccomp);
  }

  static final SecurityPlan NONE = SecurityPlan.NONE;

  static ContainerPlan main(SecurityPlan s) {
    return container("main", "busybox", List.of("echo", "hi"), List.of()).withSecurity(s);
  }

  static RenderedJob render(
      String runtime, SecurityPlan s, Account account, Map<String, Object> more)
      throws BackendException.InvalidPod {
    var settings = new java.util.LinkedHashMap<String, Object>(Map.of("workRoot", "/w"));
    settings.putAll(more);
    SlurmConfig config = SlurmConfig.parse(settings);
    return new SbatchRenderer(config, account)
        .prepare(pod("p").main(main(s)).annotate("runtime", runtime).build());
  }

  static String refusal(String runtime, SecurityPlan s, Account account, Map<String, Object> more) {
    try {
      render(runtime, s, account, more);
    } catch (BackendException.InvalidPod e) {
      assertThat(e.reason()).isEqualTo("UnsupportedSecurityContext");
      assertThat(e.getMessage()).startsWith("container main: securityContext.");
      return e.getMessage();
    }
    throw new AssertionError("honoured: " + s + " with " + runtime);
  }

  static String argv(RenderedJob job) {
    return job.files().stream()
        .filter(f -> f.path().equals("run/main.argv"))
        .map(f -> new String(f.content(), StandardCharsets.UTF_8).replace('\0', ' '))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void whatNoSlurmJobCanDoIsRefusedEverywhere() {
    for (String rt : List.of("apptainer", "podman", "pyxis", "none")) {
      assertThat(
              refusal(
                  rt,
                  plan(null, null, null, null, null, true, null, null, null, false, null),
                  HPC,
                  Map.of()))
          .contains("securityContext.privileged");
      assertThat(
              refusal(
                  rt,
                  plan(
                      null,
                      null,
                      null,
                      null,
                      null,
                      false,
                      null,
                      List.of("NET_ADMIN"),
                      null,
                      false,
                      null),
                  HPC,
                  Map.of()))
          .contains("securityContext.capabilities.add");
      assertThat(refusal(rt, NONE.withUser(0L, null), HPC, Map.of()))
          .contains("securityContext.runAsUser")
          .contains("uid 1000");
      assertThat(refusal(rt, NONE.withUser(null, 5L), HPC, Map.of()))
          .contains("securityContext.runAsGroup");
      assertThat(
              refusal(
                  rt,
                  plan(null, null, true, null, null, false, null, null, null, false, null),
                  ROOT,
                  Map.of()))
          .contains("securityContext.runAsNonRoot")
          .contains("is root");
      assertThat(
              refusal(
                  rt,
                  plan(
                      null, null, null, List.of(3000L), null, false, null, null, null, false, null),
                  HPC,
                  Map.of()))
          .contains("securityContext.supplementalGroups");
      assertThat(
              refusal(
                  rt,
                  plan(null, null, null, null, 2000L, false, null, null, null, false, null),
                  HPC,
                  Map.of()))
          .contains("securityContext.fsGroup");
    }
  }

  @Test
  void theAccountsOwnIdsAndGroupsAreHonoured() throws Exception {
    SecurityPlan own =
        plan(
            1000L,
            1000L,
            true,
            List.of(2000L),
            1000L,
            false,
            false,
            null,
            List.of("ALL"),
            false,
            "RuntimeDefault");
    for (String rt : List.of("apptainer", "singularity", "pyxis", "none")) {
      render(rt, own, HPC, Map.of());
    }
    assertThat(argv(render("podman", own, HPC, Map.of())))
        .contains("--userns=keep-id", "--cap-drop=ALL", "--security-opt=no-new-privileges");
  }

  @Test
  void readOnlyRootFilesystem() throws Exception {
    SecurityPlan ro = plan(null, null, null, null, null, false, null, null, null, true, null);
    assertThat(argv(render("podman", ro, HPC, Map.of()))).contains(" --read-only ");
    assertThat(argv(render("pyxis", ro, HPC, Map.of()))).contains(" --container-readonly ");
    assertThat(argv(render("apptainer", ro, HPC, Map.of()))).doesNotContain("--writable");
    assertThat(refusal("none", ro, HPC, Map.of())).contains("readOnlyRootFilesystem");
    assertThat(
            refusal(
                "apptainer",
                ro,
                HPC,
                Map.of("runtimeOptions", Map.of("apptainer", List.of("--writable-tmpfs")))))
        .contains("--writable-tmpfs");
  }

  @Test
  void noNewPrivsIsSetByEveryRuntimeUnlessEscalationIsAllowed() throws Exception {
    assertThat(argv(render("podman", NONE, HPC, Map.of())))
        .contains("--security-opt=no-new-privileges");
    assertThat(render("none", NONE, HPC, Map.of()).script()).contains("HPCB_NNP=(1)");
    SecurityPlan escalate =
        plan(null, null, null, null, null, false, true, null, null, false, "Unconfined");
    assertThat(argv(render("podman", escalate, HPC, Map.of())))
        .doesNotContain("no-new-privileges")
        .contains("--security-opt=seccomp=unconfined");
    assertThat(render("none", escalate, HPC, Map.of()).script()).contains("HPCB_NNP=(0)");
  }

  @Test
  void runtimeOptionsThatRunAsRootConflictWithRunAsNonRoot() {
    SecurityPlan nonRoot = plan(null, null, true, null, null, false, null, null, null, false, null);
    assertThat(
            refusal(
                "apptainer",
                nonRoot,
                HPC,
                Map.of("runtimeOptions", Map.of("apptainer", List.of("--fakeroot")))))
        .contains("runAsNonRoot")
        .contains("--fakeroot");
    assertThat(
            refusal(
                "pyxis",
                nonRoot,
                HPC,
                Map.of("runtimeOptions", Map.of("pyxis", List.of("--container-remap-root")))))
        .contains("--container-remap-root");
  }

  @Test
  void apptainerAndPyxisAreConfinedByDefaultAndTheOperatorMayChangeIt() throws Exception {
    assertThat(argv(render("apptainer", NONE, HPC, Map.of())))
        .startsWith("apptainer exec --containall --no-home --env-file ");
    assertThat(argv(render("pyxis", NONE, HPC, Map.of()))).contains(" --no-container-mount-home ");
    assertThat(
            argv(
                render(
                    "apptainer",
                    NONE,
                    HPC,
                    Map.of("isolation", Map.of("apptainer", List.of("--contain"))))))
        .startsWith("apptainer exec --contain --env-file ");
  }
}
