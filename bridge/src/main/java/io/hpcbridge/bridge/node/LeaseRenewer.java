package io.hpcbridge.bridge.node;

import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews the node's Lease in {@code kube-node-lease} on its own thread. It never calls the backend:
 * a slow or hung backend makes the node NotReady (through {@link BackendProbe}), never lost.
 */
public final class LeaseRenewer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LeaseRenewer.class);
  static final String NAMESPACE = "kube-node-lease";

  private final KubernetesClient client;
  private final String nodeName;
  private final Duration duration;
  private final Duration interval;
  private final Supplier<String> nodeUid;
  private final ScheduledExecutorService timer;
  private boolean started;

  /**
   * @param nodeUid the Node's UID, the Lease's owner (so the Lease goes with the Node)
   */
  public LeaseRenewer(
      KubernetesClient client,
      String nodeName,
      Duration duration,
      Duration interval,
      Supplier<String> nodeUid) {
    this.client = client;
    this.nodeName = nodeName;
    this.duration = duration;
    this.interval = interval;
    this.nodeUid = nodeUid;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "node-lease");
              t.setDaemon(true);
              return t;
            });
  }

  /** Renews now, then every interval; does nothing once started. */
  public synchronized void start() {
    if (started) {
      return;
    }
    started = true;
    renewSafely();
    timer.scheduleWithFixedDelay(
        this::renewSafely, interval.toMillis(), interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void renewSafely() {
    try {
      renew();
    } catch (RuntimeException e) {
      log.warn("lease renewal failed: {}", e.toString());
    }
  }

  void renew() {
    ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MICROS);
    var leases = client.leases().inNamespace(NAMESPACE);
    Lease lease = leases.withName(nodeName).get();
    int seconds = (int) duration.toSeconds();
    if (lease == null) {
      Lease fresh =
          new LeaseBuilder()
              .withNewMetadata()
              .withName(nodeName)
              .withNamespace(NAMESPACE)
              .withOwnerReferences(owner())
              .endMetadata()
              .withNewSpec()
              .withHolderIdentity(nodeName)
              .withLeaseDurationSeconds(seconds)
              .withRenewTime(now)
              .endSpec()
              .build();
      try {
        leases.resource(fresh).create();
        return;
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409) {
          throw e;
        }
        lease = leases.withName(nodeName).get();
      }
    }
    // A Lease left by an earlier Node of this name would go with that Node: adopt it.
    lease.getMetadata().setOwnerReferences(new ArrayList<>(List.of(owner())));
    lease.getSpec().setRenewTime(now);
    lease.getSpec().setHolderIdentity(nodeName);
    lease.getSpec().setLeaseDurationSeconds(seconds);
    leases.resource(lease).update();
  }

  private OwnerReference owner() {
    return new OwnerReferenceBuilder()
        .withApiVersion("v1")
        .withKind("Node")
        .withName(nodeName)
        .withUid(nodeUid.get())
        .build();
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
