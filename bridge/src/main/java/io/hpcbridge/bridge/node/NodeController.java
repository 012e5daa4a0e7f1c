package io.hpcbridge.bridge.node;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeStatus;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendCondition;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.bridge.config.BridgeConfig;
import io.hpcbridge.bridge.status.StatusSynth;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This bridge as a Node: registers (or adopts) it, and runs three independent loops — the {@link
 * LeaseRenewer} (liveness, never touches the backend), the {@link BackendProbe} (the backend's
 * health on its own threads, with its own timeout) and the status writer here (capacity and
 * conditions from the probe's last answer, every status interval and at once when it changes).
 */
public final class NodeController implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeController.class);

  private final KubernetesClient client;
  private final BridgeConfig cfg;
  private final Backend backend;
  private final String hostIP;
  private final int kubeletPort;
  private final ScheduledExecutorService writer;
  private final BackendProbe probe;
  private final LeaseRenewer lease;
  private volatile String nodeUid;

  public NodeController(
      KubernetesClient client, BridgeConfig cfg, Backend backend, String hostIP, int kubeletPort) {
    this.client = client;
    this.cfg = cfg;
    this.backend = backend;
    this.hostIP = hostIP;
    this.kubeletPort = kubeletPort;
    this.writer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "node-status");
              t.setDaemon(true);
              return t;
            });
    BridgeConfig.Node n = cfg.node();
    this.probe =
        new BackendProbe(
            backend,
            n.leaseRenewInterval(),
            n.probeTimeout(),
            () -> {
              if (nodeUid != null) {
                writer.execute(this::writeStatusSafely);
              }
            });
    this.lease =
        new LeaseRenewer(
            client, cfg.nodeName(), n.leaseDuration(), n.leaseRenewInterval(), () -> nodeUid);
  }

  /**
   * Starts the probe, registers (or adopts) the node and starts the loops. The Lease exists before
   * the first status is written, so a node that shows Ready always has a Lease.
   */
  public void start() {
    probe.start();
    register();
    long every = cfg.node().statusUpdateInterval().toMillis();
    writer.scheduleWithFixedDelay(this::updateSafely, every, every, TimeUnit.MILLISECONDS);
  }

  /** The capacity the backend last reported. */
  public Capacity capacity() {
    return probe.health().capacity();
  }

  private void register() {
    Node saved = null;
    // The node lifecycle controller edits an existing node (taints) while we adopt it: a conflict
    // means "read again", not "fail to start".
    for (int attempt = 1; saved == null; attempt++) {
      Node existing = client.nodes().withName(cfg.nodeName()).get();
      Node desired =
          AdvertisedNode.desired(
              existing, cfg.nodeName(), backend.name(), cfg.node().labels(), cfg.node().taint());
      try {
        if (existing == null) {
          saved = client.nodes().resource(desired).create();
          log.info("registered node {}", cfg.nodeName());
        } else {
          saved = client.nodes().resource(desired).update();
          log.info("adopted existing node {}", cfg.nodeName());
        }
      } catch (KubernetesClientException e) {
        if (e.getCode() != 409 || attempt >= 10) {
          throw e;
        }
        log.debug("node {} changed while registering ({}), retrying", cfg.nodeName(), e.getCode());
      }
    }
    nodeUid = saved.getMetadata().getUid();
    lease.start();
    writeStatus();
    for (BackendCondition c : probe.health().conditions()) {
      log.info(
          "node condition {}={} ({}): {}",
          c.type(),
          c.status().toKubernetes(),
          c.reason(),
          c.message());
    }
  }

  private void writeStatus() {
    NodeStatus s =
        AdvertisedNode.status(
            cfg.nodeName(),
            backend.name(),
            hostIP,
            kubeletPort,
            probe.health(),
            StatusSynth.ts(Instant.now()));
    // Keep transition times of conditions whose status did not change.
    Node current = client.nodes().withName(cfg.nodeName()).get();
    if (current != null && current.getStatus() != null) {
      AdvertisedNode.keepTransitionTimes(s.getConditions(), current.getStatus().getConditions());
    }
    client
        .nodes()
        .withName(cfg.nodeName())
        .subresource("status")
        .patch(
            PatchContext.of(PatchType.STRATEGIC_MERGE),
            "{\"status\":" + Serialization.asJson(s) + "}");
  }

  private void writeStatusSafely() {
    try {
      writeStatus();
    } catch (RuntimeException e) {
      log.warn("node status update failed (retried with the next update): {}", e.toString());
    }
  }

  private void updateSafely() {
    try {
      if (client.nodes().withName(cfg.nodeName()).get() == null) {
        register(); // someone deleted the node: register it again
      } else {
        writeStatus();
      }
    } catch (RuntimeException e) {
      log.warn("node status update failed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    lease.close();
    probe.close();
    writer.shutdownNow();
  }
}
