package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.command.PullImageResultCallback;
import com.github.dockerjava.api.exception.NotFoundException;
import io.hpcbridge.backend.ContainerPlan;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes images present on a host as the pull policy says, like the kubelet: a failed pull shows as
 * {@code ErrImagePull}, then {@code ImagePullBackOff} while each container waits for its own next
 * attempt (10 s doubling to 5 min), however often the pod is looked at. A pull takes a place in its
 * namespace's share of the host's stream connections ({@link StreamQuota}); while the share is
 * full, or every stream connection is in use, the container waits ({@code ContainerCreating}, with
 * the reason) and is tried again a few seconds later, without counting as a failed pull.
 */
final class ImagePuller {
  private static final Logger log = LoggerFactory.getLogger(ImagePuller.class);

  /** How soon a pull that waited for its turn is tried again. */
  static final long QUEUED_RETRY_MILLIS = 3_000;

  private final Duration pullTimeout;
  private final StreamQuota quota;
  private final Map<String, BackOff> backOffs = new ConcurrentHashMap<>();

  ImagePuller(Duration pullTimeout, StreamQuota quota) {
    this.pullTimeout = pullTimeout;
    this.quota = quota;
  }

  /** An image that could not be made present; {@code reason} is the kubelet's. */
  static class PullFailure extends Exception {
    final String reason;

    PullFailure(String reason, String message) {
      super(message);
      this.reason = reason;
    }
  }

  /** The pull has not been tried: it waits for its turn (not a failure of the image). */
  static final class PullQueued extends PullFailure {
    PullQueued(String message) {
      super("ContainerCreating", message);
    }
  }

  /** A container's failed pulls: how many, what to show, when to try again. */
  private record BackOff(int failures, PodStatusMapper.Waiting waiting, long dueNanos) {}

  /**
   * The outcome for one container: the image, or why it is not there and in how many milliseconds
   * to try again.
   */
  record Outcome(InspectImageResponse image, PodStatusMapper.Waiting waiting, long retryMillis) {
    static final Outcome DEFERRED = new Outcome(null, null, 0);

    boolean present() {
      return image != null;
    }

    /** The image must be pulled, and the caller may not wait for a pull now. */
    boolean deferred() {
      return image == null && waiting == null;
    }
  }

  /**
   * Pulls the image of container {@code c} of pod {@code uid} unless it waits for its back-off.
   * With {@code mayPull} false, only an image already present is returned; one that must be pulled
   * is {@link Outcome#deferred()}.
   */
  Outcome pull(DockerHost host, String namespace, String uid, ContainerPlan c, boolean mayPull) {
    String key = uid + "/" + c.name();
    long now = System.nanoTime();
    BackOff b = backOffs.get(key);
    if (b != null && now - b.dueNanos() < 0) {
      return new Outcome(null, b.waiting(), TimeUnit.NANOSECONDS.toMillis(b.dueNanos() - now) + 1);
    }
    if (!mayPull && !"Never".equals(c.imagePullPolicy())) {
      InspectImageResponse present =
          "Always".equals(c.imagePullPolicy())
              ? null
              : inspect(host, ContainerSpecs.normalizeImage(c.image()));
      return present == null ? Outcome.DEFERRED : new Outcome(present, null, 0);
    }
    try {
      InspectImageResponse image = ensure(host, namespace, c.image(), c.imagePullPolicy());
      backOffs.remove(key);
      return new Outcome(image, null, 0);
    } catch (PullQueued q) {
      return new Outcome(
          null, new PodStatusMapper.Waiting(q.reason, q.getMessage()), QUEUED_RETRY_MILLIS);
    } catch (PullFailure f) {
      int n = b == null ? 1 : b.failures() + 1;
      String reason = n == 1 || !"ErrImagePull".equals(f.reason) ? f.reason : "ImagePullBackOff";
      String msg =
          n == 1
              ? f.getMessage()
              : "Back-off pulling image \"" + c.image() + "\": " + f.getMessage();
      long delay = Math.min(300_000L, 10_000L << Math.min(5, n - 1));
      PodStatusMapper.Waiting w = new PodStatusMapper.Waiting(reason, msg);
      backOffs.put(key, new BackOff(n, w, now + TimeUnit.MILLISECONDS.toNanos(delay)));
      log.info(
          "pod {} container {}: {}; retrying in {} s", uid, c.name(), f.getMessage(), delay / 1000);
      return new Outcome(null, w, delay);
    }
  }

  /** Forgets the back-offs of a pod. */
  void forget(String uid) {
    backOffs.keySet().removeIf(k -> k.startsWith(uid + "/"));
  }

  /**
   * Makes {@code image} present as {@code policy} ({@code Always}, {@code IfNotPresent}, {@code
   * Never}) says and returns what the daemon knows of it. A host that does not answer throws the
   * client's exception, so callers can tell it from a failed pull.
   */
  InspectImageResponse ensure(DockerHost host, String namespace, String image, String policy)
      throws PullFailure {
    String ref = ContainerSpecs.normalizeImage(image);
    InspectImageResponse present = inspect(host, ref);
    switch (policy) {
      case "Never" -> {
        if (present == null) {
          throw new PullFailure(
              "ErrImageNeverPull",
              "Container image \"" + ref + "\" is not present with pull policy of Never");
        }
        return present;
      }
      case "Always" -> {}
      default -> {
        if (present != null) {
          return present;
        }
      }
    }
    StreamQuota.Slot slot = quota.pull(host.name(), namespace);
    if (slot == null) {
      throw new PullQueued(quota.pullsFull(host.name(), namespace));
    }
    try (slot) {
      pullNow(host, ref);
    }
    InspectImageResponse pulled = inspect(host, ref);
    if (pulled == null) {
      throw new PullFailure("ErrImagePull", "image " + ref + " is missing after its pull");
    }
    return pulled;
  }

  private static InspectImageResponse inspect(DockerHost host, String ref) {
    try {
      return host.client.inspectImageCmd(ref).exec();
    } catch (NotFoundException e) {
      return null;
    }
  }

  private void pullNow(DockerHost host, String ref) throws PullFailure {
    try {
      String repo = ref;
      String tag = null;
      if (!ref.contains("@")) {
        int colon = ref.lastIndexOf(':');
        repo = ref.substring(0, colon);
        tag = ref.substring(colon + 1);
      }
      var pull = host.streams.pullImageCmd(repo);
      if (tag != null) {
        pull.withTag(tag);
      }
      Throwable[] failure = new Throwable[1];
      PullImageResultCallback cb =
          new PullImageResultCallback() {
            @Override
            public void onError(Throwable t) {
              // reported as the container's waiting reason, not as a logged stack trace
              failure[0] = t;
              try {
                close();
              } catch (IOException e) {
                // closing a finished pull
              }
            }
          };
      boolean done = pull.exec(cb).awaitCompletion(pullTimeout.toMillis(), TimeUnit.MILLISECONDS);
      if (failure[0] instanceof RuntimeException re) {
        throw re;
      }
      if (failure[0] != null) {
        throw new RuntimeException(failure[0].getMessage(), failure[0]);
      }
      if (!done) {
        cb.close();
        throw new PullFailure("ErrImagePull", "pulling " + ref + " timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PullFailure("ErrImagePull", "interrupted while pulling " + ref);
    } catch (IOException e) {
      throw new PullFailure("ErrImagePull", "pulling " + ref + ": " + e.getMessage());
    } catch (BoundedHttpClient.Busy e) {
      throw new PullQueued("waiting for a connection: " + e.getMessage());
    } catch (RuntimeException e) {
      if (DockerHost.isConnectionFailure(e)) {
        throw e;
      }
      String m = e.getMessage() == null ? e.toString() : e.getMessage().trim();
      throw new PullFailure("ErrImagePull", "failed to pull image \"" + ref + "\": " + m);
    }
  }
}
