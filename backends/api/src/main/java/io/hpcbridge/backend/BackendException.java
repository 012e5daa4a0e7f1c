package io.hpcbridge.backend;

/** A typed backend failure. The bridge decides what to do from the subtype. */
public abstract sealed class BackendException extends Exception
    permits BackendException.Transient, BackendException.InvalidPod, BackendException.NotFound {

  protected BackendException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Something that may work later (network, busy scheduler): retry with backoff. */
  public static final class Transient extends BackendException {
    public Transient(String message) {
      super(message, null);
    }

    public Transient(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The pod cannot run on this backend, ever (unsupported field, forbidden flag, rejected by the
   * scheduler). The pod is failed with {@link #reason()} and a Warning event; never retried.
   */
  public static final class InvalidPod extends BackendException {
    private final String reason;

    public InvalidPod(String reason, String message) {
      super(message, null);
      this.reason = reason;
    }

    /** A CamelCase reason for the pod status, e.g. {@code UnsupportedVolume}. */
    public String reason() {
      return reason;
    }
  }

  /** The handle names nothing the backend knows (any more). */
  public static final class NotFound extends BackendException {
    public NotFound(String message) {
      super(message, null);
    }
  }
}
