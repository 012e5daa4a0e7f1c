package io.hpcbridge.backend.local.supervisor;

/**
 * A container run that could not start; the message says why (it becomes the status message) and
 * the reason is the container's ({@code StartError} unless said otherwise).
 */
final class StartFailure extends Exception {
  final String reason;

  StartFailure(String message) {
    this("StartError", message);
  }

  StartFailure(String reason, String message) {
    super(message);
    this.reason = reason;
  }
}
