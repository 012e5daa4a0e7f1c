package io.hpcbridge.state;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The schema as an ordered list of forward steps; step {@code n} takes a file from version {@code
 * n-1} to {@code n}. The version lives in {@code PRAGMA user_version}. A step, once released, is
 * never edited: change the schema by appending a step.
 */
final class Schema {
  private static final Logger log = LoggerFactory.getLogger(Schema.class);

  /** "HPCB" in the SQLite header, so a foreign database is never mistaken for ours. */
  static final int APPLICATION_ID = 0x48504342;

  private static final List<List<String>> STEPS =
      List.of(
          // v1: one row per pod and the append-only history. Times are epoch milliseconds.
          List.of(
              "PRAGMA application_id = " + APPLICATION_ID,
              """
              CREATE TABLE pods (
                uid           TEXT PRIMARY KEY NOT NULL,
                namespace     TEXT NOT NULL,
                name          TEXT NOT NULL,
                node          TEXT NOT NULL,
                backend       TEXT NOT NULL,
                handle        TEXT,
                phase         TEXT NOT NULL,
                reason        TEXT,
                message       TEXT,
                pod_json      TEXT NOT NULL,
                plan_json     TEXT,
                observed_json TEXT,
                created_ms    INTEGER NOT NULL,
                submitted_ms  INTEGER,
                finished_ms   INTEGER,
                deleting_ms   INTEGER,
                gone_ms       INTEGER
              )\
              """,
              """
              CREATE TABLE transitions (
                seq        INTEGER PRIMARY KEY AUTOINCREMENT,
                uid        TEXT NOT NULL REFERENCES pods(uid) ON DELETE CASCADE,
                at_ms      INTEGER NOT NULL,
                from_phase TEXT,
                to_phase   TEXT NOT NULL,
                detail     TEXT NOT NULL
              )\
              """),
          // v2: lookups by name (CLI), by node (resume, poller) and history per pod (also makes
          // the cascading delete of purgeGone cheap).
          List.of(
              "CREATE INDEX pods_by_name ON pods(namespace, name)",
              "CREATE INDEX pods_active_by_node ON pods(node, created_ms) WHERE gone_ms IS NULL",
              "CREATE INDEX transitions_by_uid ON transitions(uid, seq)"));

  private Schema() {}

  static int current() {
    return STEPS.size();
  }

  /** Brings the file to {@link #current()} in one write transaction and returns that version. */
  static int migrate(Connection conn, Path file) throws SQLException {
    try (Statement st = conn.createStatement()) {
      // IMMEDIATE takes the write lock first, so two processes opening a fresh file cannot both
      // run step 1; the loser waits (busy timeout), then sees the new version and does nothing.
      st.execute("BEGIN IMMEDIATE");
      try {
        int from = check(st, file);
        for (int v = from + 1; v <= current(); v++) {
          for (String sql : STEPS.get(v - 1)) {
            st.execute(sql);
          }
        }
        if (from < current()) {
          st.execute("PRAGMA user_version = " + current());
        }
        st.execute("COMMIT");
        if (from == 0) {
          log.info("Created state schema v{} in {}", current(), file);
        } else if (from < current()) {
          log.info("Migrated state file {} from schema v{} to v{}", file, from, current());
        }
        return current();
      } catch (SQLException | RuntimeException e) {
        rollbackQuietly(st);
        throw e;
      }
    }
  }

  /**
   * Returns the file's version after making sure it is ours and not from a newer bridge. Used alone
   * by read-only opens, which cannot migrate and so need exactly the current version.
   */
  static int check(Statement st, Path file) throws SQLException {
    int version = pragmaInt(st, "user_version");
    int appId = pragmaInt(st, "application_id");
    if (version > current()) {
      throw new StateException(
          "State file "
              + file
              + " has schema version "
              + version
              + " but this bridge supports up to version "
              + current()
              + "; use a newer bridge or another state file");
    }
    boolean empty = version == 0 && appId == 0 && !hasTables(st);
    if (!empty && appId != APPLICATION_ID) {
      throw new StateException(
          "File "
              + file
              + " is an SQLite database but not an hpc-bridge state file; refusing to change it");
    }
    return version;
  }

  private static boolean hasTables(Statement st) throws SQLException {
    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM sqlite_master")) {
      return rs.next() && rs.getInt(1) > 0;
    }
  }

  private static int pragmaInt(Statement st, String pragma) throws SQLException {
    try (ResultSet rs = st.executeQuery("PRAGMA " + pragma)) {
      return rs.next() ? rs.getInt(1) : 0;
    }
  }

  private static void rollbackQuietly(Statement st) {
    try {
      st.execute("ROLLBACK");
    } catch (SQLException e) {
      log.debug("Rollback failed", e);
    }
  }
}
