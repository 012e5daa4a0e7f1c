package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import java.util.List;
import java.util.Set;

/**
 * Env names a runtime cannot pass to the container faithfully, or that would reach more than the
 * container. Names starting with {@code HPCB_} are the bridge's own. Runtime none and pyxis pass
 * the env through bash, which cannot export its special variables ({@code RANDOM}, {@code
 * SHELLOPTS}…). Pyxis passes it through srun's own environment, so names that change srun, Slurm or
 * the dynamic loader are refused there. A podman env file cannot hold a newline in a value.
 */
final class EnvRules {
  private EnvRules() {}

  static final Set<String> BASH_SPECIAL =
      Set.of(
          "BASHOPTS",
          "BASHPID",
          "BASH_ALIASES",
          "BASH_ARGC",
          "BASH_ARGV",
          "BASH_ARGV0",
          "BASH_CMDS",
          "BASH_COMMAND",
          "BASH_LINENO",
          "BASH_SOURCE",
          "BASH_SUBSHELL",
          "BASH_VERSINFO",
          "DIRSTACK",
          "EPOCHREALTIME",
          "EPOCHSECONDS",
          "EUID",
          "FUNCNAME",
          "GROUPS",
          "HISTCMD",
          "LINENO",
          "PIPESTATUS",
          "PPID",
          "RANDOM",
          "SECONDS",
          "SHELLOPTS",
          "SRANDOM",
          "UID");

  /** Prefixes (or whole names) that would change srun or what it starts, for pyxis. */
  static final List<String> SRUN_PREFIXES =
      List.of(
          "LD_",
          "GLIBC_TUNABLES",
          "MALLOC_",
          "SLURM_",
          "SRUN_",
          "SBATCH_",
          "SALLOC_",
          "SPANK_",
          "PYXIS_",
          "ENROOT_",
          "PMI_",
          "PMIX_");

  /**
   * Whole names that would change srun or what it starts, for pyxis: glibc's own list of variables
   * it drops for setuid programs (locale, iconv and resolver files and options) and the shell's
   * startup file (enroot's hooks are bash scripts).
   */
  static final Set<String> SRUN_NAMES =
      Set.of(
          "PATH",
          "TMPDIR",
          "IFS",
          "BASH_ENV",
          "GCONV_PATH",
          "GETCONF_DIR",
          "HOSTALIASES",
          "LOCALDOMAIN",
          "LOCPATH",
          "NIS_PATH",
          "NLSPATH",
          "RESOLV_HOST_CONF",
          "RES_OPTIONS",
          "TZDIR");

  static void check(ContainerPlan c, ContainerRuntime runtime) throws BackendException.InvalidPod {
    for (var e : c.env().entrySet()) {
      String n = e.getKey();
      if (n.startsWith("HPCB_")) {
        refuse(c, n, "names starting with HPCB_ are the bridge's own");
      }
      boolean viaBash = runtime == ContainerRuntime.NONE || runtime == ContainerRuntime.PYXIS;
      if (viaBash && BASH_SPECIAL.contains(n)) {
        refuse(c, n, "runtime " + runtime.configName() + " passes env through bash, which owns it");
      }
      if (runtime == ContainerRuntime.PYXIS
          && (SRUN_NAMES.contains(n) || SRUN_PREFIXES.stream().anyMatch(n::startsWith))) {
        refuse(
            c,
            n,
            "pyxis passes env through srun's own environment, where it would change srun itself");
      }
      if (runtime == ContainerRuntime.PODMAN && e.getValue().indexOf('\n') >= 0) {
        throw Invalid.pod(
            "InvalidEnv",
            "container "
                + c.name()
                + ": env "
                + n
                + " holds a newline, which podman's --env-file cannot carry (use a volume file,"
                + " or another runtime)");
      }
    }
  }

  private static void refuse(ContainerPlan c, String name, String why)
      throws BackendException.InvalidPod {
    throw Invalid.pod(
        "UnsupportedEnvName", "container " + c.name() + ": env " + name + " is refused: " + why);
  }
}
