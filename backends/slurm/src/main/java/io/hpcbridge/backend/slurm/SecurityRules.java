package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.SecurityPlan;
import java.util.List;

/**
 * What of a container's securityContext a Slurm job can honour. Every pod runs as the one Unix
 * account of the bridge, so: {@code runAsUser}/{@code runAsGroup} only when they are that account's
 * uid/gid, {@code fsGroup} only its primary group, {@code supplementalGroups} only groups it is in,
 * {@code runAsNonRoot} only when it is not root; never {@code privileged} nor added capabilities.
 * {@code readOnlyRootFilesystem}: apptainer's images are read-only (unless the operator's options
 * make them writable), podman {@code --read-only}, pyxis {@code --container-readonly}, refused for
 * runtime none. {@code no_new_privs}: apptainer and enroot set it themselves, podman {@code
 * --security-opt=no-new-privileges}, runtime none {@code setpriv --no-new-privs}. Anything else is
 * refused with reason {@code UnsupportedSecurityContext}, naming the field and the container.
 */
final class SecurityRules {
  private SecurityRules() {}

  /**
   * @param runtimeOptions every option the runtime gets (isolation and extra options)
   * @param account the account pods run as, or null when unknown (a dry run without the cluster:
   *     the account's checks are skipped)
   */
  static void check(
      ContainerPlan c, ContainerRuntime rt, List<String> runtimeOptions, Account account)
      throws BackendException.InvalidPod {
    SecurityPlan s = c.security();
    if (s.privileged()) {
      refuse(c, "privileged", "a Slurm job runs as an ordinary account and cannot be privileged");
    }
    if (!s.addCapabilities().isEmpty()) {
      refuse(
          c,
          "capabilities.add",
          "a Slurm job runs as an ordinary account and cannot gain " + s.addCapabilities());
    }
    if (account != null) {
      String who = "pods run as the account " + account.name();
      if (s.runAsUser() != null && s.runAsUser() != account.uid()) {
        refuse(c, "runAsUser", who + " (uid " + account.uid() + "); set that uid or none");
      }
      if (s.runAsGroup() != null && s.runAsGroup() != account.gid()) {
        refuse(c, "runAsGroup", who + " (gid " + account.gid() + "); set that gid or none");
      }
      if (s.requiresNonRoot() && account.root()) {
        refuse(c, "runAsNonRoot", "the Slurm account " + account.name() + " is root");
      }
      for (Long g : s.supplementalGroups()) {
        if (!account.groups().contains(g)) {
          refuse(
              c,
              "supplementalGroups",
              who + ", whose groups " + account.groups() + " do not include " + g);
        }
      }
      if (s.fsGroup() != null && s.fsGroup() != account.gid()) {
        refuse(
            c,
            "fsGroup",
            "the pod's files belong to the account's group "
                + account.gid()
                + "; set that or none");
      }
      if (!s.dropCapabilities().isEmpty() && account.root() && rt != ContainerRuntime.PODMAN) {
        refuse(
            c,
            "capabilities.drop",
            "the Slurm account is root and runtime " + rt.configName() + " cannot drop them");
      }
    }
    if (s.readOnlyRootFilesystem()) {
      if (rt == ContainerRuntime.NONE) {
        refuse(
            c,
            "readOnlyRootFilesystem",
            "runtime none runs on the compute node's own file system; choose a container runtime");
      }
      for (String o : List.of("--writable", "--writable-tmpfs", "-w", "--container-writable")) {
        if (runtimeOptions.contains(o)) {
          refuse(c, "readOnlyRootFilesystem", "the runtime options include " + o);
        }
      }
    }
    if (s.requiresNonRoot() || s.runAsUser() != null) {
      for (String o : List.of("--fakeroot", "-f", "--container-remap-root")) {
        if (runtimeOptions.contains(o)) {
          refuse(
              c,
              s.runAsUser() != null ? "runAsUser" : "runAsNonRoot",
              "the runtime options include " + o + ", which runs the container as root");
        }
      }
    }
  }

  private static void refuse(ContainerPlan c, String field, String why)
      throws BackendException.InvalidPod {
    throw Invalid.pod(
        "UnsupportedSecurityContext",
        "container " + c.name() + ": securityContext." + field + " cannot be honoured: " + why);
  }
}
