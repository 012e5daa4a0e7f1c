package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A container's log ({@code c/NAME/log} in the pod's directory, written by the wrapper), filtered
 * by the kubelet's options; {@code follow} streams new lines until the container's exit file
 * appears.
 */
final class PodLogs {
  private static final Logger LOG = LoggerFactory.getLogger(PodLogs.class);
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

  private final LoginNode login;

  PodLogs(LoginNode login) {
    this.login = login;
  }

  InputStream logs(Handle handle, String container, LogOptions options) throws BackendException {
    SlurmHandle i = SlurmHandle.of(handle);
    if (!LABEL.matcher(container).matches()) {
      throw new BackendException.NotFound("no container " + container);
    }
    Transport transport = login.transport();
    String cdir = login.podDir(i.uid()) + "/c/" + container;
    String path = cdir + (options.previous() ? "/previous.log" : "/log");
    long size = transport.size(path);
    if (size < 0 && transport.size(cdir) < 0 && transport.size(cdir + "/exit") < 0) {
      if (transport.size(login.podDir(i.uid()) + "/manifest") < 0) {
        throw new BackendException.NotFound("no pod directory for " + handle);
      }
    }
    Instant now = Instant.now();
    long start = 0;
    List<String> lines = new ArrayList<>();
    if (size > 0) {
      long window =
          options.tailLines() == null
              ? size
              : Math.min(size, Math.max(65536L, options.tailLines() * 256L));
      while (true) {
        start = size - window;
        String text = readString(path, start, size);
        List<String> l = LogFormat.lines(text);
        if (start > 0 && !l.isEmpty()) {
          l = l.subList(1, l.size()); // the first line may be cut
        }
        if (start == 0 || options.tailLines() == null || l.size() >= options.tailLines()) {
          lines = l;
          int consumed = text.lastIndexOf('\n') + 1;
          start = start + text.substring(0, consumed).getBytes(StandardCharsets.UTF_8).length;
          break;
        }
        window = Math.min(size, window * 4);
      }
    }
    byte[] first = LogFormat.render(lines, options, now);
    if (!options.follow()
        || (options.limitBytes() != null && first.length >= options.limitBytes())) {
      return new ByteArrayInputStream(first);
    }
    return follow(path, cdir + "/exit", start, first, options);
  }

  private String readString(String path, long from, long to) throws BackendException {
    try (InputStream in = login.transport().read(path, from)) {
      return new String(
          in.readNBytes((int) Math.min(Integer.MAX_VALUE, to - from)), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new BackendException.Transient("reading " + path + ": " + e.getMessage(), e);
    }
  }

  /** Streams new lines every second until the container's exit file appears and all is read. */
  private InputStream follow(String path, String exitPath, long offset, byte[] first, LogOptions o)
      throws BackendException {
    Transport transport = login.transport();
    PipedInputStream in = new PipedInputStream(65536);
    PipedOutputStream out;
    try {
      out = new PipedOutputStream(in);
    } catch (IOException e) {
      throw new BackendException.Transient(e.getMessage(), e);
    }
    Thread t =
        new Thread(
            () -> {
              long pos = offset;
              long sent = 0;
              try (out) {
                out.write(first);
                out.flush();
                sent += first.length;
                LogOptions rest =
                    new LogOptions(false, null, o.timestamps(), null, null, null, false);
                while (true) {
                  boolean exited = transport.size(exitPath) >= 0;
                  long size = transport.size(path);
                  if (size > pos) {
                    String text = readString(path, pos, size);
                    int consumed = text.lastIndexOf('\n') + 1;
                    if (consumed > 0) {
                      byte[] b =
                          LogFormat.render(
                              LogFormat.lines(text.substring(0, consumed)), rest, Instant.now());
                      if (o.limitBytes() != null && sent + b.length > o.limitBytes()) {
                        out.write(b, 0, (int) (o.limitBytes() - sent));
                        return;
                      }
                      out.write(b);
                      out.flush();
                      sent += b.length;
                      pos += text.substring(0, consumed).getBytes(StandardCharsets.UTF_8).length;
                    }
                  } else if (size >= 0 && size < pos) {
                    pos = 0; // rotated by a restart
                  }
                  if (exited && transport.size(path) <= pos) {
                    return;
                  }
                  Thread.sleep(1000);
                }
              } catch (IOException e) {
                // reader went away
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (BackendException e) {
                LOG.warn("Following {} stopped: {}", path, e.getMessage());
              }
            },
            "slurm-log-follow");
    t.setDaemon(true);
    t.start();
    return in;
  }
}
