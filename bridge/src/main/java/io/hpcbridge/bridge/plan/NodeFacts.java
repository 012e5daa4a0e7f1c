package io.hpcbridge.bridge.plan;

/**
 * What the plan builder needs to know about the node: its name and address (for {@code
 * spec.nodeName}, {@code status.hostIP}) and allocatable resources (the kubelet's default for
 * resourceFieldRef limits a container does not set).
 */
public record NodeFacts(String nodeName, String hostIP, long cpuMillis, long memoryBytes) {}
