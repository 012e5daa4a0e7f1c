package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendFactory;

/** Creates the docker backend ({@code backend: docker}). */
public final class DockerBackendFactory implements BackendFactory {
  @Override
  public String name() {
    return DockerBackend.NAME;
  }

  @Override
  public Backend create(BackendContext context) {
    return new DockerBackend(
        context.nodeName(), context.dataDir(), DockerSettings.parse(context.settings()));
  }
}
