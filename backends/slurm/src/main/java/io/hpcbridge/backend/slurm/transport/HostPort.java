package io.hpcbridge.backend.slurm.transport;

/** {@code [user@]host[:port]}. */
record HostPort(String user, String host, int port) {
  static HostPort parse(String s, String defaultUser) {
    String user = defaultUser;
    String rest = s;
    int at = s.indexOf('@');
    if (at >= 0) {
      user = s.substring(0, at);
      rest = s.substring(at + 1);
    }
    int colon = rest.lastIndexOf(':');
    if (colon > 0) {
      return new HostPort(
          user, rest.substring(0, colon), Integer.parseInt(rest.substring(colon + 1)));
    }
    return new HostPort(user, rest, 22);
  }
}
