package io.hpcbridge.backend;

import java.util.Map;

/**
 * Requests and limits of one container, in plain units.
 *
 * @param cpuRequestMillis CPU request in millicores, 0 when unset
 * @param cpuLimitMillis CPU limit in millicores, 0 when unset
 * @param memoryRequestBytes memory request, 0 when unset
 * @param memoryLimitBytes memory limit, 0 when unset
 * @param gpus {@code nvidia.com/gpu} (limit, else request), 0 when unset
 * @param extended other extended resources by name (limit, else request)
 */
public record Resources(
    long cpuRequestMillis,
    long cpuLimitMillis,
    long memoryRequestBytes,
    long memoryLimitBytes,
    long gpus,
    Map<String, Long> extended) {

  public static final Resources NONE = new Resources(0, 0, 0, 0, 0, Map.of());

  public Resources {
    extended = Map.copyOf(extended == null ? Map.of() : extended);
  }

  /** The request, falling back to the limit (Kubernetes defaults requests to limits). */
  public long cpuMillis() {
    return cpuRequestMillis > 0 ? cpuRequestMillis : cpuLimitMillis;
  }

  /** The request, falling back to the limit. */
  public long memoryBytes() {
    return memoryRequestBytes > 0 ? memoryRequestBytes : memoryLimitBytes;
  }
}
