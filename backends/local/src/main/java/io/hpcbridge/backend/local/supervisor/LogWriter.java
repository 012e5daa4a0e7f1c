package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.TimestampedLog;
import java.io.Closeable;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Appends timestamped lines to the log of one container run; one write per line, so readers see
 * whole lines. A write error stops the log, never the container.
 */
final class LogWriter implements Closeable {
  private final FileOutputStream out;
  private boolean broken;

  LogWriter(Path file) throws IOException {
    Files.createDirectories(file.getParent());
    this.out = new FileOutputStream(file.toFile(), true);
  }

  synchronized void write(String stream, byte[] b, int off, int len) {
    if (broken) {
      return;
    }
    try {
      out.write(TimestampedLog.line(Instant.now(), stream, b, off, len));
    } catch (IOException e) {
      broken = true;
      Supervisor.log("cannot write a log line: " + e);
    }
  }

  /** Appends one stderr line to a run's log, e.g. why it could not start. */
  static void append(Path file, String message) {
    try (LogWriter w = new LogWriter(file)) {
      byte[] m = message.getBytes(StandardCharsets.UTF_8);
      w.write("stderr", m, 0, m.length);
    } catch (IOException e) {
      Supervisor.log("cannot write " + file + ": " + e);
    }
  }

  @Override
  public synchronized void close() {
    try {
      out.close();
    } catch (IOException e) {
      // nothing to do
    }
  }
}
