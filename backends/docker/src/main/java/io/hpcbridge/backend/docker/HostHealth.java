package io.hpcbridge.backend.docker;

import java.time.Instant;

/**
 * One Docker host's health, for the node's conditions.
 *
 * @param name host name from the config
 * @param uri its Docker endpoint
 * @param reachable whether the last call to it succeeded (true before the first call)
 * @param reason {@code HostUnreachable} when not reachable, else null
 * @param message the last error, or null
 * @param unreachableSince when it stopped answering, or null
 * @param serverVersion the daemon's version, when known
 */
public record HostHealth(
    String name,
    String uri,
    boolean reachable,
    String reason,
    String message,
    Instant unreachableSince,
    String serverVersion) {}
