package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.TimestampedLog;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Copies one output stream of a container into its log, line by line. A line longer than {@link
 * TimestampedLog#MAX_LINE_BYTES} is split, so the pump holds at most that much whatever the
 * container writes.
 */
final class LogPump implements Runnable {
  private final InputStream in;
  private final String stream;
  private final LogWriter log;
  private final String container;

  private LogPump(InputStream in, String stream, LogWriter log, String container) {
    this.in = in;
    this.stream = stream;
    this.log = log;
    this.container = container;
  }

  /** Starts a daemon thread pumping {@code in} ({@code stdout} or {@code stderr}) into the log. */
  static Thread start(InputStream in, String stream, LogWriter log, String container) {
    Thread t =
        new Thread(
            null, new LogPump(in, stream, log, container), container + "-" + stream, 256 * 1024);
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Override
  public void run() {
    byte[] buf = new byte[8192];
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    try (in) {
      int n;
      while ((n = in.read(buf)) > 0) {
        int start = 0;
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            if (line.size() == 0) {
              log.write(stream, buf, start, i - start);
            } else {
              line.write(buf, start, i - start);
              flush(line);
            }
            start = i + 1;
          }
        }
        line.write(buf, start, n - start);
        if (line.size() >= TimestampedLog.MAX_LINE_BYTES) {
          byte[] l = line.toByteArray();
          int off = 0;
          while (l.length - off >= TimestampedLog.MAX_LINE_BYTES) {
            log.write(stream, l, off, TimestampedLog.MAX_LINE_BYTES);
            off += TimestampedLog.MAX_LINE_BYTES;
          }
          line.reset();
          line.write(l, off, l.length - off);
        }
      }
    } catch (IOException e) {
      Supervisor.log("reading " + stream + " of " + container + ": " + e);
    }
    if (line.size() > 0) {
      flush(line);
    }
  }

  private void flush(ByteArrayOutputStream line) {
    byte[] l = line.toByteArray();
    log.write(stream, l, 0, l.length);
    line.reset();
  }
}
