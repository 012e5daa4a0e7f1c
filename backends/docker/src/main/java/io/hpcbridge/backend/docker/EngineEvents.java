package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import java.io.Closeable;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One host's {@code die} events of this node's containers, so a pod's start-up moves on when an
 * init container exits, instead of polling. Reconnects with back-off, asking for the events it
 * missed; after each (re)connection every pod on the host is woken, in case an event fell between
 * two streams.
 */
final class EngineEvents implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EngineEvents.class);

  private final DockerHost host;
  private final String nodeName;
  private final Consumer<String> wakePod;
  private final Runnable wakeAll;
  private final ScheduledExecutorService timer;
  private volatile boolean closed;
  private volatile Closeable stream;
  private volatile long lastEventSeconds;
  private int failures;

  EngineEvents(
      DockerHost host,
      String nodeName,
      Consumer<String> wakePod,
      Runnable wakeAll,
      ScheduledExecutorService timer) {
    this.host = host;
    this.nodeName = nodeName;
    this.wakePod = wakePod;
    this.wakeAll = wakeAll;
    this.timer = timer;
  }

  void start() {
    if (closed) {
      return;
    }
    var cmd =
        host.events
            .eventsCmd()
            .withEventTypeFilter(EventType.CONTAINER)
            .withEventFilter("die")
            .withLabelFilter(Map.of(Names.LABEL_NODE, nodeName));
    if (lastEventSeconds > 0) {
      cmd.withSince(Long.toString(lastEventSeconds));
    }
    try {
      cmd.exec(
          new ResultCallback.Adapter<Event>() {
            @Override
            public void onStart(Closeable s) {
              super.onStart(s);
              stream = s;
              log.debug("events of docker host {} connected", host.name());
              synchronized (EngineEvents.this) {
                failures = 0;
              }
              // the daemon answers before it subscribes: what happened meanwhile is caught by
              // waking every pod now and once more a moment later
              wakeAll.run();
              try {
                timer.schedule(wakeAll, 1, TimeUnit.SECONDS);
              } catch (java.util.concurrent.RejectedExecutionException e) {
                // closed
              }
            }

            @Override
            public void onNext(Event e) {
              if (e.getTime() != null) {
                lastEventSeconds = Math.max(lastEventSeconds, e.getTime());
              }
              Map<String, String> attrs =
                  e.getActor() == null ? null : e.getActor().getAttributes();
              String uid = attrs == null ? null : attrs.get(Names.LABEL_POD_UID);
              log.debug(
                  "event {} {} of pod {} on {}", e.getStatus(), e.getAction(), uid, host.name());
              if (uid != null) {
                wakePod.accept(uid);
              }
            }

            @Override
            public void onError(Throwable t) {
              if (!closed) {
                log.debug(
                    "events of docker host {} ended: {}", host.name(), DockerHost.describe(t));
              }
              again();
            }

            @Override
            public void onComplete() {
              again();
            }
          });
    } catch (RuntimeException e) {
      again();
    }
  }

  private void again() {
    if (closed) {
      return;
    }
    long delay;
    synchronized (this) {
      failures++;
      delay = Math.min(30_000L, 500L << Math.min(6, failures - 1));
    }
    try {
      timer.schedule(this::start, delay, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed
    }
  }

  @Override
  public void close() {
    closed = true;
    Closeable s = stream;
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        // closing
      }
    }
  }
}
