package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A transport that counts the remote calls made through it (commands, file reads and writes). */
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
  public void write(List<FileWrite> files) throws BackendException.Transient {
    calls.incrementAndGet();
    delegate.write(files);
  }

  @Override
  public InputStream read(String path, long offset)
      throws BackendException.Transient, BackendException.NotFound {
    calls.incrementAndGet();
    return delegate.read(path, offset);
  }

  @Override
  public long size(String path) throws BackendException.Transient {
    calls.incrementAndGet();
    return delegate.size(path);
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
