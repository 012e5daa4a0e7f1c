package io.hpcbridge.bridge.it;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The real Kubernetes 1.20 control plane (etcd, kube-apiserver, kube-scheduler,
 * kube-controller-manager) that integration tests run against.
 *
 * <p>{@code scripts/test.sh} starts it and passes {@code KUBECONFIG_IT}, {@code KUBE_DIR_IT} and
 * {@code KUBECTL}. Without those variables (a test started from an IDE, or plain {@code ./mvnw
 * verify}), the fixture runs {@code scripts/kube-up.sh} itself into {@code $KUBE_DIR} or {@code
 * /tmp/hpc-bridge-it/kube}: it reuses a control plane already running there (start one with {@code
 * scripts/kube-up.sh} for quick repeated runs), otherwise starts one and stops it when the JVM
 * exits. If no working apiserver can be had, tests fail when {@code CI=true} and are aborted
 * (skipped) otherwise.
 *
 * <p>One instance per JVM: {@link #get()}. Call it from {@code @BeforeEach} (or a test), not
 * {@code @BeforeAll}: failsafe reports an abort in {@code @BeforeAll} as an error, one in a test as
 * skipped.
 */
public final class KubeControlPlane {

  private static final Duration START_TIMEOUT = Duration.ofMinutes(20); // includes a first build
  private static final Duration KUBECTL_TIMEOUT = Duration.ofSeconds(60);
  private static final String DEFAULT_DIR = "/tmp/hpc-bridge-it/kube";

  private static KubeControlPlane instance;
  private static RuntimeException startFailure;

  private final Path dir;
  private final Path kubeconfig;
  private final Path kubectl;
  private final String apiServerUrl;
  private final KubernetesClient client;

  /** The result of a kubectl run. */
  public record KubectlResult(int exitCode, String stdout, String stderr) {
    public boolean ok() {
      return exitCode == 0;
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
    }
  }

  private KubeControlPlane(Path dir, Path kubeconfig, Path kubectl) {
    this.dir = dir;
    this.kubeconfig = kubeconfig;
    this.kubectl = kubectl;
    Config config = Config.fromKubeconfig(kubeconfig.toFile());
    this.apiServerUrl = config.getMasterUrl();
    this.client = new KubernetesClientBuilder().withConfig(config).build();
  }

  /**
   * The control plane of this JVM, started on first use. Fails the calling test when it cannot be
   * reached and {@code CI=true}; aborts it otherwise.
   */
  public static synchronized KubeControlPlane get() {
    if (instance != null) {
      return instance;
    }
    if (startFailure == null) {
      try {
        instance = connect();
        return instance;
      } catch (RuntimeException e) {
        startFailure = e;
      }
    }
    String message =
        "no Kubernetes control plane for the integration tests: " + startFailure.getMessage();
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new IllegalStateException(message, startFailure);
    }
    Assumptions.abort(message + " (run the tests with scripts/test.sh)");
    throw new AssertionError("unreachable");
  }

  /** The admin client (cluster-admin rights). Shared: do not close it. */
  public KubernetesClient client() {
    return client;
  }

  /** A new admin client the caller closes, e.g. one with its own settings. */
  public KubernetesClient newClient() {
    return new KubernetesClientBuilder()
        .withConfig(Config.fromKubeconfig(kubeconfig.toFile()))
        .build();
  }

  /** The admin kubeconfig (certificates inline). */
  public Path kubeconfig() {
    return kubeconfig;
  }

  /** The directory of the control plane: pki/, logs/, kube.env. */
  public Path dir() {
    return dir;
  }

  /** The apiserver's URL, e.g. {@code https://127.0.0.1:6443}. */
  public String apiServerUrl() {
    return apiServerUrl;
  }

  /**
   * The cluster CA certificate (PEM). It signed the apiserver's client certificate towards
   * kubelets, so it is the client CA a kubelet API must trust.
   */
  public Path caCert() {
    return dir.resolve("pki/ca.crt");
  }

  /** The cluster CA's private key (PEM), to sign certificates in tests. */
  public Path caKey() {
    return dir.resolve("pki/ca.key");
  }

  /** The kubectl binary that matches the control plane. */
  public Path kubectlPath() {
    return kubectl;
  }

  /** Runs kubectl with the admin kubeconfig (60 s limit). */
  public KubectlResult kubectl(String... args) {
    return kubectl(null, KUBECTL_TIMEOUT, args);
  }

  /** Runs kubectl with {@code stdin} as its standard input (e.g. {@code apply -f -}). */
  public KubectlResult kubectlWithInput(String stdin, String... args) {
    return kubectl(stdin, KUBECTL_TIMEOUT, args);
  }

  /** Runs kubectl; a run over {@code timeout} is killed and reported with exit code -1. */
  public KubectlResult kubectl(String stdin, Duration timeout, String... args) {
    ProcessBuilder pb = kubectlCommand(args);
    try {
      Process p = pb.start();
      CompletableFuture<String> out = readAsync(p.getInputStream());
      CompletableFuture<String> err = readAsync(p.getErrorStream());
      try (var in = p.getOutputStream()) {
        if (stdin != null) {
          in.write(stdin.getBytes(StandardCharsets.UTF_8));
        }
      }
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor();
        return new KubectlResult(-1, out.join(), err.join() + "\n(killed after " + timeout + ")");
      }
      return new KubectlResult(p.exitValue(), out.join(), err.join());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running kubectl", e);
    }
  }

  /**
   * A kubectl command line with the admin kubeconfig, for callers that need the live process (e.g.
   * {@code logs -f}).
   */
  public ProcessBuilder kubectlCommand(String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(kubectl.toString());
    cmd.add("--kubeconfig=" + kubeconfig);
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd);
  }

  /** Runs kubectl with the admin kubeconfig and a time limit. */
  public KubectlResult kubectl(int timeoutSeconds, String... args) {
    return kubectl(null, Duration.ofSeconds(timeoutSeconds), args);
  }

  /** The API server's client certificate towards kubelets (signed by the cluster CA). */
  public Path kubeletClientCert() {
    return dir.resolve("pki/kubelet-client.crt");
  }

  public Path kubeletClientKey() {
    return dir.resolve("pki/kubelet-client.key");
  }

  private Path foreignDir;

  /** A client certificate from a CA the cluster does not know. */
  public synchronized Path foreignClientCert() throws Exception {
    return foreign().resolve("client.crt");
  }

  public synchronized Path foreignClientKey() throws Exception {
    return foreign().resolve("client.key");
  }

  private Path foreign() throws Exception {
    if (foreignDir == null) {
      foreignDir = Files.createTempDirectory("foreign-ca");
      String d = foreignDir.toString();
      for (List<String> cmd :
          List.of(
              List.of(
                  "openssl",
                  "req",
                  "-x509",
                  "-newkey",
                  "rsa:2048",
                  "-nodes",
                  "-keyout",
                  d + "/ca.key",
                  "-out",
                  d + "/ca.crt",
                  "-days",
                  "2",
                  "-subj",
                  "/CN=foreign-ca"),
              List.of(
                  "openssl",
                  "req",
                  "-newkey",
                  "rsa:2048",
                  "-nodes",
                  "-keyout",
                  d + "/client.key",
                  "-out",
                  d + "/client.csr",
                  "-subj",
                  "/CN=kube-apiserver-kubelet-client/O=system:masters"),
              List.of(
                  "openssl",
                  "x509",
                  "-req",
                  "-in",
                  d + "/client.csr",
                  "-CA",
                  d + "/ca.crt",
                  "-CAkey",
                  d + "/ca.key",
                  "-CAcreateserial",
                  "-out",
                  d + "/client.crt",
                  "-days",
                  "2"))) {
        var r = Shell.run(60, cmd);
        if (r.exit() != 0) {
          throw new IllegalStateException(String.join(" ", cmd) + ": " + r.output());
        }
      }
    }
    return foreignDir;
  }

  /**
   * A client certificate (and key, same name with .key) signed by the cluster CA for {@code
   * subject}, e.g. {@code /CN=intruder/O=students}: authenticated, but allowed only what RBAC
   * grants that user.
   */
  public synchronized Path clusterClientCert(String subject) throws Exception {
    Path d = Files.createTempDirectory("cluster-client");
    String key = d.resolve("client.key").toString();
    String csr = d.resolve("client.csr").toString();
    String crt = d.resolve("client.crt").toString();
    for (List<String> cmd :
        List.of(
            List.of(
                "openssl",
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                key,
                "-out",
                csr,
                "-subj",
                subject),
            List.of(
                "openssl",
                "x509",
                "-req",
                "-in",
                csr,
                "-CA",
                caCert().toString(),
                "-CAkey",
                caKey().toString(),
                "-CAcreateserial",
                "-out",
                crt,
                "-days",
                "2"))) {
      var r = Shell.run(60, cmd);
      if (r.exit() != 0) {
        throw new IllegalStateException(String.join(" ", cmd) + ": " + r.output());
      }
    }
    return Path.of(crt);
  }

  // --- start-up ---------------------------------------------------------------------------

  private static KubeControlPlane connect() {
    String kubeconfigEnv = System.getenv("KUBECONFIG_IT");
    if (kubeconfigEnv != null && !kubeconfigEnv.isBlank()) {
      Path kubeconfig = Paths.get(kubeconfigEnv);
      Path dir = envPath("KUBE_DIR_IT").orElse(kubeconfig.toAbsolutePath().getParent());
      Map<String, String> env = readEnvFile(dir.resolve("kube.env"));
      Path kubectl = envPath("KUBECTL").orElse(kubectlFrom(env));
      return checked(new KubeControlPlane(dir, kubeconfig, kubectl), "KUBECONFIG_IT=" + kubeconfig);
    }

    Path dir = envPath("KUBE_DIR").orElse(Paths.get(DEFAULT_DIR));
    KubeControlPlane running = tryExisting(dir);
    if (running != null) {
      return running;
    }
    Path repo = repoRoot();
    Path kubeconfig = runScript(repo.resolve("scripts/kube-up.sh"), dir);
    Map<String, String> env = readEnvFile(dir.resolve("kube.env"));
    KubeControlPlane started = new KubeControlPlane(dir, kubeconfig, kubectlFrom(env));
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  started.client.close();
                  try {
                    runScript(repo.resolve("scripts/kube-down.sh"), dir);
                  } catch (RuntimeException e) {
                    System.err.println("stopping the Kubernetes control plane: " + e.getMessage());
                  }
                },
                "kube-down"));
    return checked(started, dir.toString());
  }

  /** A control plane already running in {@code dir}, or null. */
  private static KubeControlPlane tryExisting(Path dir) {
    Path kubeconfig = dir.resolve("admin.kubeconfig");
    Map<String, String> env = readEnvFile(dir.resolve("kube.env"));
    if (!Files.isRegularFile(kubeconfig) || env.isEmpty()) {
      return null;
    }
    KubeControlPlane candidate;
    try {
      candidate = new KubeControlPlane(dir, kubeconfig, kubectlFrom(env));
    } catch (RuntimeException e) {
      return null;
    }
    try {
      candidate.client.namespaces().withName("default").get();
      return candidate;
    } catch (RuntimeException e) {
      candidate.client.close();
      return null;
    }
  }

  private static KubeControlPlane checked(KubeControlPlane cp, String where) {
    RuntimeException[] last = {null};
    try {
      org.awaitility.Awaitility.await("apiserver of " + where)
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofSeconds(1))
          .until(
              () -> {
                try {
                  return cp.client.namespaces().withName("default").get() != null;
                } catch (RuntimeException e) {
                  last[0] = e;
                  return false;
                }
              });
      return cp;
    } catch (org.awaitility.core.ConditionTimeoutException timeout) {
      // reported below
    }
    cp.client.close();
    throw new IllegalStateException(
        "the apiserver of "
            + where
            + " does not answer"
            + (last[0] == null ? "" : ": " + last[0].getMessage()),
        last[0]);
  }

  private static Path runScript(Path script, Path dir) {
    if (!Files.isRegularFile(script)) {
      throw new IllegalStateException(script + " not found");
    }
    try {
      Path log = Files.createTempFile("hpc-bridge-" + script.getFileName(), ".log");
      Process p =
          new ProcessBuilder("bash", script.toString(), dir.toString())
              .redirectError(log.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      CompletableFuture<String> out = readAsync(p.getInputStream());
      if (!p.waitFor(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException(
            script.getFileName() + " did not finish in " + START_TIMEOUT);
      }
      String stdout = out.join().strip();
      String stderr = Files.readString(log).strip();
      Files.deleteIfExists(log);
      if (p.exitValue() != 0) {
        throw new IllegalStateException(
            script.getFileName() + " failed (exit " + p.exitValue() + "): " + lastLine(stderr));
      }
      return stdout.isEmpty() ? null : Paths.get(lastLine(stdout));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + script, e);
    }
  }

  /** The nearest directory at or above the working directory that holds scripts/kube-up.sh. */
  private static Path repoRoot() {
    Path p = Paths.get("").toAbsolutePath();
    for (; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("scripts/kube-up.sh"))) {
        return p;
      }
    }
    throw new IllegalStateException(
        "scripts/kube-up.sh not found above " + Paths.get("").toAbsolutePath());
  }

  private static Path kubectlFrom(Map<String, String> env) {
    String k = env.get("KUBECTL");
    return Paths.get(k != null ? k : "kubectl");
  }

  private static Optional<Path> envPath(String name) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? Optional.empty() : Optional.of(Paths.get(v));
  }

  /** KEY=VALUE lines as kube-up.sh writes them; empty when the file is missing. */
  private static Map<String, String> readEnvFile(Path file) {
    Map<String, String> env = new HashMap<>();
    if (!Files.isRegularFile(file)) {
      return env;
    }
    try {
      for (String line : Files.readAllLines(file)) {
        int eq = line.indexOf('=');
        if (eq > 0 && !line.startsWith("#")) {
          env.put(line.substring(0, eq).trim(), line.substring(eq + 1).trim());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return env;
  }

  /** Reads a stream to its end on a thread of its own (a pool thread could starve). */
  private static CompletableFuture<String> readAsync(InputStream in) {
    CompletableFuture<String> result = new CompletableFuture<>();
    Thread t =
        new Thread(
            () -> {
              try (in) {
                result.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
              } catch (IOException e) {
                result.completeExceptionally(new UncheckedIOException(e));
              }
            },
            "kubectl-output");
    t.setDaemon(true);
    t.start();
    return result;
  }

  private static String lastLine(String s) {
    int nl = s.lastIndexOf('\n');
    return nl < 0 ? s : s.substring(nl + 1);
  }
}
