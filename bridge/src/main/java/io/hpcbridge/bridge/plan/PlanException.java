package io.hpcbridge.bridge.plan;

/** Why a pod could not be turned into a plan. */
public abstract sealed class PlanException extends Exception
    permits PlanException.Invalid, PlanException.Missing {

  private final String reason;

  PlanException(String reason, String message) {
    super(message);
    this.reason = reason;
  }

  /** A CamelCase reason for events and the pod status. */
  public String reason() {
    return reason;
  }

  /** The pod can never run as written: fail it, do not retry. */
  public static final class Invalid extends PlanException {
    public Invalid(String reason, String message) {
      super(reason, message);
    }
  }

  /**
   * A ConfigMap or Secret the pod needs does not exist (yet): warn and retry, like the kubelet
   * does.
   */
  public static final class Missing extends PlanException {
    public Missing(String reason, String message) {
      super(reason, message);
    }
  }
}
