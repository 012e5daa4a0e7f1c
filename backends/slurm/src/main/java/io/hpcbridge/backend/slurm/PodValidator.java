package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Invalid.printable;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks the names and values of a pod that end up in paths, file names and the job's files: each
 * must match a strict pattern or be quotable, else the pod is refused before anything is written.
 */
final class PodValidator {
  private PodValidator() {}

  static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  static final Pattern UID = Pattern.compile("[A-Za-z0-9-]{1,64}");
  static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  static void validate(PodPlan plan) throws BackendException.InvalidPod {
    if (!DNS_LABEL.matcher(plan.pod().namespace()).matches()) {
      throw Invalid.pod(
          "InvalidName", "namespace is not a DNS label: " + printable(plan.pod().namespace()));
    }
    if (plan.pod().name().length() > 253 || !DNS_SUBDOMAIN.matcher(plan.pod().name()).matches()) {
      throw Invalid.pod(
          "InvalidName", "pod name is not a DNS subdomain: " + printable(plan.pod().name()));
    }
    if (!UID.matcher(plan.pod().uid()).matches()) {
      throw Invalid.pod(
          "InvalidName",
          "pod uid must be letters, digits and dashes: " + printable(plan.pod().uid()));
    }
    Set<String> seen = new HashSet<>();
    for (ContainerPlan c : plan.allContainers().toList()) {
      if (!DNS_LABEL.matcher(c.name()).matches()) {
        throw Invalid.pod(
            "InvalidName", "container name is not a DNS label: " + printable(c.name()));
      }
      if (!seen.add(c.name())) {
        throw Invalid.pod("InvalidName", "two containers are named " + c.name());
      }
      container(c);
    }
    for (VolumePlan v : plan.volumes()) {
      if (!DNS_LABEL.matcher(v.name()).matches()) {
        throw Invalid.pod("InvalidName", "volume name is not a DNS label: " + printable(v.name()));
      }
    }
  }

  private static void container(ContainerPlan c) throws BackendException.InvalidPod {
    for (var e : c.env().entrySet()) {
      if (!ENV_NAME.matcher(e.getKey()).matches()) {
        throw Invalid.pod(
            "UnsupportedEnvName",
            "container "
                + c.name()
                + ": env name "
                + printable(e.getKey())
                + " is not a shell identifier ([A-Za-z_][A-Za-z0-9_]*)");
      }
      if (!Shell.quotable(e.getValue())) {
        throw Invalid.pod(
            "InvalidEnv",
            "container " + c.name() + ": env " + e.getKey() + " contains a NUL character");
      }
    }
    for (String a : c.argv()) {
      if (!Shell.quotable(a)) {
        throw Invalid.pod(
            "InvalidCommand",
            "container " + c.name() + ": command or args contain a NUL character");
      }
    }
    if (c.workingDir() != null
        && (!c.workingDir().startsWith("/") || !Shell.quotable(c.workingDir()))) {
      throw Invalid.pod(
          "InvalidWorkingDir", "container " + c.name() + ": workingDir must be an absolute path");
    }
  }
}
