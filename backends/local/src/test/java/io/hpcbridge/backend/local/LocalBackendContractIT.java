package io.hpcbridge.backend.local;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContract;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/** The backend contract on real local processes. */
class LocalBackendContractIT extends BackendContract {

  @TempDir static Path dir;
  static Backend backend;

  @BeforeAll
  static void start() {
    backend = TestPods.backend(dir);
  }

  @AfterAll
  static void stop() {
    backend.close();
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
    return TestPods.backend(dir);
  }

  @Override
  protected ContainerPlan shell(String name, String script) {
    return TestPods.sh(name, script);
  }

  @Override
  protected Handle unknownHandle() {
    return new Handle("local", UUID.randomUUID().toString());
  }

  @Override
  protected long remoteCalls() {
    return 0; // files on this machine only
  }
}
