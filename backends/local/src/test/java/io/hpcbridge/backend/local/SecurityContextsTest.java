package io.hpcbridge.backend.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.backend.local.SecurityContexts.Host;
import io.hpcbridge.backend.local.common.Records.Owner;
import io.hpcbridge.backend.local.common.RunAs;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The securityContext rules: who a container runs as, and what is refused, naming the field. */
class SecurityContextsTest {

  static final Host ROOT = new Host(0, 0, Set.of(0L));
  static final Host USER = new Host(1000, 1000, Set.of(1000L, 27L));

  static SecurityContexts rules(Host host) {
    return new SecurityContexts(host, 65534, 65534);
  }

  static SecurityPlan sec(
      Long uid, Long gid, Boolean nonRoot, List<Long> groups, Long fsGroup, Boolean escalate) {
    return new SecurityPlan(
        uid, gid, nonRoot, groups, fsGroup, false, escalate, List.of(), List.of(), false, null);
  }

  static ContainerPlan container(SecurityPlan s, boolean mounts) {
    ContainerPlan c = TestPods.sh("app", "true").withSecurity(s);
    if (!mounts) {
      return c;
    }
    return new ContainerPlan(
        c.name(),
        c.image(),
        null,
        c.command(),
        c.args(),
        null,
        c.env(),
        null,
        null,
        List.of(new ContainerPlan.Mount("v", "/v", null, false)),
        null,
        s);
  }

  static RunAs resolve(Host host, SecurityPlan s) throws BackendException {
    return rules(host).resolve(container(s, false));
  }

  static BackendException.InvalidPod refused(Host host, ContainerPlan c) {
    try {
      rules(host).resolve(c);
    } catch (BackendException.InvalidPod e) {
      return e;
    }
    throw new AssertionError("not refused: " + c.security());
  }

  @Test
  void withoutASecurityContextAContainerRunsAsNobodyWithoutPrivileges() throws Exception {
    RunAs r = resolve(ROOT, SecurityPlan.NONE);
    assertThat(r).isEqualTo(new RunAs(65534, 65534, List.of(), true, true, List.of(), false));
    assertThat(r.setpriv("/usr/bin/setpriv"))
        .containsExactly(
            "/usr/bin/setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--no-new-privs",
            "--");
  }

  @Test
  void usersAndGroupsOfTheSecurityContextAreHonoured() throws Exception {
    RunAs r = resolve(ROOT, sec(1000L, 2000L, true, List.of(3L, 4L), 5L, null));
    assertThat(r.uid()).isEqualTo(1000);
    assertThat(r.gid()).isEqualTo(2000);
    assertThat(r.groups()).containsExactly(3L, 4L, 5L);
    assertThat(r.setpriv("setpriv")).contains("--groups=3,4,5").doesNotContain("--clear-groups");
  }

  @Test
  void rootOnlyWhenAskedAndThenWithTheRuntimeDefaultCapabilitiesMinusDropped() throws Exception {
    RunAs r = resolve(ROOT, sec(0L, null, null, null, null, null));
    assertThat(r.uid()).isZero();
    assertThat(r.gid()).isEqualTo(65534);
    assertThat(r.capabilities()).containsExactlyElementsOf(SecurityContexts.ROOT_CAPABILITIES);
    assertThat(r.setpriv("setpriv"))
        .contains(
            "--bounding-set=-all,+chown,+dac_override,+fowner,+fsetid,+kill,+setgid,+setuid,"
                + "+setpcap,+net_bind_service,+net_raw,+sys_chroot,+mknod,+audit_write,+setfcap");
    SecurityPlan drop =
        new SecurityPlan(
            0L,
            0L,
            null,
            null,
            null,
            false,
            null,
            List.of(),
            List.of("NET_RAW", "CAP_CHOWN"),
            false,
            "RuntimeDefault");
    assertThat(resolve(ROOT, drop).capabilities())
        .doesNotContain("net_raw", "chown")
        .contains("kill");
    SecurityPlan all =
        new SecurityPlan(
            0L, 0L, null, null, null, false, null, List.of(), List.of("ALL"), false, "Unconfined");
    assertThat(resolve(ROOT, all).setpriv("setpriv")).contains("--bounding-set=-all");
  }

  @Test
  void runAsNonRootRefusesUidZeroLikeTheKubelet() throws Exception {
    var e = refused(ROOT, container(sec(0L, null, true, null, null, null), false));
    assertThat(e.reason()).isEqualTo("CreateContainerConfigError");
    assertThat(e.getMessage())
        .contains("container 'app'", "runAsNonRoot and image will run as root");
    assertThat(resolve(ROOT, sec(null, null, true, null, null, null)).uid()).isEqualTo(65534);
  }

  @Test
  void whatCannotBeEnforcedIsRefusedNamingTheField() {
    Map<String, SecurityPlan> cases =
        Map.of(
            "securityContext.privileged",
            new SecurityPlan(
                null, null, null, null, null, true, null, List.of(), List.of(), false, null),
            "securityContext.capabilities.add [NET_ADMIN]",
            new SecurityPlan(
                null,
                null,
                null,
                null,
                null,
                false,
                null,
                List.of("NET_ADMIN"),
                List.of(),
                false,
                null),
            "securityContext.readOnlyRootFilesystem",
            new SecurityPlan(
                null, null, null, null, null, false, null, List.of(), List.of(), true, null),
            "securityContext.seccompProfile Localhost",
            new SecurityPlan(
                null,
                null,
                null,
                null,
                null,
                false,
                null,
                List.of(),
                List.of(),
                false,
                "Localhost"),
            "securityContext.capabilities.drop NET_FLY",
            new SecurityPlan(
                null,
                null,
                null,
                null,
                null,
                false,
                null,
                List.of(),
                List.of("NET_FLY"),
                false,
                null));
    cases.forEach(
        (field, s) -> {
          var e = refused(ROOT, container(s, false));
          assertThat(e.reason()).as(field).isEqualTo("UnsupportedSecurityContext");
          assertThat(e.getMessage()).as(field).contains("container 'app'", field);
        });
  }

  @Test
  void privilegeEscalationOnlyWhenAskedAndNeverWithMountsForANonRootUser() throws Exception {
    SecurityPlan escalate = sec(1000L, null, null, null, null, true);
    assertThat(resolve(ROOT, escalate).noNewPrivileges()).isFalse();
    assertThat(resolve(ROOT, escalate).setpriv("setpriv")).doesNotContain("--no-new-privs");
    var e = refused(ROOT, container(escalate, true));
    assertThat(e.getMessage()).contains("allowPrivilegeEscalation");
    assertThat(rules(ROOT).resolve(container(sec(0L, null, null, null, null, true), true)).uid())
        .isZero();
    assertThat(resolve(ROOT, sec(1000L, null, null, null, null, false)).noNewPrivileges()).isTrue();
  }

  @Test
  void aBridgeWithoutRootRunsPodsAsItselfAndRefusesAnyOtherUser() throws Exception {
    RunAs r = resolve(USER, SecurityPlan.NONE);
    assertThat(r).isEqualTo(new RunAs(1000, 1000, List.of(), false, true, List.of(), false));
    assertThat(r.setpriv("setpriv")).containsExactly("setpriv", "--no-new-privs", "--");
    assertThat(resolve(USER, sec(1000L, 1000L, true, List.of(27L), null, null)).groups())
        .containsExactly(27L);
    var other = refused(USER, container(sec(65534L, null, null, null, null, null), false));
    assertThat(other.reason()).isEqualTo("UnsupportedSecurityContext");
    assertThat(other.getMessage()).contains("securityContext.runAsUser 65534", "uid 1000");
    assertThat(refused(USER, container(sec(null, 5L, null, null, null, null), false)).getMessage())
        .contains("securityContext.runAsGroup 5");
    assertThat(refused(USER, container(sec(null, null, null, null, 99L, null), false)).getMessage())
        .contains("fsGroup 99");
    RunAs escalating = resolve(USER, sec(null, null, null, null, null, true));
    assertThat(escalating.setpriv("setpriv")).isEmpty();
  }

  @Test
  void badIdsAreInvalid() {
    var e = refused(ROOT, container(sec(-1L, null, null, null, null, null), false));
    assertThat(e.reason()).isEqualTo("InvalidSecurityContext");
    assertThat(e.getMessage()).contains("runAsUser -1");
  }

  @Test
  void thePodsDirectoriesBelongToItsFirstContainerAndFsGroup() throws Exception {
    PodPlan plan =
        TestPods.pod(
            PodPlan.RestartPolicy.NEVER,
            List.of(),
            List.of(
                TestPods.sh("a", "true").withSecurity(sec(1000L, 1001L, null, null, 2000L, null)),
                TestPods.sh("b", "true")));
    Map<String, RunAs> runAs = rules(ROOT).resolve(plan);
    assertThat(SecurityContexts.owner(plan, runAs)).isEqualTo(new Owner(1000, 2000, true));
    PodPlan plain =
        TestPods.pod(PodPlan.RestartPolicy.NEVER, List.of(), List.of(TestPods.sh("a", "true")));
    assertThat(SecurityContexts.owner(plain, rules(ROOT).resolve(plain)))
        .isEqualTo(new Owner(65534, 65534, false));
  }
}
