package io.hpcbridge.backend.slurm;

import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Volume;
import com.jcraft.jsch.JSch;
import com.jcraft.jsch.KeyPair;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.images.builder.Transferable;

/**
 * A real Slurm cluster in containers: {@code ctl} (slurmctld), {@code c1} and {@code c2} (slurmd,
 * with the apptainer shim), {@code login} (sshd), sharing a munge key and a {@code /home} volume.
 * The bridge's account is {@code hpc}; {@code other} is a second account on every host. The image
 * is built from src/test/resources/slurm-cluster once and reused while those files are unchanged.
 * Without Docker or the {@code debian:bookworm} base image the tests are skipped, or fail when
 * {@code CI=true}. Public (and shipped in this module's test-jar) so the bridge's integration tests
 * run the real bridge against the same cluster.
 */
public final class SlurmCluster implements AutoCloseable {
  static final String BASE_IMAGE = "debian:bookworm";
  static final String PASSPHRASE = "itest passphrase";
  static final List<String> FILES =
      List.of("Dockerfile", "slurm.conf", "sshd_config", "start.sh", "apptainer-shim");

  final Network network = Network.newNetwork();
  final String volume = "hpcb-itest-home-" + UUID.randomUUID().toString().substring(0, 8);
  final List<GenericContainer<?>> containers = new ArrayList<>();
  GenericContainer<?> login;
  Path dir;
  Path key;
  Path knownHosts;
  String hostKeyLine;

  static void require(boolean ok, String what) {
    if (ok) {
      return;
    }
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new IllegalStateException(
          "CI=true but "
              + what
              + " (run scripts that start dockerd and make the base image first)");
    }
    Assumptions.abort(what);
  }

  public static SlurmCluster start() throws Exception {
    boolean docker;
    try {
      docker = DockerClientFactory.instance().isDockerAvailable();
    } catch (Throwable t) {
      docker = false;
    }
    require(docker, "no Docker engine is reachable");
    var client = DockerClientFactory.instance().client();
    require(imageExists(BASE_IMAGE), "the base image " + BASE_IMAGE + " is missing");
    SlurmCluster c = new SlurmCluster();
    c.boot();
    return c;
  }

  static boolean imageExists(String name) {
    try {
      DockerClientFactory.instance().client().inspectImageCmd(name).exec();
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  /** Builds the image unless one for exactly these files exists. */
  static String image() throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    Map<String, byte[]> files = new LinkedHashMap<>();
    for (String f : FILES) {
      try (var in = SlurmCluster.class.getResourceAsStream("/slurm-cluster/" + f)) {
        byte[] b = in.readAllBytes();
        files.put(f, b);
        md.update(f.getBytes(StandardCharsets.UTF_8));
        md.update(b);
      }
    }
    String tag = "hpc-bridge/slurm-itest:" + HexFormat.of().formatHex(md.digest()).substring(0, 12);
    if (!imageExists(tag)) {
      long t0 = System.nanoTime();
      ImageFromDockerfile img = new ImageFromDockerfile(tag, false);
      files.forEach(
          (name, bytes) ->
              img.withFileFromTransferable(
                  name, Transferable.of(bytes, name.equals("Dockerfile") ? 0644 : 0755)));
      img.get();
      System.out.printf("Built %s in %.1f s%n", tag, (System.nanoTime() - t0) / 1e9);
    }
    return tag;
  }

  private void boot() throws Exception {
    String image = image();
    dir = Files.createTempDirectory("slurm-itest");
    byte[] munge = new byte[1024];
    new SecureRandom().nextBytes(munge);
    JSch jsch = new JSch();
    KeyPair kp = KeyPair.genKeyPair(jsch, KeyPair.ED25519);
    key = dir.resolve("id_ed25519");
    kp.writeOpenSSHv1PrivateKey(key.toString(), PASSPHRASE.getBytes(StandardCharsets.UTF_8));
    ByteArrayOutputStream pub = new ByteArrayOutputStream();
    kp.writePublicKey(pub, "hpc-bridge-itest");
    for (String name : List.of("ctl", "c1", "c2", "login")) {
      String role = name.equals("ctl") ? "ctl" : name.equals("login") ? "login" : "node";
      GenericContainer<?> g =
          new GenericContainer<>(image)
              .withNetwork(network)
              .withNetworkAliases(name)
              .withCreateContainerCmdModifier(
                  cmd -> {
                    cmd.withHostName(name);
                    cmd.getHostConfig().withBinds(new Bind(volume, new Volume("/home")));
                  })
              .withCopyToContainer(Transferable.of(munge, 0400), "/cfg/munge.key")
              .withCommand(role);
      if (name.equals("login")) {
        g.withCopyToContainer(Transferable.of(pub.toByteArray(), 0644), "/cfg/authorized_keys")
            .withExposedPorts(22);
        login = g;
      }
      containers.add(g);
    }
    for (GenericContainer<?> g : containers) {
      g.start();
    }
    String hostKey =
        login.copyFileFromContainer(
            "/etc/ssh/ssh_host_ed25519_key.pub",
            in -> new String(in.readAllBytes(), StandardCharsets.UTF_8));
    String[] f = hostKey.trim().split("\\s+");
    hostKeyLine = "[" + host() + "]:" + port() + " " + f[0] + " " + f[1] + "\n";
    knownHosts = dir.resolve("known_hosts");
    Files.writeString(knownHosts, hostKeyLine);
    String[] last = {""};
    try {
      org.awaitility.Awaitility.await("Slurm up: two idle nodes")
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(500))
          .until(
              () -> {
                Container.ExecResult r = loginExec("sinfo -h -o '%T %D'");
                last[0] = r.getStdout() + r.getStderr();
                return r.getStdout().trim().equals("idle 2");
              });
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      throw new IllegalStateException("Slurm did not come up: " + last[0], e);
    }
  }

  public String host() {
    return login.getHost();
  }

  public int port() {
    return login.getMappedPort(22);
  }

  /** A command as user hpc on the login node. */
  public Container.ExecResult loginExec(String cmd) throws Exception {
    return loginExecAs("hpc", cmd);
  }

  /**
   * A command as {@code user} ({@code hpc}, or {@code other}: a second account) on the login node.
   */
  public Container.ExecResult loginExecAs(String user, String cmd) throws Exception {
    return login.execInContainer(
        org.testcontainers.containers.ExecConfig.builder()
            .user(user)
            .command(new String[] {"bash", "-lc", "cd ~ && " + cmd})
            .build());
  }

  public Map<String, Object> settings() {
    Map<String, Object> ssh = new LinkedHashMap<>();
    ssh.put("host", host());
    ssh.put("port", port());
    ssh.put("user", "hpc");
    ssh.put("identityFile", key.toString());
    ssh.put("knownHosts", knownHosts.toString());
    ssh.put("passphrase", PASSPHRASE);
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("transport", "ssh");
    s.put("ssh", ssh);
    s.put("workRoot", "~/pods");
    s.put("partition", "debug");
    s.put("runtime", "apptainer");
    s.put("restartBackoff", "1s");
    s.put("capacityRefresh", "1s");
    return s;
  }

  @Override
  public void close() {
    for (GenericContainer<?> g : containers) {
      try {
        g.stop();
      } catch (RuntimeException e) {
        // best effort
      }
    }
    try {
      network.close();
    } catch (RuntimeException e) {
      // best effort
    }
    try {
      DockerClientFactory.instance().client().removeVolumeCmd(volume).exec();
    } catch (RuntimeException e) {
      // best effort
    }
  }
}
