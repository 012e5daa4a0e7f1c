package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.ResourceQuantity;
import io.hpcbridge.backend.SettingsBinder;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The {@code backends.local} settings, bound by {@link SettingsBinder}: defaults and checks in the
 * compact constructor, every error names the key ({@code backends.local.pods: must be positive}).
 *
 * @param workDir where pod directories live; default {@code <dataDir>/local} (see {@link #from})
 * @param cpus advertised CPU ({@code 8}, {@code 7500m}); null: the machine's cores
 * @param memory advertised memory ({@code 16Gi}); null: MemTotal of {@code /proc/meminfo}
 * @param pods advertised pod count, default 110
 * @param restartBackoff first delay before restarting a failed container, doubled on each restart
 * @param maxRestartBackoff longest such delay
 * @param supervisorStartTimeout how long a pod may wait for its supervisor to come up before it is
 *     failed
 * @param unshare the {@code unshare} tool; null: found in PATH
 * @param nsenter no longer used (containers make their mount namespace themselves); accepted so
 *     that existing configurations still load
 * @param runAsUser the uid of containers whose securityContext sets none, default 65534 (nobody);
 *     never 0: a pod runs as root only when its own securityContext asks for uid 0
 * @param runAsGroup the gid of containers whose securityContext sets none, default 65534
 * @param maxProcesses how many processes (and threads) each container run may have at once ({@code
 *     pids.max} of its cgroup), default 4096
 */
public record LocalSettings(
    Path workDir,
    ResourceQuantity cpus,
    ResourceQuantity memory,
    Integer pods,
    Duration restartBackoff,
    Duration maxRestartBackoff,
    Duration supervisorStartTimeout,
    String unshare,
    String nsenter,
    Long runAsUser,
    Long runAsGroup,
    Integer maxProcesses) {

  static final String SECTION = "backends.local";
  private static final long MAX_ID = 4294967294L;
  private static final int PID_MAX_LIMIT = 4194304; // the kernel's

  public LocalSettings {
    pods = pods == null ? 110 : pods;
    if (pods <= 0) {
      throw SettingsBinder.invalid("pods", "must be positive, got " + pods);
    }
    restartBackoff = restartBackoff == null ? Duration.ofSeconds(1) : restartBackoff;
    maxRestartBackoff = maxRestartBackoff == null ? Duration.ofSeconds(60) : maxRestartBackoff;
    supervisorStartTimeout =
        supervisorStartTimeout == null ? Duration.ofSeconds(60) : supervisorStartTimeout;
    if (maxRestartBackoff.compareTo(restartBackoff) < 0) {
      throw SettingsBinder.invalid(
          "maxRestartBackoff", "must not be shorter than restartBackoff (" + restartBackoff + ")");
    }
    unshare = blankToNull(unshare);
    nsenter = blankToNull(nsenter);
    workDir = workDir == null ? null : workDir.toAbsolutePath().normalize();
    runAsUser = runAsUser == null ? 65534L : runAsUser;
    runAsGroup = runAsGroup == null ? 65534L : runAsGroup;
    if (runAsUser == 0) {
      throw SettingsBinder.invalid(
          "runAsUser",
          "must not be 0: a pod runs as root only when its securityContext asks for uid 0");
    }
    if (runAsUser < 0 || runAsUser > MAX_ID) {
      throw SettingsBinder.invalid("runAsUser", "not a valid uid: " + runAsUser);
    }
    if (runAsGroup < 0 || runAsGroup > MAX_ID) {
      throw SettingsBinder.invalid("runAsGroup", "not a valid gid: " + runAsGroup);
    }
    maxProcesses = maxProcesses == null ? 4096 : maxProcesses;
    if (maxProcesses <= 0 || maxProcesses > PID_MAX_LIMIT) {
      throw SettingsBinder.invalid(
          "maxProcesses", "must be between 1 and " + PID_MAX_LIMIT + ", got " + maxProcesses);
    }
  }

  /** Binds the backend's section; {@code workDir} defaults to {@code <dataDir>/local}. */
  static LocalSettings from(BackendContext ctx) {
    LocalSettings s = SettingsBinder.bind(ctx.settings(), LocalSettings.class, SECTION);
    if (s.workDir() != null) {
      return s;
    }
    return new LocalSettings(
        ctx.dataDir().resolve("local"),
        s.cpus,
        s.memory,
        s.pods,
        s.restartBackoff,
        s.maxRestartBackoff,
        s.supervisorStartTimeout,
        s.unshare,
        s.nsenter,
        s.runAsUser,
        s.runAsGroup,
        s.maxProcesses);
  }

  /** Advertised CPU in millicores; 0 = the machine's. */
  long cpuMillis() {
    return cpus == null ? 0 : cpus.cpuMillis();
  }

  /** Advertised memory in bytes; 0 = the machine's. */
  long memoryBytes() {
    return memory == null ? 0 : memory.bytes();
  }

  private static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s;
  }
}
