package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;

/** How a pod is refused: a CamelCase reason and a message that quotes pod values safely. */
final class Invalid {
  private Invalid() {}

  static BackendException.InvalidPod pod(String reason, String message) {
    return new BackendException.InvalidPod(reason, message);
  }

  /** A value safe to put in a message: control characters escaped, at most 80 characters. */
  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints()
        .limit(80)
        .forEach(
            cp -> {
              if (cp < 0x20 || cp == 0x7f) {
                b.append(String.format("\\x%02x", cp));
              } else {
                b.appendCodePoint(cp);
              }
            });
    return s.codePointCount(0, s.length()) > 80 ? b + "…" : b.toString();
  }
}
