package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContract;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The backend contract on the two real Docker engines of the test setup. */
class DockerBackendContractIT extends BackendContract {

  @TempDir static Path dir;
  static String node;
  static DockerSettings settings;
  static DockerBackend backend;
  static final List<DockerBackend> restarted = new ArrayList<>();

  @BeforeAll
  static void start() {
    node = DockerEngines.uniqueNode();
    settings = DockerSettings.parse(DockerEngines.settings("spread", Map.of()));
    backend = new DockerBackend(node, dir, settings);
  }

  @AfterAll
  static void stop() {
    if (backend == null) {
      return; // engines missing
    }
    backend.close();
    restarted.forEach(DockerBackend::close);
    DockerEngines.sweep(settings, node);
  }

  @Override
  protected boolean reportsChanges() {
    return true;
  }

  @Override
  protected Backend backend() {
    return backend;
  }

  @Override
  protected Backend restarted() {
    DockerBackend b = new DockerBackend(node, dir, settings);
    restarted.add(b);
    return b;
  }

  @Override
  protected ContainerPlan shell(String name, String script) {
    return Plans.sh(name, script);
  }

  @Override
  protected Handle unknownHandle() {
    return DockerHosts.handle("h1", UUID.randomUUID().toString());
  }

  /** The engine requests observe made (lists and inspects). */
  @Override
  protected long remoteCalls() {
    return backend.observeRequests();
  }
}
