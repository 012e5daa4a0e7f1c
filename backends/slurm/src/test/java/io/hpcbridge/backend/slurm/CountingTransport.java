package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A transport that counts the remote calls made through it (commands and file writes). */
final class CountingTransport implements Transport {
  private final Transport delegate;
  final AtomicLong calls = new AtomicLong();

  CountingTransport(Transport delegate) {
    this.delegate = delegate;
  }

  @Override
  public Result exec(String script, byte[] stdin) throws BackendException.Transient {
    calls.incrementAndGet();
    return delegate.exec(script, stdin);
  }

  @Override
  public Result exec(String script, byte[] stdin, Lane lane) throws BackendException.Transient {
    calls.incrementAndGet();
    return delegate.exec(script, stdin, lane);
  }

  @Override
  public int maxOutput() {
    return delegate.maxOutput();
  }

  @Override
  public void write(List<FileWrite> files) throws BackendException.Transient {
    calls.incrementAndGet();
    delegate.write(files);
  }

  @Override
  public void replace(String base, List<FileWrite> files) throws BackendException {
    calls.incrementAndGet();
    delegate.replace(base, files);
  }

  @Override
  public String describe() {
    return delegate.describe();
  }

  @Override
  public void close() {
    delegate.close();
  }
}
