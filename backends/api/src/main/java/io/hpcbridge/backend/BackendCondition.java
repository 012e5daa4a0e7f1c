package io.hpcbridge.backend;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A node condition a backend reports besides Ready: a partial problem that leaves the backend
 * usable, such as one Docker host of several not answering. The bridge publishes it on its Node as
 * a condition of the same type, status, reason and message.
 *
 * @param type CamelCase condition type, e.g. {@code DockerHostsReachable}
 * @param status {@link Status#TRUE} when the condition holds (for a "…Reachable" type: all is well)
 * @param reason CamelCase reason, e.g. {@code HostUnreachable}
 * @param message a human explanation (which host, which error)
 */
public record BackendCondition(String type, Status status, String reason, String message) {
  private static final Pattern CAMEL = Pattern.compile("[A-Z][A-Za-z0-9]*");

  /** Kubernetes' condition statuses. */
  public enum Status {
    TRUE,
    FALSE,
    UNKNOWN;

    /** {@code True}, {@code False} or {@code Unknown}. */
    public String toKubernetes() {
      String n = name();
      return n.charAt(0) + n.substring(1).toLowerCase();
    }
  }

  public BackendCondition {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(reason, "reason");
    if (!CAMEL.matcher(type).matches()) {
      throw new IllegalArgumentException("condition type must be CamelCase: " + type);
    }
    if (!CAMEL.matcher(reason).matches()) {
      throw new IllegalArgumentException("condition reason must be CamelCase: " + reason);
    }
    message = message == null ? "" : message;
  }
}
