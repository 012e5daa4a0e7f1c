package io.hpcbridge.backend;

import java.util.List;

/**
 * The securityContext of one container with the pod's defaults applied, as the kubelet merges them
 * (the container's field wins; {@code fsGroup} and {@code supplementalGroups} are pod-level only).
 * The bridge has already refused what its policy forbids and every field no backend can honour; a
 * backend refuses, with reason {@code UnsupportedSecurityContext} and a message naming the field,
 * whatever of the rest it cannot enforce. Nothing here is ever silently dropped.
 *
 * @param runAsUser uid to run as, or null for the backend's default (never root by default)
 * @param runAsGroup gid to run as, or null for the backend's default
 * @param runAsNonRoot when true, a container that would run as uid 0 must not start
 * @param supplementalGroups extra gids of the process
 * @param fsGroup gid that owns the pod's volumes, or null
 * @param privileged full access to the host (only when the policy allows it)
 * @param allowPrivilegeEscalation null or false: the process gets {@code no_new_privs}; true only
 *     when asked for explicitly
 * @param addCapabilities capabilities to add (only those the policy allows), e.g. {@code NET_ADMIN}
 * @param dropCapabilities capabilities to drop; {@code ALL} drops every one
 * @param readOnlyRootFilesystem the container's root file system is read-only
 * @param seccompProfile {@code RuntimeDefault}, {@code Unconfined}, or null (the runtime's default)
 */
public record SecurityPlan(
    Long runAsUser,
    Long runAsGroup,
    Boolean runAsNonRoot,
    List<Long> supplementalGroups,
    Long fsGroup,
    boolean privileged,
    Boolean allowPrivilegeEscalation,
    List<String> addCapabilities,
    List<String> dropCapabilities,
    boolean readOnlyRootFilesystem,
    String seccompProfile) {

  /** No securityContext at all: every backend applies its safe defaults. */
  public static final SecurityPlan NONE =
      new SecurityPlan(
          null, null, null, List.of(), null, false, null, List.of(), List.of(), false, null);

  public SecurityPlan {
    supplementalGroups = List.copyOf(supplementalGroups == null ? List.of() : supplementalGroups);
    addCapabilities = List.copyOf(addCapabilities == null ? List.of() : addCapabilities);
    dropCapabilities = List.copyOf(dropCapabilities == null ? List.of() : dropCapabilities);
  }

  /** Whether the process must get {@code no_new_privs} (everything but an explicit true). */
  public boolean noNewPrivileges() {
    return !privileged && !Boolean.TRUE.equals(allowPrivilegeEscalation);
  }

  /** Whether runAsNonRoot was asked for. */
  public boolean requiresNonRoot() {
    return Boolean.TRUE.equals(runAsNonRoot);
  }

  /** A copy with another uid and gid (for tests and defaults). */
  public SecurityPlan withUser(Long uid, Long gid) {
    return new SecurityPlan(
        uid,
        gid,
        runAsNonRoot,
        supplementalGroups,
        fsGroup,
        privileged,
        allowPrivilegeEscalation,
        addCapabilities,
        dropCapabilities,
        readOnlyRootFilesystem,
        seccompProfile);
  }
}
