package io.hpcbridge.state;

import static io.hpcbridge.state.Pods.intent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StateStoreTest {
  private static final Instant T0 = Instant.parse("2025-01-02T03:04:05.678Z");

  @TempDir Path dir;
  private Path file;
  private TestClock clock;

  @BeforeEach
  void setUp() {
    file = dir.resolve("nested/dirs/state.db");
    clock = new TestClock(T0);
  }

  @Test
  void lifecycleRoundTrip() {
    Instant submitted;
    Instant running;
    Instant succeeded;
    Instant deleting;
    Instant gone;
    try (StateStore store = StateStore.open(file, clock)) {
      TrackedPod fresh = store.recordIntent(intent("u1", "ns", "job-1", "node-a"));
      assertThat(fresh.phase()).isEqualTo(Phase.PENDING);
      assertThat(fresh.created()).isEqualTo(T0);
      assertThat(fresh.isSubmitted()).isFalse();
      assertThat(fresh.handle()).isEmpty();
      assertThat(fresh.submitted()).isNull();

      submitted = clock.advance(Duration.ofSeconds(1));
      store.recordSubmitted("u1", Pods.handle("1234"));
      running = clock.advance(Duration.ofSeconds(1));
      store.recordObserved("u1", Pods.observed(Phase.RUNNING, "{\"state\":\"R\"}"));
      succeeded = clock.advance(Duration.ofSeconds(1));
      store.recordObserved("u1", Pods.observed(Phase.SUCCEEDED, "{\"exit\":0}"));
      deleting = clock.advance(Duration.ofSeconds(1));
      store.markDeleting("u1");
      gone = clock.advance(Duration.ofSeconds(1));
      store.markGone("u1");
    }

    try (StateStore store = StateStore.open(file, clock)) {
      TrackedPod pod = store.get("u1").orElseThrow();
      assertThat(pod)
          .isEqualTo(
              new TrackedPod(
                  new PodRef("ns", "job-1", "u1"),
                  "node-a",
                  "local",
                  Optional.of(Pods.handle("1234")),
                  Phase.SUCCEEDED,
                  null,
                  null,
                  "{\"metadata\":{\"uid\":\"u1\"}}",
                  "{\"containers\":[]}",
                  Optional.of(Pods.observed(Phase.SUCCEEDED, "{\"exit\":0}")),
                  T0,
                  submitted,
                  succeeded,
                  deleting,
                  gone));
      assertThat(pod.isSubmitted()).isTrue();
      assertThat(pod.isTerminal()).isTrue();
      assertThat(pod.isDeleting()).isTrue();
      assertThat(pod.isGone()).isTrue();
      assertThat(pod.key()).isEqualTo("ns/job-1");

      List<Transition> log = store.transitions("u1");
      assertThat(log)
          .extracting(Transition::event, Transition::from, Transition::to, Transition::at)
          .containsExactly(
              tuple("intent", null, Phase.PENDING, T0),
              tuple("submitted", Phase.PENDING, Phase.PENDING, submitted),
              tuple("observed", Phase.PENDING, Phase.RUNNING, running),
              tuple("observed", Phase.RUNNING, Phase.SUCCEEDED, succeeded),
              tuple("deleting", Phase.SUCCEEDED, Phase.SUCCEEDED, deleting),
              tuple("gone", Phase.SUCCEEDED, Phase.SUCCEEDED, gone));
      assertThat(log).extracting(Transition::seq).isSorted().doesNotHaveDuplicates();
      assertThat(log.get(0).detail()).isEqualTo("intent backend=local node=node-a");
      assertThat(log.get(1).detail()).isEqualTo("submitted local:1234");
    }
  }

  @Test
  void recordIntentIsIdempotent() {
    try (StateStore store = StateStore.open(file, clock)) {
      TrackedPod first = store.recordIntent(intent("u1"));
      store.recordSubmitted("u1", Pods.handle("h1"));
      TrackedPod afterSubmit = store.get("u1").orElseThrow();
      clock.advance(Duration.ofMinutes(1));

      PodIntent changed =
          new PodIntent(
              new PodRef("other", "other", "u1"), "node-b", "slurm", "{\"changed\":1}", null);
      TrackedPod again = store.recordIntent(changed);

      assertThat(again).isEqualTo(afterSubmit);
      assertThat(again.created()).isEqualTo(first.created());
      assertThat(store.list()).hasSize(1);
      assertThat(store.transitions("u1")).extracting(Transition::event).containsOnlyOnce("intent");
    }
  }

  @Test
  void batchesRecordIntentsAndHandlesInOneGoAndSayWhichRowsAreNew() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("old"));
      Set<String> fresh = store.recordIntents(List.of(intent("old"), intent("a"), intent("b")));
      assertThat(fresh).containsExactlyInAnyOrder("a", "b");
      assertThat(store.recordIntents(List.of(intent("a")))).isEmpty();
      store.recordSubmitted(Map.of("a", Pods.handle("ha"), "b", Pods.handle("hb")));
      assertThat(store.get("a").orElseThrow().handle()).contains(Pods.handle("ha"));
      assertThat(store.get("b").orElseThrow().handle()).contains(Pods.handle("hb"));
      assertThat(store.get("old").orElseThrow().handle()).isEmpty();
      assertThat(store.transitions("a")).extracting(Transition::event).containsOnlyOnce("intent");
      // one unknown UID fails the whole batch: nothing of it is recorded
      assertThatThrownBy(
              () ->
                  store.recordSubmitted(Map.of("old", Pods.handle("h"), "nope", Pods.handle("x"))))
          .isInstanceOf(StateException.class);
      assertThat(store.get("old").orElseThrow().handle()).isEmpty();
    }
  }

  @Test
  void observationsOfManyPodsInOneGoReportWhichChangedAndActiveLeavesTheJsonOut() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntents(List.of(intent("a"), intent("b")));
      Observed running = Pods.observed(Observed.Phase.RUNNING, "up");
      store.recordObserved("a", running);
      assertThat(store.recordObserved(Map.of("a", running, "b", running))).containsExactly("b");
      assertThat(store.get("b").orElseThrow().phase()).isEqualTo(Observed.Phase.RUNNING);
      assertThat(store.active("node-a"))
          .allSatisfy(
              p -> {
                assertThat(p.podJson()).isNull();
                assertThat(p.planJson()).isNull();
                assertThat(p.observed()).contains(running);
              });
      assertThat(store.get("a").orElseThrow().podJson()).isNotNull();
    }
  }

  @Test
  void transitionsAreLoggedOnlyOnChange() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("u1"));
      store.recordSubmitted("u1", Pods.handle("h1"));
      store.recordSubmitted("u1", Pods.handle("h1"));
      store.recordObserved("u1", Pods.observed(Phase.PENDING, "{\"n\":0}"));
      store.recordObserved("u1", Pods.observed(Phase.RUNNING, "{\"n\":1}"));
      store.recordObserved("u1", Pods.observed(Phase.RUNNING, "{\"n\":2}"));
      store.recordObserved("u1", Pods.observed(Phase.RUNNING, "{\"n\":3}"));
      store.markDeleting("u1");
      store.markDeleting("u1");
      store.recordFailed("u1", "Killed", "deleted while running");
      store.recordFailed("u1", "Killed", "deleted while running");
      store.markGone("u1");
      store.markGone("u1");

      assertThat(store.transitions("u1"))
          .extracting(Transition::event)
          .containsExactly("intent", "submitted", "observed", "deleting", "failed", "gone");
      // The observation still follows every report, even without a transition.
      assertThat(store.get("u1").orElseThrow().observed().orElseThrow().message())
          .isEqualTo("{\"n\":3}");
    }
  }

  @Test
  void aNewHandleReplacesTheOldOne() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("u1"));
      store.recordSubmitted("u1", Pods.handle("h1"));
      Instant later = clock.advance(Duration.ofSeconds(5));
      store.recordSubmitted("u1", Pods.handle("h2"));

      TrackedPod pod = store.get("u1").orElseThrow();
      assertThat(pod.handle()).contains(Pods.handle("h2"));
      assertThat(pod.submitted()).isEqualTo(later);
      assertThat(store.transitions("u1").get(2).detail())
          .isEqualTo("submitted local:h2 replacing local:h1");
    }
  }

  @Test
  void finishedIsSetOnTheFirstTerminalPhaseOnly() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("u1"));
      store.recordObserved("u1", Pods.observed(Phase.RUNNING, null));
      assertThat(store.get("u1").orElseThrow().finished()).isNull();

      Instant first = clock.advance(Duration.ofSeconds(1));
      store.recordObserved("u1", Pods.observed(Phase.FAILED, "{}"));
      clock.advance(Duration.ofSeconds(1));
      store.recordObserved("u1", Pods.observed(Phase.SUCCEEDED, "{}"));
      store.recordFailed("u1", "X", "y");

      assertThat(store.get("u1").orElseThrow().finished()).isEqualTo(first);
    }
  }

  @Test
  void recordFailedSetsPhaseReasonMessageAndFinished() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("u1"));
      Instant at = clock.advance(Duration.ofSeconds(2));
      store.recordFailed("u1", "UnsupportedVolume", "volume \"data\": hostPath is not supported");

      TrackedPod pod = store.get("u1").orElseThrow();
      assertThat(pod.phase()).isEqualTo(Phase.FAILED);
      assertThat(pod.reason()).isEqualTo("UnsupportedVolume");
      assertThat(pod.message()).isEqualTo("volume \"data\": hostPath is not supported");
      assertThat(pod.finished()).isEqualTo(at);
      assertThat(pod.isSubmitted()).isFalse();
      Transition last = store.transitions("u1").get(1);
      assertThat(last.from()).isEqualTo(Phase.PENDING);
      assertThat(last.to()).isEqualTo(Phase.FAILED);
      assertThat(last.detail())
          .isEqualTo("failed UnsupportedVolume: volume \"data\": hostPath is not supported");
    }
  }

  @Test
  void intentWithoutPlanIsAllowed() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(
          new PodIntent(new PodRef("ns", "bad", "u1"), "node-a", "local", "{}", null));
      store.recordFailed("u1", "InvalidPod", "no plan");
      assertThat(store.get("u1").orElseThrow().planJson()).isNull();
    }
  }

  @Test
  void updatesOfAnUnknownPodFailWhileMarksAreIgnored() {
    try (StateStore store = StateStore.open(file, clock)) {
      assertThatThrownBy(() -> store.recordSubmitted("nope", Pods.handle("h")))
          .isInstanceOf(StateException.class)
          .hasMessageContaining("no pod with uid nope")
          .hasMessageContaining(file.toString());
      assertThatThrownBy(() -> store.recordObserved("nope", Pods.observed(Phase.RUNNING, "{}")))
          .isInstanceOf(StateException.class);
      assertThatThrownBy(() -> store.recordFailed("nope", "R", "m"))
          .isInstanceOf(StateException.class);

      store.markDeleting("nope");
      store.markGone("nope");
      assertThat(store.list()).isEmpty();
      assertThat(store.get("nope")).isEmpty();
      assertThat(store.transitions("nope")).isEmpty();
    }
  }

  @Test
  void findByNamePrefersTheNewestPodNotGone() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("old", "ns", "web", "node-a"));
      clock.advance(Duration.ofSeconds(1));
      store.recordIntent(intent("live", "ns", "web", "node-a"));
      clock.advance(Duration.ofSeconds(1));
      store.recordIntent(intent("newest-gone", "ns", "web", "node-a"));
      store.recordIntent(intent("elsewhere", "other", "web", "node-a"));
      store.markGone("old");
      store.markGone("newest-gone");

      assertThat(store.findByName("ns", "web")).map(TrackedPod::uid).contains("live");

      store.markGone("live");
      assertThat(store.findByName("ns", "web")).map(TrackedPod::uid).contains("newest-gone");
      assertThat(store.findByName("ns", "missing")).isEmpty();
    }
  }

  @Test
  void activeListsTheNodesPodsNotGoneOldestFirst() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("a1", "ns", "a1", "node-a"));
      clock.advance(Duration.ofSeconds(1));
      store.recordIntent(intent("b1", "ns", "b1", "node-b"));
      store.recordIntent(intent("a2", "ns", "a2", "node-a"));
      store.recordIntent(intent("a3", "ns", "a3", "node-a"));
      clock.advance(Duration.ofSeconds(1));
      store.recordIntent(intent("a4", "ns", "a4", "node-a"));
      store.markDeleting("a3");
      store.markGone("a2");

      assertThat(store.active("node-a"))
          .extracting(TrackedPod::uid)
          .containsExactly("a1", "a3", "a4");
      assertThat(store.active("node-b")).extracting(TrackedPod::uid).containsExactly("b1");
      assertThat(store.active("node-c")).isEmpty();
      assertThat(store.list())
          .extracting(TrackedPod::uid)
          .containsExactly("a1", "b1", "a2", "a3", "a4");
    }
  }

  @Test
  void purgeGoneDeletesOldGoneRowsAndTheirHistory() {
    try (StateStore store = StateStore.open(file, clock)) {
      store.recordIntent(intent("long-gone"));
      store.recordIntent(intent("recently-gone"));
      store.recordIntent(intent("running"));
      store.markGone("long-gone");
      clock.advance(Duration.ofHours(2));
      store.markGone("recently-gone");
      clock.advance(Duration.ofMinutes(10));

      assertThat(store.purgeGone(Duration.ofHours(1))).isEqualTo(1);
      assertThat(store.list())
          .extracting(TrackedPod::uid)
          .containsExactly("recently-gone", "running");
      assertThat(store.transitions("long-gone")).isEmpty();
      assertThat(store.purgeGone(Duration.ofHours(1))).isZero();
      assertThat(store.purgeGone(Duration.ZERO)).isEqualTo(1);
      assertThatThrownBy(() -> store.purgeGone(Duration.ofSeconds(-1)))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void opensInWalModeWithAPrivateFileAndParentDirectories() throws Exception {
    try (StateStore store = StateStore.open(file, clock)) {
      assertThat(store.file()).isEqualTo(file.toAbsolutePath());
      assertThat(store.schemaVersion()).isEqualTo(StateStore.currentSchemaVersion());
      store.recordIntent(intent("u1"));
      try (Connection raw = DriverManager.getConnection("jdbc:sqlite:" + file);
          ResultSet rs = raw.createStatement().executeQuery("PRAGMA journal_mode")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo("wal");
      }
    }
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
  }

  @Test
  void aClosedStoreSaysSo() {
    StateStore store = StateStore.open(file, clock);
    store.close();
    store.close();
    assertThatThrownBy(store::list)
        .isInstanceOf(StateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> store.recordIntent(intent("u1")))
        .isInstanceOf(StateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void readOnlyStoreReadsButNeverWritesOrCreates() {
    Path missing = dir.resolve("missing/state.db");
    assertThatThrownBy(() -> StateStore.openReadOnly(missing))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(missing.toString())
        .hasMessageContaining("does not exist");
    assertThat(missing.getParent()).doesNotExist();

    try (StateStore writer = StateStore.open(file, clock);
        StateStore reader = StateStore.openReadOnly(file)) {
      writer.recordIntent(intent("u1"));
      assertThat(reader.get("u1")).isPresent();
      assertThat(reader.findByName("default", "pod-u1")).isPresent();
      assertThatThrownBy(() -> reader.recordIntent(intent("u2")))
          .isInstanceOf(StateException.class)
          .hasMessageContaining(file.toString());
      assertThatThrownBy(() -> reader.markGone("u1")).isInstanceOf(StateException.class);
      assertThat(writer.list()).extracting(TrackedPod::uid).containsExactly("u1");
    }
  }
}
