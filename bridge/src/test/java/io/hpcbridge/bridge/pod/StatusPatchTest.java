package io.hpcbridge.bridge.pod;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatus;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.bridge.status.StatusSynth;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every status field that can vanish is removed by the patch, not left stale. */
class StatusPatchTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

  static JsonNode json(String s) throws Exception {
    return JSON.readTree(s.replace('\'', '"'));
  }

  @Test
  void aVanishedReasonIsRemoved() throws Exception {
    ObjectNode p =
        StatusPatch.diff(
            json("{'phase':'Pending','reason':'Resources'}"), json("{'phase':'Running'}"));
    assertThat(p).isEqualTo(json("{'phase':'Running','reason':null}"));
  }

  @Test
  void aVanishedMessageIsRemoved() throws Exception {
    ObjectNode p =
        StatusPatch.diff(
            json("{'phase':'Running','message':'Slurm job 7 is PENDING'}"),
            json("{'phase':'Running'}"));
    assertThat(p).isEqualTo(json("{'message':null}"));
  }

  @Test
  void aVanishedPodIpIsRemoved() throws Exception {
    ObjectNode p =
        StatusPatch.diff(
            json("{'podIP':'10.0.0.7','podIPs':[{'ip':'10.0.0.7'}],'hostIP':'10.0.0.1'}"),
            json("{'hostIP':'10.0.0.1'}"));
    assertThat(p).isEqualTo(json("{'podIP':null,'podIPs':null}"));
  }

  @Test
  void aConditionsVanishedReasonGoesWithTheWholeList() throws Exception {
    ObjectNode p =
        StatusPatch.diff(
            json(
                "{'conditions':[{'type':'Ready','status':'False','reason':'ContainersNotReady'}]}"),
            json("{'conditions':[{'type':'Ready','status':'True'}]}"));
    assertThat(p).isEqualTo(json("{'conditions':[{'type':'Ready','status':'True'}]}"));
  }

  @Test
  void aVanishedNestedFieldIsRemovedInsideItsObject() throws Exception {
    ObjectNode p = StatusPatch.diff(json("{'x':{'a':1,'gone':'y'}}"), json("{'x':{'a':1}}"));
    assertThat(p).isEqualTo(json("{'x':{'gone':null}}"));
  }

  @Test
  void nothingChangedIsAnEmptyPatch() throws Exception {
    assertThat(StatusPatch.diff(json("{'phase':'Running'}"), json("{'phase':'Running'}")))
        .isEmpty();
    assertThat(StatusPatch.diff(null, json("{'phase':'Running'}")))
        .isEqualTo(json("{'phase':'Running'}"));
  }

  /** The bug as users saw it: a Slurm job that queued, then started, kept "Pending" as reason. */
  @Test
  void aQueuedThenStartedPodLosesItsPendingReasonAndMessage() {
    Pod pod =
        new PodBuilder()
            .withNewMetadata()
            .withName("p")
            .withNamespace("ns")
            .withUid("u")
            .endMetadata()
            .withNewSpec()
            .addNewContainer()
            .withName("main")
            .withImage("busybox")
            .endContainer()
            .endSpec()
            .build();
    StatusSynth synth = new StatusSynth("slurm");
    PodStatus queued =
        synth.synth(
            pod,
            new Observed(
                Observed.Phase.PENDING,
                "Pending",
                "Slurm job 7 is PENDING",
                null,
                null,
                T,
                List.of(),
                List.of(Observed.ContainerStatus.waiting("main", "Resources", "queued"))),
            T,
            "10.0.0.1");
    PodStatus running =
        synth.synth(
            pod,
            new Observed(
                Observed.Phase.RUNNING,
                null,
                null,
                "10.0.0.2",
                "10.0.0.2",
                T,
                List.of(),
                List.of(Observed.ContainerStatus.running("main", T, 0))),
            T,
            "10.0.0.1");
    JsonNode from = Serialization.jsonMapper().valueToTree(queued);
    JsonNode to = Serialization.jsonMapper().valueToTree(running);
    ObjectNode p = StatusPatch.diff(from, to);
    assertThat(p.get("phase").asText()).isEqualTo("Running");
    assertThat(p.get("reason").isNull()).isTrue();
    assertThat(p.get("message").isNull()).isTrue();
  }
}
