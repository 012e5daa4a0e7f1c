package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.model.Info;
import io.hpcbridge.backend.BackendCondition;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;

/**
 * The configured Docker hosts: which host a handle names, each host's health (the node condition
 * {@value #HOSTS_CONDITION}) and what they add up to (capacity, ping).
 */
final class DockerHosts implements AutoCloseable {

  /** The node condition type that reports the Docker hosts: True when every host answers. */
  static final String HOSTS_CONDITION = "DockerHostsReachable";

  private final Map<String, DockerHost> hosts = new LinkedHashMap<>();
  private final Executor io;

  DockerHosts(DockerSettings settings, Executor io) {
    this.io = io;
    for (int i = 0; i < settings.hosts().size(); i++) {
      DockerSettings.HostSettings h = settings.hosts().get(i);
      try {
        hosts.put(h.name(), new DockerHost(h));
      } catch (RuntimeException e) {
        close();
        String key =
            DockerSettings.PREFIX
                + "hosts["
                + i
                + "]"
                + (h.tlsCertDir() != null ? ".tlsCertDir" : ".uri");
        throw new IllegalArgumentException(
            key + ": cannot set up a Docker client for " + h.uri() + ": " + DockerHost.describe(e),
            e);
      }
    }
  }

  Collection<DockerHost> all() {
    return hosts.values();
  }

  /** The host of that name, or null when it is not configured (any more). */
  DockerHost get(String name) {
    return hosts.get(name);
  }

  /** A pod on a host, as named by a handle {@code docker:<host>/<pod uid>}. */
  record Target(DockerHost host, String uid) {}

  static Handle handle(String host, String uid) {
    return new Handle(DockerBackend.NAME, host + "/" + uid);
  }

  Target target(Handle h) throws BackendException {
    if (!DockerBackend.NAME.equals(h.backend())) {
      throw new BackendException.NotFound("not a docker handle: " + h);
    }
    int i = h.id().indexOf('/');
    if (i <= 0) {
      throw new BackendException.NotFound("malformed docker handle: " + h);
    }
    DockerHost host = hosts.get(h.id().substring(0, i));
    if (host == null) {
      throw new BackendException.NotFound(
          "docker host " + h.id().substring(0, i) + " is not configured any more");
    }
    return new Target(host, h.id().substring(i + 1));
  }

  /**
   * Each host's data root as it reports it ({@code docker info}), for the hostPath rule; a host not
   * heard from yet is asked now, one that did not answer is left out until it does.
   */
  List<String> dataRoots() {
    List<String> out = new ArrayList<>();
    for (DockerHost h : hosts.values()) {
      Info i = h.info();
      if (i == null && h.reachable()) {
        try {
          i = h.refresh();
        } catch (RuntimeException e) {
          continue; // recorded in the host's health
        }
      }
      if (i != null && i.getDockerRootDir() != null) {
        out.add(i.getDockerRootDir());
      }
    }
    return out;
  }

  /** Per-host health, for node conditions: one entry per configured host, in config order. */
  List<HostHealth> health() {
    return hosts.values().stream().map(DockerHost::health).toList();
  }

  /**
   * One condition, {@value #HOSTS_CONDITION}: {@code True} (reason {@code AllHostsReachable}) when
   * every host answered the last ping, else {@code False} with reason {@code HostUnreachable} and,
   * for each host down, its name, URI, since when and the last error.
   */
  static List<BackendCondition> conditions(List<HostHealth> health) {
    List<HostHealth> down = health.stream().filter(h -> !h.reachable()).toList();
    if (down.isEmpty()) {
      return List.of(
          new BackendCondition(
              HOSTS_CONDITION,
              BackendCondition.Status.TRUE,
              "AllHostsReachable",
              "all " + health.size() + " docker hosts reachable"));
    }
    String detail =
        down.stream()
            .map(
                h ->
                    "docker host "
                        + h.name()
                        + " ("
                        + h.uri()
                        + ") unreachable"
                        + (h.unreachableSince() == null ? "" : " since " + h.unreachableSince())
                        + ": "
                        + (h.message() == null ? "no answer" : h.message()))
            .collect(Collectors.joining("; "));
    return List.of(
        new BackendCondition(
            HOSTS_CONDITION,
            BackendCondition.Status.FALSE,
            "HostUnreachable",
            (health.size() - down.size())
                + " of "
                + health.size()
                + " docker hosts reachable; "
                + detail));
  }

  /** Pings every host at once and refreshes what each reports about itself. */
  void refreshAll() {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    for (DockerHost h : hosts.values()) {
      all.add(
          CompletableFuture.runAsync(
              () -> {
                try {
                  h.refresh();
                } catch (RuntimeException e) {
                  // recorded in the host's health
                }
              },
              io));
    }
    CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
  }

  /** Throws only when no host answers; a single unreachable host shows in {@link #health()}. */
  void ping() throws BackendException {
    refreshAll();
    if (hosts.values().stream().noneMatch(DockerHost::reachable)) {
      throw new BackendException.Transient("no docker host is reachable: " + unreachableSummary());
    }
  }

  /** The sum over reachable hosts; unreachable ones are named in the node info. */
  Capacity capacity() throws BackendException {
    refreshAll();
    long cpu = 0;
    long mem = 0;
    long podsTotal = 0;
    Map<String, String> info = new LinkedHashMap<>();
    List<String> states = new ArrayList<>();
    Info first = null;
    for (DockerHost h : hosts.values()) {
      states.add(h.name() + "=" + (h.reachable() ? "Reachable" : "Unreachable"));
      if (!h.reachable() || h.info() == null) {
        continue;
      }
      Info i = h.info();
      if (first == null) {
        first = i;
      }
      cpu += h.cpuMillis(i);
      mem += h.memoryBytes(i);
      podsTotal += h.settings.maxPods();
    }
    if (first == null) {
      throw new BackendException.Transient("no docker host is reachable: " + unreachableSummary());
    }
    info.put("runtimeVersion", first.getServerVersion());
    if (first.getKernelVersion() != null) {
      info.put("kernelVersion", first.getKernelVersion());
    }
    if (first.getOperatingSystem() != null) {
      info.put("osImage", first.getOperatingSystem());
    }
    if (first.getArchitecture() != null) {
      info.put("architecture", first.getArchitecture());
    }
    info.put("docker.hosts", String.join(",", states));
    String down = unreachableSummary();
    if (!down.isEmpty()) {
      info.put("docker.unreachable", down);
    }
    return new Capacity(cpu, mem, 0, podsTotal, info);
  }

  private String unreachableSummary() {
    return hosts.values().stream()
        .filter(h -> !h.reachable())
        .map(h -> h.name() + ": " + h.lastError())
        .collect(Collectors.joining("; "));
  }

  /** A failed call as the SPI's transient failure; a connection failure marks the host down. */
  static BackendException transientOrWrap(DockerHost host, String what, RuntimeException e) {
    if (DockerHost.isConnectionFailure(e)) {
      host.failed(e);
      return new BackendException.Transient(
          what + ": docker host " + host.name() + " unreachable: " + DockerHost.describe(e), e);
    }
    return new BackendException.Transient(
        what + " on docker host " + host.name() + ": " + DockerHost.describe(e), e);
  }

  @Override
  public void close() {
    hosts.values().forEach(DockerHost::close);
  }
}
