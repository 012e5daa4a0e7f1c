package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.SettingValues;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

/**
 * The {@code local} backend's settings, validated once.
 *
 * @param workDir where pod directories live ({@code workDir}, default {@code <dataDir>/local})
 * @param cpuMillis advertised CPU ({@code cpus}, e.g. {@code 8}, {@code 7500m}); 0 = the machine's
 * @param memoryBytes advertised memory ({@code memory}, e.g. {@code 16Gi}); 0 = the machine's
 * @param pods advertised pod count ({@code pods}, default 110)
 * @param restartBackoff first delay before restarting a failed container ({@code restartBackoff},
 *     default 1s), doubled on each restart
 * @param maxRestartBackoff longest such delay ({@code maxRestartBackoff}, default 60s)
 * @param startTimeout how long a pod may wait for its supervisor to come up before it is failed
 *     ({@code supervisorStartTimeout}, default 60s)
 * @param unshare the {@code unshare} tool ({@code unshare}, default: found in PATH)
 * @param nsenter the {@code nsenter} tool ({@code nsenter}, default: found in PATH)
 */
record LocalSettings(
    Path workDir,
    long cpuMillis,
    long memoryBytes,
    long pods,
    Duration restartBackoff,
    Duration maxRestartBackoff,
    Duration startTimeout,
    String unshare,
    String nsenter) {

  static final Set<String> KEYS =
      Set.of(
          "workDir",
          "cpus",
          "memory",
          "pods",
          "restartBackoff",
          "maxRestartBackoff",
          "supervisorStartTimeout",
          "unshare",
          "nsenter");

  /** Reads and checks the settings; a wrong value fails with the key's name. */
  static LocalSettings from(BackendContext ctx) {
    for (String k : ctx.settings().keySet()) {
      if (!KEYS.contains(k)) {
        throw new IllegalArgumentException(
            "backend local: unknown setting '"
                + k
                + "' (known: "
                + String.join(", ", new java.util.TreeSet<>(KEYS))
                + ")");
      }
    }
    String wd = ctx.setting("workDir", null);
    Path workDir = wd == null ? ctx.dataDir().resolve("local") : Path.of(wd);
    long cpu = parse(ctx, "cpus", 0L, SettingValues::cpuMillis);
    long mem = parse(ctx, "memory", 0L, SettingValues::bytes);
    long pods =
        parse(
            ctx,
            "pods",
            110L,
            s -> {
              long v = Long.parseLong(s.trim());
              if (v <= 0) {
                throw new IllegalArgumentException("must be positive: " + s);
              }
              return v;
            });
    Duration backoff = parse(ctx, "restartBackoff", Duration.ofSeconds(1), SettingValues::duration);
    Duration maxBackoff =
        parse(ctx, "maxRestartBackoff", Duration.ofSeconds(60), SettingValues::duration);
    Duration start =
        parse(ctx, "supervisorStartTimeout", Duration.ofSeconds(60), SettingValues::duration);
    return new LocalSettings(
        workDir.toAbsolutePath().normalize(),
        cpu,
        mem,
        pods,
        backoff,
        maxBackoff,
        start,
        ctx.setting("unshare", null),
        ctx.setting("nsenter", null));
  }

  private static <T> T parse(
      BackendContext ctx, String key, T fallback, java.util.function.Function<String, T> parser) {
    String v = ctx.setting(key, null);
    if (v == null) {
      return fallback;
    }
    try {
      return parser.apply(v);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "backend local: setting '" + key + "' is invalid: " + e.getMessage(), e);
    }
  }
}
