package io.hpcbridge.state;

import static io.hpcbridge.state.Pods.intent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.Observed.Phase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationTest {
  @TempDir Path dir;

  /** Schema v1 exactly as that version wrote it; never derived from the code under test. */
  private static final String[] V1 = {
    "PRAGMA application_id = 1213219650",
    "CREATE TABLE pods (uid TEXT PRIMARY KEY NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
        + " node TEXT NOT NULL, backend TEXT NOT NULL, handle TEXT, phase TEXT NOT NULL,"
        + " reason TEXT, message TEXT, pod_json TEXT NOT NULL, plan_json TEXT,"
        + " observed_json TEXT, created_ms INTEGER NOT NULL, submitted_ms INTEGER,"
        + " finished_ms INTEGER, deleting_ms INTEGER, gone_ms INTEGER)",
    "CREATE TABLE transitions (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        + " uid TEXT NOT NULL REFERENCES pods(uid) ON DELETE CASCADE, at_ms INTEGER NOT NULL,"
        + " from_phase TEXT, to_phase TEXT NOT NULL, detail TEXT NOT NULL)",
    "PRAGMA user_version = 1",
  };

  @Test
  void aFreshFileGetsTheCurrentSchema() throws Exception {
    Path file = dir.resolve("fresh.db");
    try (StateStore store = StateStore.open(file)) {
      assertThat(store.schemaVersion()).isEqualTo(StateStore.currentSchemaVersion()).isEqualTo(2);
    }
    assertThat(pragma(file, "user_version")).isEqualTo(2);
    assertThat(pragma(file, "application_id")).isEqualTo(Schema.APPLICATION_ID);
  }

  @Test
  void anEmptyVersionZeroFileIsMigrated() throws Exception {
    Path file = dir.resolve("v0.db");
    Files.createFile(file); // a zero-byte file is an empty SQLite database at user_version 0

    try (StateStore store = StateStore.open(file)) {
      assertThat(store.schemaVersion()).isEqualTo(2);
      store.recordIntent(intent("u1"));
      assertThat(store.list()).hasSize(1);
    }
  }

  @Test
  void aVersionOneFileIsMigratedKeepingItsRows() throws Exception {
    Path file = dir.resolve("v1.db");
    execute(file, V1);
    execute(
        file,
        "INSERT INTO pods (uid, namespace, name, node, backend, handle, phase, pod_json,"
            + " plan_json, created_ms, submitted_ms) VALUES ('u1', 'ns', 'old-pod', 'node-a',"
            + " 'slurm', 'slurm:4711', 'Running', '{}', '{}', 1000, 2000)",
        "INSERT INTO transitions (uid, at_ms, from_phase, to_phase, detail)"
            + " VALUES ('u1', 1000, NULL, 'Pending', 'intent backend=slurm node=node-a')",
        "INSERT INTO transitions (uid, at_ms, from_phase, to_phase, detail)"
            + " VALUES ('u1', 3000, 'Pending', 'Running', 'observed')");

    try (StateStore store = StateStore.open(file)) {
      assertThat(store.schemaVersion()).isEqualTo(2);
      TrackedPod pod = store.get("u1").orElseThrow();
      assertThat(pod.handle()).contains(io.hpcbridge.backend.Handle.parse("slurm:4711"));
      assertThat(pod.phase()).isEqualTo(Phase.RUNNING);
      assertThat(pod.created()).isEqualTo(Instant.ofEpochMilli(1000));
      assertThat(pod.submitted()).isEqualTo(Instant.ofEpochMilli(2000));
      assertThat(store.transitions("u1"))
          .extracting(Transition::to)
          .containsExactly(Phase.PENDING, Phase.RUNNING);
      assertThat(store.active("node-a")).extracting(TrackedPod::uid).containsExactly("u1");

      // New writes continue the history where v1 left it.
      store.recordObserved("u1", Pods.observed(Phase.SUCCEEDED, "{}"));
      assertThat(store.transitions("u1")).extracting(Transition::seq).containsExactly(1L, 2L, 3L);
    }
    assertThat(pragma(file, "user_version")).isEqualTo(2);
    assertThat(indexes(file)).contains("pods_by_name", "pods_active_by_node", "transitions_by_uid");
  }

  @Test
  void aFileFromANewerBridgeIsRefused() throws Exception {
    Path file = dir.resolve("newer.db");
    StateStore.open(file).close();
    execute(file, "PRAGMA user_version = 7");

    assertThatThrownBy(() -> StateStore.open(file))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("schema version 7")
        .hasMessageContaining("up to version 2");
    assertThatThrownBy(() -> StateStore.openReadOnly(file))
        .isInstanceOf(StateException.class)
        .hasMessageContaining("schema version 7");
    assertThat(pragma(file, "user_version")).isEqualTo(7);
  }

  @Test
  void anOlderFileIsNotMigratedByAReadOnlyOpen() throws Exception {
    Path file = dir.resolve("v1.db");
    execute(file, V1);

    assertThatThrownBy(() -> StateStore.openReadOnly(file))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("schema version 1")
        .hasMessageContaining("migrate");
    assertThat(pragma(file, "user_version")).isEqualTo(1);
  }

  @Test
  void aForeignDatabaseIsLeftAlone() throws Exception {
    Path file = dir.resolve("other.db");
    execute(file, "CREATE TABLE accounts (id INTEGER)");

    assertThatThrownBy(() -> StateStore.open(file))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("not an hpc-bridge state file");
    assertThat(pragma(file, "user_version")).isZero();
    assertThat(tables(file)).containsExactly("accounts");
  }

  @Test
  void aFileThatIsNotADatabaseIsReportedByName() throws Exception {
    Path file = dir.resolve("notes.txt");
    Files.writeString(
        file, "this is not a database, just some text that is long enough ".repeat(20));

    assertThatThrownBy(() -> StateStore.open(file))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(file.toString());
  }

  private static void execute(Path file, String... sql) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        Statement st = c.createStatement()) {
      for (String s : sql) {
        st.execute(s);
      }
    }
  }

  private static int pragma(Path file, String name) throws SQLException {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        ResultSet rs = c.createStatement().executeQuery("PRAGMA " + name)) {
      return rs.next() ? rs.getInt(1) : -1;
    }
  }

  private static List<String> indexes(Path file) throws SQLException {
    return names(file, "index");
  }

  private static List<String> tables(Path file) throws SQLException {
    return names(file, "table");
  }

  private static List<String> names(Path file, String type) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
        ResultSet rs =
            c.createStatement()
                .executeQuery(
                    "SELECT name FROM sqlite_master WHERE type = '"
                        + type
                        + "' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
