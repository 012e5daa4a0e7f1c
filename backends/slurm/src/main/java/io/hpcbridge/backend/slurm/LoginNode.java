package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.slurm.transport.Transport;

/**
 * The cluster as the backend reaches it: the transport to the login node, the settings, and where
 * pods' directories are (a {@code ~/} work root needs the remote home, learnt once).
 */
final class LoginNode {
  private final SlurmConfig config;
  private final Transport transport;
  private volatile Account account;
  private volatile SbatchRenderer renderer;

  LoginNode(SlurmConfig config, Transport transport) {
    this.config = config;
    this.transport = transport;
  }

  SlurmConfig config() {
    return config;
  }

  Transport transport() {
    return transport;
  }

  /** Runs a bash script on the login node. */
  Transport.Result exec(String script) throws BackendException.Transient {
    return transport.exec(script, null);
  }

  /**
   * Runs a bash script fed {@code stdin}: what grows with the number of pods goes there, not on the
   * command line (an SSH exec request, and one argument, have size limits).
   */
  Transport.Result exec(String script, byte[] stdin) throws BackendException.Transient {
    return transport.exec(script, stdin);
  }

  /** Runs a bash script that reads a log ({@link Transport.Lane#LOGS}). */
  Transport.Result execLogs(String script) throws BackendException.Transient {
    return transport.exec(script, null, Transport.Lane.LOGS);
  }

  /** The account pods run as, learnt on first use. */
  Account account() throws BackendException.Transient {
    Account a = account;
    if (a == null) {
      Transport.Result res = transport.exec(Account.COMMAND, null);
      if (!res.ok()) {
        throw new BackendException.Transient(
            "cannot learn the account on " + transport.describe() + ": " + res.stderr().strip());
      }
      a = account = Account.parse(res.stdout(), transport.describe());
    }
    return a;
  }

  /** The renderer, once the account (its home, uid and gid) is known. */
  SbatchRenderer renderer() throws BackendException.Transient {
    SbatchRenderer r = renderer;
    if (r == null) {
      r = renderer = new SbatchRenderer(config, account());
    }
    return r;
  }

  /** The renderer without contacting anything: a {@code ~/} work root under /home/USER. */
  SbatchRenderer offlineRenderer() {
    String user =
        config.ssh() != null && config.ssh().user() != null
            ? config.ssh().user()
            : System.getProperty("user.name");
    return new SbatchRenderer(config, "/home/" + user);
  }

  String podDir(String uid) throws BackendException.Transient {
    return renderer().podDir(uid);
  }

  String describe() {
    return transport.describe();
  }
}
