package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.fail;

import com.github.dockerjava.api.model.Container;
import io.hpcbridge.backend.Handle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * The two real Docker engines of the test setup ({@code scripts/dockerd-up.sh}): the first over TLS
 * tcp ({@code DOCKER_HOST_IT}, {@code DOCKER_CERT_PATH_IT}), the second over its unix socket
 * ({@code DOCKER2_HOST_IT}). Read from the environment, else from the {@code docker.env} the script
 * writes. Missing engines skip the tests on a laptop and fail them when {@code CI=true}.
 */
final class DockerEngines {
  private DockerEngines() {}

  static Map<String, String> env() {
    Map<String, String> env = new HashMap<>();
    String dir = System.getenv().getOrDefault("HPC_BRIDGE_IT_DIR", "/tmp/hpc-bridge-it");
    Path file = Path.of(dir, "docker", "docker.env");
    if (Files.isReadable(file)) {
      try {
        for (String line : Files.readAllLines(file)) {
          int i = line.indexOf('=');
          if (i > 0 && !line.startsWith("#")) {
            env.put(line.substring(0, i).trim(), line.substring(i + 1).trim());
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    for (String k :
        List.of(
            "DOCKER_HOST_IT", "DOCKER_CERT_PATH_IT", "DOCKER2_HOST_IT", "DOCKER2_TLS_HOST_IT")) {
      if (System.getenv(k) != null) {
        env.put(k, System.getenv(k));
      }
    }
    return env;
  }

  /** Both engines must be there: skipped locally, a loud failure in CI. */
  static Map<String, String> require() {
    Map<String, String> env = env();
    List<String> missing = new ArrayList<>();
    for (String k : List.of("DOCKER_HOST_IT", "DOCKER_CERT_PATH_IT", "DOCKER2_HOST_IT")) {
      if (env.get(k) == null || env.get(k).isEmpty()) {
        missing.add(k);
      }
    }
    if (!missing.isEmpty()) {
      String msg =
          "Docker engines for the integration tests are missing ("
              + missing
              + " unset); run scripts/dockerd-up.sh and scripts/images.sh, or scripts/test.sh";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        fail(msg);
      }
      Assumptions.abort(msg);
    }
    return env;
  }

  /** Settings for both engines: h1 over TLS, h2 over its unix socket. */
  static Map<String, Object> settings(String placement, Map<String, Object> extra) {
    Map<String, String> env = require();
    Map<String, Object> h1 = new LinkedHashMap<>();
    h1.put("name", "h1");
    h1.put("uri", env.get("DOCKER_HOST_IT"));
    h1.put("tlsCertDir", env.get("DOCKER_CERT_PATH_IT"));
    h1.put("connectTimeout", "2s");
    h1.put("responseTimeout", "20s");
    Map<String, Object> h2 = new LinkedHashMap<>();
    h2.put("name", "h2");
    h2.put("uri", env.get("DOCKER2_HOST_IT"));
    h2.put("connectTimeout", "2s");
    h2.put("responseTimeout", "20s");
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("hosts", List.of(h1, h2));
    s.put("placement", placement);
    s.putAll(extra);
    return s;
  }

  static String uniqueNode() {
    return "it-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static String hostOf(Handle h) {
    return h.id().substring(0, h.id().indexOf('/'));
  }

  /** Every container of a node on a host (for checks and clean-up). */
  static List<Container> containers(DockerHost host, String node) {
    return host.client
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(Map.of(Names.LABEL_NODE, node))
        .exec();
  }

  /** Runs a command in a container; its output. */
  static String exec(DockerHost host, String container, String... cmd) throws Exception {
    String id =
        host.client
            .execCreateCmd(container)
            .withCmd(cmd)
            .withAttachStdout(true)
            .withAttachStderr(true)
            .exec()
            .getId();
    StringBuilder out = new StringBuilder();
    host.client
        .execStartCmd(id)
        .exec(
            new com.github.dockerjava.api.async.ResultCallback.Adapter<
                com.github.dockerjava.api.model.Frame>() {
              @Override
              public void onNext(com.github.dockerjava.api.model.Frame f) {
                out.append(new String(f.getPayload(), java.nio.charset.StandardCharsets.UTF_8));
              }
            })
        .awaitCompletion(30, java.util.concurrent.TimeUnit.SECONDS);
    return out.toString();
  }

  /** Removes everything a test node left on both hosts. */
  static void sweep(DockerSettings settings, String node) {
    for (DockerSettings.HostSettings hs : settings.hosts()) {
      try (DockerHost h = new DockerHost(hs)) {
        for (Container c : containers(h, node)) {
          h.client.removeContainerCmd(c.getId()).withForce(true).withRemoveVolumes(true).exec();
        }
        var vols =
            h.client
                .listVolumesCmd()
                .withFilter("label", List.of(Names.LABEL_NODE + "=" + node))
                .exec()
                .getVolumes();
        if (vols != null) {
          for (var v : vols) {
            h.client.removeVolumeCmd(v.getName()).exec();
          }
        }
      } catch (RuntimeException e) {
        // host down: nothing to sweep there now
      }
    }
  }
}
