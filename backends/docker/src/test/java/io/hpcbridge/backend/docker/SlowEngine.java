package io.hpcbridge.backend.docker;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real Docker engine behind a unix-socket proxy that holds back the requests containing a given
 * text (e.g. one container's inspect) for a while: an engine slow for one container only, as when
 * the daemon waits on that container's lock.
 */
final class SlowEngine implements AutoCloseable {
  final Path socket;
  private final Path upstream;
  private final ServerSocketChannel server;
  private final List<SocketChannel> open = new CopyOnWriteArrayList<>();
  private volatile String marker;
  private volatile Duration delay = Duration.ZERO;

  SlowEngine(Path upstream) throws IOException {
    this.upstream = upstream;
    this.socket = Files.createTempDirectory("hpcb-slow").resolve("docker.sock");
    this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    Thread accept = new Thread(this::accept, "slow-engine-accept");
    accept.setDaemon(true);
    accept.start();
  }

  /** From now on, requests containing {@code text} wait {@code d} before they reach the engine. */
  void slow(String text, Duration d) {
    delay = d;
    marker = text;
  }

  private void accept() {
    while (server.isOpen()) {
      try {
        SocketChannel client = server.accept();
        SocketChannel up = SocketChannel.open(UnixDomainSocketAddress.of(upstream));
        open.add(client);
        open.add(up);
        pump(client, up, true);
        pump(up, client, false);
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void pump(SocketChannel from, SocketChannel to, boolean requests) {
    Thread t =
        new Thread(
            () -> {
              ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
              try {
                while (from.read(buf) >= 0) {
                  buf.flip();
                  String m = marker;
                  if (requests && m != null) {
                    String chunk =
                        new String(
                            buf.array(),
                            buf.position(),
                            buf.remaining(),
                            StandardCharsets.ISO_8859_1);
                    if (chunk.contains(m)) {
                      Thread.sleep(delay.toMillis());
                    }
                  }
                  while (buf.hasRemaining()) {
                    to.write(buf);
                  }
                  buf.clear();
                }
              } catch (IOException | InterruptedException e) {
                // one side closed
              } finally {
                try {
                  to.shutdownOutput();
                } catch (IOException e) {
                  // closed already
                }
              }
            },
            "slow-engine-pump");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (SocketChannel c : open) {
      c.close();
    }
    Files.deleteIfExists(socket);
  }
}
