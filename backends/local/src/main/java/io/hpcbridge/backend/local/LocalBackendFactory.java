package io.hpcbridge.backend.local;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendFactory;

/** Creates the {@code local} backend: pods run as process groups on the bridge's machine. */
public final class LocalBackendFactory implements BackendFactory {

  public static final String NAME = "local";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend create(BackendContext context) {
    return new LocalBackend(context, LocalSettings.from(context));
  }
}
