package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What a running pod gets from the backend on the real engines, and what it cannot take from the
 * others: rotated volume files, log follows that end, an engine slow for one of its containers.
 */
class DockerRunningPodIT extends EngineTest {

  static long streamThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("docker-java-stream"))
        .count();
  }

  @Test
  void aFollowEndsWhenItsReaderClosesItOrItsPodIsGone() throws Exception {
    Handle h =
        backend.submit(
            Plans.pod(
                "chatty",
                List.of(),
                List.of(
                    Plans.sh("c", "i=0; while :; do i=$((i+1)); echo line$i; sleep 0.1; done"))));
    awaitPhase(backend, h, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
    LogOptions follow = new LogOptions(true, 1, false, null, null, null, false);

    long before = streamThreads();
    InputStream first = backend.logs(h, "c", follow);
    assertThat(first.read(new byte[4])).isPositive();
    assertThat(backend.openFollows()).isEqualTo(1);
    assertThat(streamThreads()).isGreaterThan(before);
    first.close(); // the reader leaves: the engine's stream is closed with it
    assertThat(backend.openFollows()).isZero();
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> streamThreads() <= before);

    InputStream second = backend.logs(h, "c", follow);
    assertThat(second.read(new byte[4])).isPositive();
    backend.cancel(h, Duration.ZERO);
    backend.release(h);
    java.util.concurrent.Future<?> drained =
        java.util.concurrent.Executors.newSingleThreadExecutor()
            .submit(
                () -> {
                  try (second) {
                    second.readAllBytes();
                  } catch (java.io.IOException e) {
                    // ended by the backend: the pod is gone
                  }
                  return null;
                });
    drained.get(30, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(backend.openFollows()).isZero();
  }

  static VolumePlan token(String version) {
    byte[] content = (version + "-" + "x".repeat(4000)).getBytes(StandardCharsets.UTF_8);
    return new VolumePlan(
        "tok",
        VolumePlan.Type.SECRET,
        List.of(new VolumePlan.FilePlan("token", content, 0644)),
        null,
        true);
  }

  @Test
  void updatedVolumeFilesReachEveryContainerWholeAndAtOnce() throws Exception {
    ContainerPlan reader =
        Plans.sh(
            "reader",
            "while :; do cat /var/run/tok/token > /tmp/t 2>/dev/null; echo \"$(head -c 2"
                + " /tmp/t) $(wc -c < /tmp/t)\"; sleep 0.02; done");
    ContainerPlan other =
        Plans.sh("other", "while :; do head -c 2 /etc/tok/token; echo; sleep 0.2; done");
    reader = Plans.withMounts(reader, new ContainerPlan.Mount("tok", "/var/run/tok", null, true));
    other = Plans.withMounts(other, new ContainerPlan.Mount("tok", "/etc/tok", null, true));
    Handle h =
        backend.submit(
            Plans.pod(
                "rotate",
                List.of(),
                List.of(reader, other),
                List.of(token("v0")),
                PodPlan.RestartPolicy.NEVER));
    awaitPhase(backend, h, Set.of(Phase.RUNNING), Duration.ofSeconds(60));
    for (int i = 1; i <= 5; i++) {
      backend.updateVolume(h, token("v" + i));
    }
    await()
        .atMost(Duration.ofSeconds(20))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () ->
                read(backend.logs(h, "other", LogOptions.ALL)).contains("v5")
                    && read(backend.logs(h, "reader", LogOptions.ALL)).contains("v5 4003"));
    // every read saw one whole version (or, while ..data is swapped, no file): never a mix
    for (String line : read(backend.logs(h, "reader", LogOptions.ALL)).split("\n")) {
      assertThat(line).matches("(v[0-5] 4003| 0)");
    }
    assertThat(read(backend.logs(h, "other", LogOptions.ALL))).startsWith("v0");
    // only the current version is kept
    try (DockerHost host = host(h)) {
      String sandbox =
          DockerEngines.containers(host, node).stream()
              .filter(c -> Names.ROLE_SANDBOX.equals(c.getLabels().get(Names.LABEL_ROLE)))
              .findFirst()
              .orElseThrow()
              .getId();
      assertThat(
              DockerEngines.exec(host, sandbox, "ls", "-a", "/.hpcbridge/volumes/tok").split("\n"))
          .filteredOn(n -> n.startsWith("..2"))
          .hasSize(1);
    }
    backend.cancel(h, Duration.ZERO);
  }

  @Test
  void anEngineSlowForOneContainerDoesNotHoldUpTheOtherPods() throws Exception {
    Path engine2 =
        Path.of(DockerEngines.require().get("DOCKER2_HOST_IT").replaceFirst("^unix://", ""));
    try (SlowEngine proxy = new SlowEngine(engine2)) {
      Map<String, Object> host = new HashMap<>();
      host.put("name", "slow");
      host.put("uri", "unix://" + proxy.socket);
      host.put("responseTimeout", "60s");
      DockerSettings s =
          DockerSettings.parse(Map.of("hosts", List.of(host), "observeTimeout", "2s"));
      try (DockerBackend b = new DockerBackend(node, data.resolve("slow"), s)) {
        PodPlan a = Plans.pod("slow-a", List.of(), List.of(Plans.sh("c", "sleep 4")));
        PodPlan other = Plans.pod("slow-b", List.of(), List.of(Plans.sh("c", "sleep 4")));
        Handle ha = b.submit(a);
        Handle hb = b.submit(other);
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(300))
            .until(
                () ->
                    b.observe(List.of(ha, hb)).values().stream()
                        .allMatch(x -> x.phase() == Phase.RUNNING));
        String slowId;
        try (DockerHost h2 = new DockerHost(settings.hosts().get(1))) {
          slowId =
              DockerEngines.containers(h2, node).stream()
                  .filter(x -> a.pod().uid().equals(x.getLabels().get(Names.LABEL_POD_UID)))
                  .filter(x -> "c".equals(x.getLabels().get(Names.LABEL_CONTAINER_NAME)))
                  .findFirst()
                  .orElseThrow()
                  .getId();
        }
        // from now on the engine takes 25 s to inspect a's container
        proxy.slow("/containers/" + slowId + "/json", Duration.ofSeconds(25));
        await()
            .atMost(Duration.ofSeconds(20))
            .pollInterval(Duration.ofMillis(300))
            .untilAsserted(
                () -> {
                  long t0 = System.nanoTime();
                  Map<Handle, Observed> seen = b.observe(List.of(ha, hb));
                  assertThat(Duration.ofNanos(System.nanoTime() - t0))
                      .isLessThan(Duration.ofSeconds(4));
                  assertThat(seen.get(hb).phase()).isEqualTo(Phase.SUCCEEDED);
                  // a: what was known before, or no news; never a wrong answer
                  if (seen.containsKey(ha)) {
                    assertThat(seen.get(ha).phase()).isIn(Phase.RUNNING, Phase.SUCCEEDED);
                  }
                });
        proxy.slow(null, Duration.ZERO);
        await()
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(500))
            .until(
                () -> {
                  Observed x = b.observe(List.of(ha)).get(ha);
                  return x != null && x.phase() == Phase.SUCCEEDED;
                });
      }
    }
  }
}
