package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContract;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.slurm.transport.SshTransport;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backend contract on the real Slurm test cluster, over SSH: each pod a batch job on a compute
 * node, its container run by the cluster's apptainer stand-in (which runs the command as given).
 */
class SlurmBackendContractIT extends BackendContract {
  static SlurmCluster cluster;
  static CountingTransport transport;
  static SlurmBackend backend;
  static final List<SlurmBackend> restarts = new java.util.ArrayList<>();

  @BeforeAll
  static void up() throws Exception {
    cluster = SlurmCluster.start();
    backend = create();
  }

  @AfterAll
  static void down() {
    restarts.forEach(SlurmBackend::close);
    if (backend != null) {
      backend.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /**
   * The contract runs five pods at once; the cluster has four CPUs. Its partition lets jobs that
   * ask for it share CPUs (OverSubscribe=YES), and these pods ask (a default flavor).
   */
  static Map<String, Object> settings() {
    Map<String, Object> s = new LinkedHashMap<>(cluster.settings());
    s.put("flavors", Map.of("shared", Map.of("flags", List.of("--oversubscribe"))));
    s.put("defaultFlavor", "shared");
    return s;
  }

  static SlurmBackend create() {
    SlurmConfig config = SlurmConfig.parse(settings());
    transport = new CountingTransport(new SshTransport(config.ssh(), config.commandTimeout()));
    return new SlurmBackend(config, transport);
  }

  @Override
  protected Backend backend() {
    return backend;
  }

  @Override
  protected Backend restarted() {
    SlurmConfig config = SlurmConfig.parse(settings());
    SlurmBackend b =
        new SlurmBackend(config, new SshTransport(config.ssh(), config.commandTimeout()));
    restarts.add(b);
    return b;
  }

  @Override
  protected ContainerPlan shell(String name, String script) {
    return Plans.container(name, "busybox:1.36", List.of("/bin/sh", "-c", script), List.of());
  }

  @Override
  protected Handle unknownHandle() {
    return new SlurmHandle("999999", UUID.randomUUID().toString()).handle();
  }

  @Override
  protected long remoteCalls() {
    return transport.calls.get();
  }

  @Override
  protected Duration patience() {
    return Duration.ofSeconds(120); // Slurm schedules every 5 s; a compute node may be busy
  }
}
