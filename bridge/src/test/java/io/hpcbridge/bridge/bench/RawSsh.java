package io.hpcbridge.bridge.bench;

import com.jcraft.jsch.ChannelExec;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.Session;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The raw side of the Slurm rows: one SSH session to the login node, with the same key, passphrase
 * and known_hosts the bridge gets, and one exec channel per command — what an operator's script
 * would do.
 */
final class RawSsh implements AutoCloseable {
  record Result(int exit, String stdout, String stderr) {}

  private final Session session;

  private RawSsh(Session session) {
    this.session = session;
  }

  /** Connects with the {@code ssh} part of {@code SlurmCluster.settings()}. */
  @SuppressWarnings("unchecked")
  static RawSsh connect(Map<String, Object> slurmSettings) throws Exception {
    Map<String, Object> ssh = (Map<String, Object>) slurmSettings.get("ssh");
    JSch jsch = new JSch();
    jsch.setKnownHosts(ssh.get("knownHosts").toString());
    Object passphrase = ssh.get("passphrase");
    jsch.addIdentity(
        ssh.get("identityFile").toString(),
        passphrase == null ? null : passphrase.toString().getBytes(StandardCharsets.UTF_8));
    Session s =
        jsch.getSession(
            ssh.get("user").toString(),
            ssh.get("host").toString(),
            ((Number) ssh.get("port")).intValue());
    s.setConfig("StrictHostKeyChecking", "yes");
    s.setConfig("PreferredAuthentications", "publickey");
    s.connect(15_000);
    return new RawSsh(s);
  }

  /** Runs {@code command} in one exec channel and waits for it to end. */
  Result exec(String command) throws Exception {
    ChannelExec ch = (ChannelExec) session.openChannel("exec");
    ch.setCommand(command);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    ch.setErrStream(err);
    ch.setInputStream(null);
    InputStream in = ch.getInputStream();
    ch.connect(15_000);
    byte[] out = in.readAllBytes(); // until the remote side closes stdout
    while (!ch.isClosed()) {
      Thread.sleep(2);
    }
    int exit = ch.getExitStatus();
    ch.disconnect();
    return new Result(
        exit, new String(out, StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** As {@link #exec}, failing on a non-zero exit. */
  String run(String command) throws Exception {
    Result r = exec(command);
    if (r.exit() != 0) {
      throw new IllegalStateException(
          "ssh " + abbreviate(command) + ": exit " + r.exit() + ": " + r.stderr().strip());
    }
    return r.stdout();
  }

  private static String abbreviate(String s) {
    return s.length() <= 120 ? s : s.substring(0, 117) + "...";
  }

  @Override
  public void close() {
    session.disconnect();
  }
}
