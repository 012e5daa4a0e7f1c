package io.hpcbridge.backend.slurm.transport;

import com.jcraft.jsch.AgentIdentityRepository;
import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.SSHAgentConnector;
import com.jcraft.jsch.Session;
import com.jcraft.jsch.SftpException;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.slurm.SlurmConfig.SshConfig;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SSH to a login node with JSch: one long-lived session whose channels (exec, SFTP) are opened per
 * call, at most {@code ssh.maxChannels} at once ({@link ChannelLimit}; log reads get fewer). A lost
 * session is re-opened on the next call, no sooner than an exponential backoff (0.5 s doubling to
 * 30 s) after the last failed attempt. Host keys are checked against the configured known_hosts
 * file unless {@code strictHostKeyChecking} is off; a mismatch is never accepted.
 */
public final class SshTransport implements Transport {
  private static final Logger LOG = LoggerFactory.getLogger(SshTransport.class);
  private static final long MAX_BACKOFF_MS = 30_000;

  private final SshConfig cfg;
  private final Duration timeout;
  private final ChannelLimit channels;
  private Session session;
  private Session jump;
  private int failures;
  private long nextAttempt;
  private String lastError;

  public SshTransport(SshConfig cfg, Duration timeout) {
    this.cfg = cfg;
    this.timeout = timeout;
    this.channels = new ChannelLimit(cfg.maxChannels());
  }

  @Override
  public String describe() {
    return "ssh "
        + cfg.user()
        + "@"
        + cfg.host()
        + ":"
        + cfg.port()
        + (cfg.jumpHost() != null ? " via " + cfg.jumpHost() : "");
  }

  private synchronized Session session() throws BackendException.Transient {
    if (session != null && session.isConnected()) {
      return session;
    }
    long now = System.currentTimeMillis();
    if (now < nextAttempt) {
      throw new BackendException.Transient(
          describe()
              + " is unreachable (retrying in "
              + ((nextAttempt - now + 999) / 1000)
              + " s): "
              + lastError);
    }
    disconnect();
    try {
      session = connect();
      if (failures > 0) {
        LOG.info("Reconnected to {}", describe());
      }
      failures = 0;
      return session;
    } catch (JSchException e) {
      disconnect();
      failures++;
      nextAttempt =
          System.currentTimeMillis() + Math.min(MAX_BACKOFF_MS, 500L << Math.min(failures - 1, 16));
      lastError = explain(e);
      throw new BackendException.Transient(describe() + ": " + lastError, e);
    }
  }

  private Session connect() throws JSchException {
    JSch jsch = new JSch();
    if (cfg.strictHostKeyChecking()) {
      jsch.setKnownHosts(cfg.knownHosts().toString());
    }
    if (cfg.useAgent()) {
      try {
        jsch.setIdentityRepository(new AgentIdentityRepository(new SSHAgentConnector()));
      } catch (com.jcraft.jsch.AgentProxyException e) {
        throw new JSchException("ssh-agent is not available (SSH_AUTH_SOCK): " + e.getMessage(), e);
      }
    }
    if (cfg.identityFile() != null) {
      jsch.addIdentity(cfg.identityFile().toString(), cfg.passphrase());
    }
    int connectMs = (int) cfg.connectTimeout().toMillis();
    String host = cfg.host();
    int port = cfg.port();
    String alias = null;
    if (cfg.jumpHost() != null) {
      HostPort j = HostPort.parse(cfg.jumpHost(), cfg.user());
      jump = configure(jsch.getSession(j.user(), j.host(), j.port()));
      jump.connect(connectMs);
      int local = jump.setPortForwardingL("127.0.0.1", 0, cfg.host(), cfg.port());
      alias = cfg.port() == 22 ? cfg.host() : "[" + cfg.host() + "]:" + cfg.port();
      host = "127.0.0.1";
      port = local;
    }
    Session s = configure(jsch.getSession(cfg.user(), host, port));
    if (alias != null) {
      s.setHostKeyAlias(alias);
    }
    s.connect(connectMs);
    return s;
  }

  private Session configure(Session s) throws JSchException {
    s.setConfig("StrictHostKeyChecking", cfg.strictHostKeyChecking() ? "yes" : "no");
    s.setConfig("PreferredAuthentications", "publickey");
    s.setServerAliveInterval(15_000);
    s.setServerAliveCountMax(3);
    return s;
  }

  private String explain(JSchException e) {
    String name = e.getClass().getSimpleName();
    if (name.equals("JSchChangedHostKeyException")
        || String.valueOf(e.getMessage()).startsWith("HostKey has been changed")) {
      return "the host key of "
          + cfg.host()
          + " does NOT match the one in "
          + cfg.knownHosts()
          + " (possible man-in-the-middle attack, or the host was reinstalled); refusing to"
          + " connect. Fix "
          + cfg.knownHosts()
          + " if the new key is legitimate.";
    }
    if (name.equals("JSchUnknownHostKeyException")
        || String.valueOf(e.getMessage()).startsWith("UnknownHostKey")) {
      return "the host key of "
          + cfg.host()
          + " is not in "
          + cfg.knownHosts()
          + "; add it (e.g. ssh-keyscan -p "
          + cfg.port()
          + " "
          + cfg.host()
          + " >> "
          + cfg.knownHosts()
          + ", after checking its fingerprint)";
    }
    if (String.valueOf(e.getMessage()).contains("Auth fail")) {
      return "authentication failed for user " + cfg.user() + " (key " + cfg.identityFile() + ")";
    }
    Throwable c = e.getCause();
    return e.getMessage() + (c != null && c != e ? " (" + c + ")" : "");
  }

  private synchronized void disconnect() {
    if (session != null) {
      session.disconnect();
      session = null;
    }
    if (jump != null) {
      jump.disconnect();
      jump = null;
    }
  }

  /** Drops the session if it died, so the next call reconnects. */
  private synchronized void dropIfDown(Session s) {
    if (s == session && !s.isConnected()) {
      disconnect();
    }
  }

  @Override
  public Result exec(String script, byte[] stdin) throws BackendException.Transient {
    return exec(script, stdin, Lane.CONTROL);
  }

  @Override
  public Result exec(String script, byte[] stdin, Lane lane) throws BackendException.Transient {
    try (ChannelLimit.Permit p = channels.acquire(lane, timeout, describe())) {
      return execOnChannel(script, stdin);
    }
  }

  private Result execOnChannel(String script, byte[] stdin) throws BackendException.Transient {
    for (int attempt = 0; ; attempt++) {
      Session s = session();
      ChannelExec ch;
      try {
        ch = (ChannelExec) s.openChannel("exec");
      } catch (JSchException e) {
        dropIfDown(s);
        synchronized (this) {
          if (session == s) {
            disconnect();
          }
        }
        if (attempt == 0) {
          continue;
        }
        throw new BackendException.Transient(
            describe() + ": cannot open a channel: " + e.getMessage(), e);
      }
      try {
        return run(ch, script, stdin);
      } catch (ChannelRefused e) {
        // Nothing ran: sshd refused the channel, most likely still counting ones just closed
        // towards its MaxSessions. They are freed in a moment.
        dropIfDown(s);
        if (!s.isConnected() || attempt >= REFUSED_RETRIES) {
          throw new BackendException.Transient(describe() + ": " + e.getMessage(), e);
        }
        pause(attempt);
      }
    }
  }

  /** How often a channel sshd refused is asked for again, after 50 ms doubling to 1.6 s. */
  private static final int REFUSED_RETRIES = 6;

  private static void pause(int attempt) throws BackendException.Transient {
    try {
      Thread.sleep(50L << Math.min(attempt, 5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendException.Transient("interrupted", e);
    }
  }

  /** sshd did not open a channel (JSch: "channel is not opened"): nothing was started on it. */
  private static final class ChannelRefused extends Exception {
    ChannelRefused(JSchException e) {
      super(e.getMessage(), e);
    }
  }

  private static boolean refused(JSchException e) {
    return String.valueOf(e.getMessage()).contains("channel is not opened");
  }

  private Result run(ChannelExec ch, String script, byte[] stdin)
      throws BackendException.Transient, ChannelRefused {
    // The script travels on stdin to "bash -s" unless stdin is taken: then it is the command line,
    // which the remote login shell parses (only simple commands are sent that way). Either way it
    // runs under timeout(1), so nothing it starts outlives the command timeout on the login node.
    long secs = Math.max(1, timeout.toSeconds());
    String bounded = "timeout -k 5 " + secs + " ";
    if (stdin == null) {
      ch.setCommand(bounded + "bash -s");
      ch.setInputStream(new ByteArrayInputStream(script.getBytes(StandardCharsets.UTF_8)));
    } else {
      ch.setCommand(bounded + "bash -c " + io.hpcbridge.backend.slurm.Shell.quote(script));
      ch.setInputStream(new ByteArrayInputStream(stdin));
    }
    BoundedBuffer err = new BoundedBuffer(MAX_ERROR);
    ch.setErrStream(err);
    BoundedBuffer out = new BoundedBuffer(MAX_OUTPUT);
    // The remote timeout fires first; this one covers a login node that stopped answering.
    long deadline = System.nanoTime() + timeout.toNanos() + Duration.ofSeconds(10).toNanos();
    // JSch's session thread writes stdout straight into the bounded buffer: its own pipe
    // (getInputStream) stalls a second whenever its 32 KiB fill up, about 30 s per MiB.
    ch.setOutputStream(out, true);
    try {
      try {
        ch.connect((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
      } catch (JSchException e) {
        if (refused(e)) {
          throw new ChannelRefused(e);
        }
        throw e;
      }
      while (!ch.isClosed()) {
        if (out.overflowed()) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new BackendException.Transient(
              describe() + ": command timed out after " + timeout.toSeconds() + " s");
        }
        Thread.sleep(10);
      }
      if (out.overflowed()) {
        throw new BackendException.Transient(
            describe() + ": a command printed more than " + MAX_OUTPUT + " bytes; stopped");
      }
      if (ch.getExitStatus() == TIMED_OUT) {
        throw new BackendException.Transient(
            describe() + ": command timed out after " + timeout.toSeconds() + " s");
      }
      return new Result(ch.getExitStatus(), out.bytes(), err.text());
    } catch (JSchException e) {
      throw new BackendException.Transient(describe() + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendException.Transient("interrupted", e);
    } finally {
      ch.disconnect();
    }
  }

  private ChannelSftp sftp() throws BackendException.Transient {
    for (int attempt = 0; ; attempt++) {
      Session s = session();
      ChannelSftp ch = null;
      try {
        ch = (ChannelSftp) s.openChannel("sftp");
        ch.connect((int) cfg.connectTimeout().toMillis());
        return ch;
      } catch (JSchException e) {
        if (ch != null) {
          ch.disconnect();
        }
        if (s.isConnected() && refused(e)) {
          // sshd still counts channels just closed towards MaxSessions; the session is fine.
          if (attempt >= REFUSED_RETRIES) {
            throw new BackendException.Transient(
                describe() + ": cannot open SFTP: " + e.getMessage(), e);
          }
          pause(attempt);
          continue;
        }
        synchronized (this) {
          if (session == s) {
            disconnect();
          }
        }
        if (attempt > 0) {
          throw new BackendException.Transient(
              describe() + ": cannot open SFTP: " + e.getMessage(), e);
        }
      }
    }
  }

  @Override
  public void write(List<FileWrite> files) throws BackendException.Transient {
    try (ChannelLimit.Permit p = channels.acquire(Lane.CONTROL, timeout, describe())) {
      writeOnChannel(files);
    }
  }

  private void writeOnChannel(List<FileWrite> files) throws BackendException.Transient {
    ChannelSftp sftp = sftp();
    try {
      SftpFiles.write(sftp, files);
    } catch (SftpException e) {
      throw new BackendException.Transient(
          describe() + ": SFTP write failed: " + e.getMessage(), e);
    } finally {
      sftp.disconnect();
    }
  }

  @Override
  public void replace(String base, List<FileWrite> files) throws BackendException {
    try (ChannelLimit.Permit p = channels.acquire(Lane.CONTROL, timeout, describe())) {
      replaceOnChannel(base, files);
    }
  }

  private void replaceOnChannel(String base, List<FileWrite> files) throws BackendException {
    ChannelSftp sftp = sftp();
    try {
      SftpFiles.replace(sftp, base, files);
    } catch (SftpException e) {
      throw new BackendException.Transient(
          describe() + ": SFTP replace failed: " + e.getMessage(), e);
    } finally {
      sftp.disconnect();
    }
  }

  @Override
  public void close() {
    disconnect();
  }
}
