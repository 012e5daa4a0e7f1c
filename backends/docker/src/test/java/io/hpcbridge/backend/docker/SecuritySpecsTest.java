package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How a container's securityContext becomes Docker's create request. */
class SecuritySpecsTest {

  static SecurityPlan plan(
      Long uid,
      Long gid,
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
        uid, gid, nonRoot, groups, fsGroup, privileged, escalation, add, drop, readOnly, seccomp);
  }

  static ContainerPlan with(SecurityPlan s) {
    return Plans.sh("app", "true").withSecurity(s);
  }

  static HostConfig hostConfig(SecurityPlan s) {
    ContainerPlan c = with(s);
    PodPlan p = Plans.pod("p", List.of(), List.of(c));
    return ContainerSpecs.container(
            p, "n", ContainerSpecsTest.SETTINGS, c, -1, "sb", null, java.util.Map.of())
        .hostConfig();
  }

  @Test
  void everyFieldReachesTheCreateRequest() {
    SecurityPlan s =
        plan(
            65534L,
            65533L,
            true,
            List.of(10L, 11L),
            2000L,
            false,
            false,
            List.of("NET_BIND_SERVICE", "CAP_SYS_TIME"),
            List.of("ALL"),
            true,
            "Unconfined");
    ContainerPlan c = with(s);
    var spec =
        ContainerSpecs.container(
            Plans.pod("p", List.of(), List.of(c)),
            "n",
            ContainerSpecsTest.SETTINGS,
            c,
            -1,
            "sb",
            null,
            java.util.Map.of());
    assertThat(spec.user()).isEqualTo("65534:65533");
    HostConfig hc = spec.hostConfig();
    assertThat(hc.getGroupAdd()).containsExactly("10", "11", "2000");
    assertThat(hc.getCapAdd()).containsExactly(Capability.NET_BIND_SERVICE, Capability.SYS_TIME);
    assertThat(hc.getCapDrop()).containsExactly(Capability.ALL);
    assertThat(hc.getReadonlyRootfs()).isTrue();
    assertThat(hc.getPrivileged()).isNotEqualTo(Boolean.TRUE);
    assertThat(hc.getSecurityOpts()).containsExactly("no-new-privileges", "seccomp=unconfined");
  }

  @Test
  void safeDefaultsWithoutASecurityContext() {
    HostConfig hc = hostConfig(SecurityPlan.NONE);
    assertThat(hc.getSecurityOpts()).containsExactly("no-new-privileges");
    assertThat(hc.getPrivileged()).isNotEqualTo(Boolean.TRUE);
    assertThat(hc.getCapAdd()).isNull();
    assertThat(hc.getGroupAdd()).isNull();
    assertThat(SecuritySpecs.user(SecurityPlan.NONE, "1000")).isNull();
  }

  @Test
  void privilegedAndEscalationAreHonouredWhenAsked() {
    HostConfig hc =
        hostConfig(
            plan(null, null, null, null, null, true, null, null, null, false, "RuntimeDefault"));
    assertThat(hc.getPrivileged()).isTrue();
    assertThat(hc.getSecurityOpts()).isNull();
    HostConfig esc =
        hostConfig(plan(null, null, null, null, null, false, true, null, null, false, null));
    assertThat(esc.getSecurityOpts()).isNull();
  }

  @Test
  void aGroupAloneKeepsTheImagesUser() {
    SecurityPlan g = plan(null, 700L, null, null, null, false, null, null, null, false, null);
    assertThat(SecuritySpecs.user(g, "nobody")).isEqualTo("nobody:700");
    assertThat(SecuritySpecs.user(g, "1000:1000")).isEqualTo("1000:700");
    assertThat(SecuritySpecs.user(g, "")).isEqualTo("0:700");
    assertThat(
            SecuritySpecs.user(
                plan(5L, null, null, null, null, false, null, null, null, false, null), "x"))
        .isEqualTo("5");
  }

  @Test
  void runAsNonRootSpeaksLikeTheKubelet() {
    PodPlan p = Plans.pod("web", List.of(), List.of(Plans.sh("app", "true")));
    SecurityPlan nonRoot = plan(null, null, true, null, null, false, null, null, null, false, null);
    ContainerPlan c = with(nonRoot);
    String where = "(pod: \"web_default(" + p.pod().uid() + ")\", container: app)";
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), c, ""))
        .isEqualTo("container has runAsNonRoot and image will run as root " + where);
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), c, "root:root"))
        .startsWith("container has runAsNonRoot and image will run as root");
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), c, "0")).isNotNull();
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), c, "nobody"))
        .isEqualTo(
            "container has runAsNonRoot and image has non-numeric user (nobody), cannot verify"
                + " user is non-root "
                + where);
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), c, "1000:1000")).isNull();
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), with(nonRoot.withUser(0L, null)), "1000"))
        .startsWith("container's runAsUser breaks non-root policy");
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), with(nonRoot.withUser(7L, null)), ""))
        .isNull();
    assertThat(SecuritySpecs.nonRootViolation(p.pod(), with(SecurityPlan.NONE), "")).isNull();
  }

  @Test
  void whatDockerCannotEnforceIsRefusedNamingFieldAndContainer() {
    assertRefused(
        plan(null, null, null, null, null, false, null, null, null, false, "Localhost"),
        "container app: securityContext.seccompProfile: type \"Localhost\" is not supported");
    assertRefused(
        plan(null, null, null, null, null, false, null, List.of("MAKE_ME_ROOT"), null, false, null),
        "container app: securityContext.capabilities.add: unknown capability \"MAKE_ME_ROOT\"");
    assertRefused(
        plan(null, null, null, null, null, false, null, null, List.of("NET_RAW; rm"), false, null),
        "container app: securityContext.capabilities.drop: unknown capability");
    assertRefused(
        plan(-1L, null, null, null, null, false, null, null, null, false, null),
        "container app: securityContext.runAsUser: -1 is not between 0 and");
    assertRefused(
        plan(null, null, null, List.of(1L << 40), null, false, null, null, null, false, null),
        "container app: securityContext.supplementalGroups:");
  }

  @Test
  void fsGroupIsThePods() {
    SecurityPlan a = plan(null, null, null, null, 100L, false, null, null, null, false, null);
    SecurityPlan b = plan(null, null, null, null, 200L, false, null, null, null, false, null);
    PodPlan p =
        Plans.pod(
            "p",
            List.of(),
            List.of(
                Plans.sh("one", "true").withSecurity(a), Plans.sh("two", "true").withSecurity(b)));
    assertThatThrownBy(() -> ContainerSpecs.validate(p))
        .isInstanceOf(BackendException.InvalidPod.class)
        .hasMessageStartingWith("container two: securityContext.fsGroup: 200 differs");
  }

  static void assertRefused(SecurityPlan s, String message) {
    PodPlan p = Plans.pod("p", List.of(), List.of(with(s)));
    assertThatThrownBy(() -> ContainerSpecs.validate(p))
        .isInstanceOf(BackendException.InvalidPod.class)
        .hasMessageStartingWith(message)
        .extracting(e -> ((BackendException.InvalidPod) e).reason())
        .isEqualTo("UnsupportedSecurityContext");
  }

  @Test
  void theSandboxHasNoCapabilities() {
    var sb =
        ContainerSpecs.sandbox(
            Plans.pod("p", List.of(), List.of(Plans.sh("a", "true"))),
            "n",
            ContainerSpecsTest.SETTINGS);
    assertThat(sb.hostConfig().getCapDrop()).containsExactly(Capability.ALL);
    assertThat(sb.hostConfig().getSecurityOpts()).containsExactly("no-new-privileges");
  }
}
