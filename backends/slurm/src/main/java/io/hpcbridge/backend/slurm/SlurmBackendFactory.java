package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendFactory;
import io.hpcbridge.backend.slurm.transport.LocalTransport;
import io.hpcbridge.backend.slurm.transport.SshTransport;
import io.hpcbridge.backend.slurm.transport.Transport;

/** {@code backend: slurm}. */
public final class SlurmBackendFactory implements BackendFactory {
  @Override
  public String name() {
    return "slurm";
  }

  @Override
  public Backend create(BackendContext context) {
    SlurmConfig config = SlurmConfig.parse(context.settings());
    Transport t =
        config.transport().equals("ssh")
            ? new SshTransport(config.ssh(), config.commandTimeout())
            : new LocalTransport(config.commandTimeout());
    return new SlurmBackend(config, t);
  }
}
