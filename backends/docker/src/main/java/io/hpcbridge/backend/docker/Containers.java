package io.hpcbridge.backend.docker;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.github.dockerjava.transport.DockerHttpClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Map;

/** The engine calls every part of the backend makes on a pod's containers. */
final class Containers {
  private Containers() {}

  /** Every container of pod {@code uid} of this node on the host, in any state. */
  static List<Container> ofPod(DockerHost host, String nodeName, String uid) {
    return host.client
        .listContainersCmd()
        .withShowAll(true)
        .withLabelFilter(Map.of(Names.LABEL_POD_UID, uid, Names.LABEL_NODE, nodeName))
        .exec();
  }

  static boolean isSandbox(Container c) {
    return Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE));
  }

  /** Creates a container; an existing one of the same name is the same container. */
  static String create(DockerHost host, ContainerSpecs.Spec spec) {
    CreateContainerCmd cmd =
        host.client
            .createContainerCmd(spec.image())
            .withName(spec.name())
            .withLabels(spec.labels())
            .withEnv(spec.env())
            .withHostConfig(spec.hostConfig())
            .withStopTimeout(spec.stopTimeoutSeconds());
    if (spec.entrypoint() != null) {
      cmd.withEntrypoint(spec.entrypoint());
    }
    if (spec.cmd() != null) {
      cmd.withCmd(spec.cmd());
    }
    if (spec.workingDir() != null) {
      cmd.withWorkingDir(spec.workingDir());
    }
    if (spec.hostname() != null) {
      cmd.withHostName(spec.hostname());
    }
    if (spec.user() != null) {
      cmd.withUser(spec.user());
    }
    if (!spec.exposedPorts().isEmpty()) {
      cmd.withExposedPorts(spec.exposedPorts());
    }
    try {
      return cmd.exec().getId();
    } catch (ConflictException e) {
      return host.client.inspectContainerCmd(spec.name()).exec().getId();
    }
  }

  /** Starts a container; one already running is left alone. */
  static void start(DockerHost host, String id) {
    try {
      host.client.startContainerCmd(id).exec();
    } catch (NotModifiedException e) {
      // already running
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The signal that stops the container (its image's STOPSIGNAL), SIGTERM when it has none, or null
   * when it is gone. docker-java's inspect model leaves this field out, so the engine's answer is
   * read here.
   */
  static String stopSignal(DockerHost host, String id) {
    if (!id.matches("[0-9a-f]{1,64}")) {
      throw new IllegalArgumentException("not a container id: " + id);
    }
    DockerHttpClient.Request req =
        DockerHttpClient.Request.builder()
            .method(DockerHttpClient.Request.Method.GET)
            .path("/containers/" + id + "/json")
            .build();
    try (DockerHttpClient.Response res = host.controlHttp.execute(req)) {
      if (res.getStatusCode() == 404) {
        return null;
      }
      if (res.getStatusCode() != 200) {
        throw new DockerException(
            "inspecting container " + id + " answered " + res.getStatusCode(), res.getStatusCode());
      }
      String sig = JSON.readTree(res.getBody()).path("Config").path("StopSignal").asText("");
      return sig.isBlank() ? "SIGTERM" : sig;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Inspects one container; null when it is gone. */
  static ContainerView inspect(DockerHost host, String id) {
    InspectContainerResponse r;
    try {
      r = host.client.inspectContainerCmd(id).exec();
    } catch (NotFoundException e) {
      return null;
    }
    return view(r);
  }

  /** What an inspect says, in the backend's terms. */
  static ContainerView view(InspectContainerResponse r) {
    var st = r.getState();
    Map<String, String> labels =
        r.getConfig() == null || r.getConfig().getLabels() == null
            ? Map.of()
            : r.getConfig().getLabels();
    String ip = null;
    if (r.getNetworkSettings() != null) {
      ip = r.getNetworkSettings().getIpAddress();
      if ((ip == null || ip.isEmpty()) && r.getNetworkSettings().getNetworks() != null) {
        ip =
            r.getNetworkSettings().getNetworks().values().stream()
                .map(ContainerNetwork::getIpAddress)
                .filter(a -> a != null && !a.isEmpty())
                .findFirst()
                .orElse(null);
      }
    }
    Long exit = st.getExitCodeLong();
    Instant started = time(st.getStartedAt());
    Instant finished = time(st.getFinishedAt());
    if (started != null && finished != null && finished.isBefore(started)) {
      // Docker stamps a container that exits at once with a FinishedAt a little before StartedAt
      finished = started;
    }
    return new ContainerView(
        r.getId(),
        labels.getOrDefault(Names.LABEL_CONTAINER_NAME, ""),
        labels.getOrDefault(Names.LABEL_ROLE, ""),
        st.getStatus(),
        exit == null ? 0 : exit.intValue(),
        Boolean.TRUE.equals(st.getOOMKilled()),
        started,
        finished,
        r.getRestartCount() == null ? 0 : r.getRestartCount(),
        st.getError(),
        ip,
        labels,
        null);
  }

  /** Docker's zero time ({@code 0001-01-01T00:00:00Z}) means never. */
  static Instant time(String s) {
    if (s == null || s.isEmpty() || s.startsWith("0001-")) {
      return null;
    }
    try {
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
