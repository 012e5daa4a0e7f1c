package io.hpcbridge.backend;

import java.util.Map;

/**
 * What the node advertises. Totals, never what is free right now.
 *
 * @param cpuMillis CPU in millicores
 * @param memoryBytes memory in bytes
 * @param gpus {@code nvidia.com/gpu} count
 * @param pods how many pods the node accepts
 * @param nodeInfo free-form facts for the node's labels or NodeInfo (e.g. {@code osImage})
 */
public record Capacity(
    long cpuMillis, long memoryBytes, long gpus, long pods, Map<String, String> nodeInfo) {
  public Capacity {
    nodeInfo = Map.copyOf(nodeInfo == null ? Map.of() : nodeInfo);
  }
}
