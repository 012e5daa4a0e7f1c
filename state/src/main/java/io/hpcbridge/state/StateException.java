package io.hpcbridge.state;

/** The state file cannot be opened, read or written; the message names the file. */
public class StateException extends RuntimeException {
  public StateException(String message) {
    super(message);
  }

  public StateException(String message, Throwable cause) {
    super(message, cause);
  }
}
