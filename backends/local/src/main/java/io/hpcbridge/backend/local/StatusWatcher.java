package io.hpcbridge.backend.local;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells the bridge when a pod's supervisor wrote something to its directory (its status file is
 * replaced by a rename there), so a pod shows Running a moment after its process started rather
 * than at the next poll. Best effort: a directory that cannot be watched is simply polled.
 */
final class StatusWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StatusWatcher.class);

  private final WatchService watcher;
  private final Map<Path, WatchKey> keys = new ConcurrentHashMap<>();
  private volatile Runnable listener = () -> {};

  StatusWatcher() {
    WatchService w = null;
    try {
      w = FileSystems.getDefault().newWatchService();
    } catch (IOException | UnsupportedOperationException e) {
      LOG.info("local backend: pod directories are polled only ({})", e.toString());
    }
    this.watcher = w;
    if (w != null) {
      Thread t = new Thread(this::loop, "local-status-watch");
      t.setDaemon(true);
      t.start();
    }
  }

  void onChange(Runnable l) {
    listener = l;
  }

  /** Watches a pod directory (again harmless). */
  void watch(Path podDir) {
    if (watcher == null || keys.containsKey(podDir)) {
      return;
    }
    try {
      keys.put(
          podDir,
          podDir.register(
              watcher, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY));
    } catch (IOException | RuntimeException e) {
      LOG.debug("not watching {}: {}", podDir, e.toString());
    }
  }

  void forget(Path podDir) {
    WatchKey k = keys.remove(podDir);
    if (k != null) {
      k.cancel();
    }
  }

  private void loop() {
    try {
      while (true) {
        WatchKey k = watcher.take();
        k.pollEvents();
        k.reset();
        try {
          listener.run();
        } catch (RuntimeException e) {
          LOG.debug("change listener failed: {}", e.toString());
        }
      }
    } catch (InterruptedException | ClosedWatchServiceException e) {
      // closed
    }
  }

  @Override
  public void close() {
    if (watcher != null) {
      try {
        watcher.close();
      } catch (IOException e) {
        LOG.debug("closing the watch service: {}", e.toString());
      }
    }
  }
}
