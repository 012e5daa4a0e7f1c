package io.hpcbridge.bridge.it;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The real control plane the integration tests use (etcd, kube-apiserver, kube-scheduler,
 * kube-controller-manager, built from Debian's kubernetes source). {@code scripts/test.sh} starts it
 * and exports {@code KUBE_DIR_IT}; without that the fixture starts {@code scripts/kube-up.sh}
 * itself. When it cannot get a working API server it fails — it never skips.
 */
final class KubeControlPlane {
  private static KubeControlPlane instance;

  private final Path dir;
  private final Path kubeconfig;
  private final String kubectl;
  private final KubernetesClient client;
  private Path foreignDir;

  private KubeControlPlane(Path dir, String kubectl) {
    this.dir = dir;
    this.kubeconfig = dir.resolve("admin.kubeconfig");
    this.kubectl = kubectl;
    try {
      this.client = new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(null, Files.readString(kubeconfig), kubeconfig.toString())).build();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + kubeconfig, e);
    }
  }

  static synchronized KubeControlPlane get() throws Exception {
    if (instance == null) {
      instance = start();
      instance.client.namespaces().list(); // fail here, loudly, when the API server does not answer
    }
    return instance;
  }

  private static KubeControlPlane start() throws Exception {
    String envDir = System.getenv("KUBE_DIR_IT");
    Path dir;
    if (envDir != null && Files.isRegularFile(Path.of(envDir, "admin.kubeconfig"))) {
      dir = Path.of(envDir);
    } else {
      Path script = repoRoot().resolve("scripts/kube-up.sh");
      dir = Path.of(envDir != null ? envDir : "/tmp/hpc-bridge-it/kube");
      var r = Shell.run(1800, "bash", script.toString(), dir.toString());
      if (r.exit() != 0) {
        throw new IllegalStateException("could not start the Kubernetes control plane with " + script + ":\n" + r.output());
      }
    }
    String kubectl = System.getenv("KUBECTL");
    if (kubectl == null) {
      kubectl = Files.isExecutable(Path.of("/var/cache/hpc-bridge/kube-1.20/bin/kubectl")) ? "/var/cache/hpc-bridge/kube-1.20/bin/kubectl" : "kubectl";
    }
    return new KubeControlPlane(dir, kubectl);
  }

  static Path repoRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("scripts/kube-up.sh"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("scripts/kube-up.sh not found above " + Path.of("").toAbsolutePath());
    }
    return p;
  }

  KubernetesClient client() {
    return client;
  }

  Path kubeconfig() {
    return kubeconfig;
  }

  /** The cluster CA: it signs the API server's kubelet client certificate. */
  Path caCert() {
    return dir.resolve("pki/ca.crt");
  }

  Path kubeletClientCert() {
    return dir.resolve("pki/kubelet-client.crt");
  }

  Path kubeletClientKey() {
    return dir.resolve("pki/kubelet-client.key");
  }

  /** A client certificate from a CA the cluster does not know. */
  synchronized Path foreignClientCert() throws Exception {
    return foreign().resolve("client.crt");
  }

  synchronized Path foreignClientKey() throws Exception {
    return foreign().resolve("client.key");
  }

  private Path foreign() throws Exception {
    if (foreignDir == null) {
      foreignDir = Files.createTempDirectory("foreign-ca");
      String d = foreignDir.toString();
      for (List<String> cmd :
          List.of(
              List.of("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj", "/CN=foreign-ca"),
              List.of("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/client.key", "-out", d + "/client.csr", "-subj", "/CN=kube-apiserver-kubelet-client/O=system:masters"),
              List.of("openssl", "x509", "-req", "-in", d + "/client.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key", "-CAcreateserial", "-out", d + "/client.crt", "-days", "2"))) {
        var r = Shell.run(60, cmd);
        if (r.exit() != 0) {
          throw new IllegalStateException(String.join(" ", cmd) + ": " + r.output());
        }
      }
    }
    return foreignDir;
  }

  /** Runs kubectl with the admin kubeconfig. */
  Shell.Result kubectl(int timeoutSeconds, String... args) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of(kubectl, "--kubeconfig", kubeconfig.toString()));
    cmd.addAll(List.of(args));
    return Shell.run(timeoutSeconds, cmd);
  }
}
