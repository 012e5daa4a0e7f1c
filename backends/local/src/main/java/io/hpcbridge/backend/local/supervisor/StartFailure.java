package io.hpcbridge.backend.local.supervisor;

/** A container run that could not start; the message says why (it becomes the status message). */
final class StartFailure extends Exception {
  StartFailure(String message) {
    super(message);
  }
}
