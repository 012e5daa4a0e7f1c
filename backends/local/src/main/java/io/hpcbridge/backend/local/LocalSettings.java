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
 * @param nsenter the {@code nsenter} tool; null: found in PATH
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
    String nsenter) {

  static final String SECTION = "backends.local";

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
        s.nsenter);
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
