package io.hpcbridge.state;

import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.Observed.Phase;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bridge's state file: one row per pod keyed by uid, plus an append-only transition log.
 *
 * <p>Safe to share between threads. Other processes may open the same file at the same time: the
 * file is in WAL mode, so readers never block the writer, and writers wait up to {@link
 * #BUSY_TIMEOUT} for each other.
 */
public final class StateStore implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StateStore.class);

  /** How long a write waits for another connection's write lock before failing. */
  public static final Duration BUSY_TIMEOUT = Database.BUSY_TIMEOUT;

  private final Database db;
  private final Clock clock;

  private StateStore(Database db, Clock clock) {
    this.db = db;
    this.clock = clock;
  }

  /** Opens the state file, creating it and its parent directories if needed, and migrates it. */
  public static StateStore open(Path file) throws StateException {
    return open(file, Clock.systemUTC());
  }

  /** As {@link #open(Path)}, with the clock used for every recorded time. */
  public static StateStore open(Path file, Clock clock) throws StateException {
    return new StateStore(Database.openReadWrite(file), clock);
  }

  /**
   * Opens an existing state file for reading only, e.g. for a CLI next to a running bridge: never
   * creates, migrates or writes it. Writes through the returned store throw {@link StateException}.
   */
  public static StateStore openReadOnly(Path file) throws StateException {
    return new StateStore(Database.openReadOnly(file), Clock.systemUTC());
  }

  /** The schema version this code reads and writes. */
  public static int currentSchemaVersion() {
    return Schema.current();
  }

  public int schemaVersion() {
    return db.schemaVersion();
  }

  /** The absolute path of the state file. */
  public Path file() {
    return db.file();
  }

  /**
   * Inserts the intent row in one transaction, BEFORE the backend is called. Idempotent: if the uid
   * exists, returns the existing record unchanged.
   */
  public TrackedPod recordIntent(PodIntent intent) {
    Objects.requireNonNull(intent, "intent");
    String uid = intent.ref().uid();
    return db.write(
        "record intent of pod " + uid,
        () -> {
          insertIntent(intent, clock.millis());
          return load(uid).orElseThrow();
        });
  }

  /**
   * {@link #recordIntent} for many pods in ONE transaction (one fsync).
   *
   * @return the UIDs whose row this call inserted; the others already had one
   */
  public Set<String> recordIntents(List<PodIntent> intents) {
    if (intents.isEmpty()) {
      return Set.of();
    }
    return db.write(
        "record intent of " + intents.size() + " pods",
        () -> {
          long now = clock.millis();
          Set<String> inserted = new HashSet<>();
          for (PodIntent i : intents) {
            if (insertIntent(Objects.requireNonNull(i, "intent"), now)) {
              inserted.add(i.ref().uid());
            }
          }
          return inserted;
        });
  }

  private boolean insertIntent(PodIntent intent, long now) throws SQLException {
    String uid = intent.ref().uid();
    int inserted =
        db.update(
            "INSERT INTO pods (uid, namespace, name, node, backend, phase, pod_json,"
                + " plan_json, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT (uid) DO NOTHING",
            uid,
            intent.ref().namespace(),
            intent.ref().name(),
            intent.node(),
            intent.backend(),
            Phase.PENDING.toKubernetes(),
            intent.podJson(),
            intent.planJson(),
            now);
    if (inserted == 1) {
      String detail = "intent backend=" + intent.backend() + " node=" + intent.node();
      addTransition(uid, now, null, Phase.PENDING, detail);
    }
    return inserted == 1;
  }

  /** Sets the backend handle and the submitted time. Repeating the same handle changes nothing. */
  public void recordSubmitted(String uid, Handle handle) {
    Objects.requireNonNull(handle, "handle");
    db.write(
        "record submission of pod " + uid,
        () -> {
          setHandle(uid, handle, clock.millis());
          return null;
        });
  }

  /** {@link #recordSubmitted} for many pods (UID to handle) in ONE transaction. */
  public void recordSubmitted(Map<String, Handle> handles) {
    if (handles.isEmpty()) {
      return;
    }
    db.write(
        "record submission of " + handles.size() + " pods",
        () -> {
          long now = clock.millis();
          for (Map.Entry<String, Handle> e : handles.entrySet()) {
            setHandle(e.getKey(), Objects.requireNonNull(e.getValue(), "handle"), now);
          }
          return null;
        });
  }

  private void setHandle(String uid, Handle handle, long now) throws SQLException {
    TrackedPod pod = require(uid);
    if (pod.handle().equals(Optional.of(handle))) {
      return;
    }
    db.update(
        "UPDATE pods SET handle = ?, submitted_ms = ? WHERE uid = ?", handle.toString(), now, uid);
    String replacing = pod.handle().map(h -> " replacing " + h).orElse("");
    addTransition(uid, now, pod.phase(), pod.phase(), "submitted " + handle + replacing);
  }

  /**
   * Stores what the backend last reported, when it differs from what is stored. Sets the finished
   * time on the first terminal phase; logs a transition only when the phase changed.
   *
   * @return whether anything changed
   */
  public boolean recordObserved(String uid, Observed observed) {
    Objects.requireNonNull(observed, "observed");
    return db.write(
        "record observed state of pod " + uid, () -> applyObserved(uid, observed, clock.millis()));
  }

  /**
   * {@link #recordObserved} for many pods (UID to observation) in ONE transaction.
   *
   * @return the UIDs whose row changed
   */
  public Set<String> recordObserved(Map<String, Observed> observed) {
    if (observed.isEmpty()) {
      return Set.of();
    }
    return db.write(
        "record observed state of " + observed.size() + " pods",
        () -> {
          long now = clock.millis();
          Set<String> changed = new HashSet<>();
          for (Map.Entry<String, Observed> e : observed.entrySet()) {
            if (applyObserved(e.getKey(), Objects.requireNonNull(e.getValue(), "observed"), now)) {
              changed.add(e.getKey());
            }
          }
          return changed;
        });
  }

  private boolean applyObserved(String uid, Observed observed, long now) throws SQLException {
    TrackedPod pod = require(uid);
    if (pod.phase() == observed.phase() && pod.observed().equals(Optional.of(observed))) {
      return false;
    }
    db.update(
        "UPDATE pods SET phase = ?, observed_json = ?, finished_ms = ? WHERE uid = ?",
        observed.phase().toKubernetes(),
        ObservedJson.write(observed),
        finishedMillis(pod, observed.phase().terminal(), now),
        uid);
    if (observed.phase() != pod.phase()) {
      addTransition(uid, now, pod.phase(), observed.phase(), "observed");
    }
    return true;
  }

  /**
   * The bridge failed the pod itself (e.g. invalid for the backend): phase Failed with a reason.
   */
  public void recordFailed(String uid, String reason, String message) {
    db.write(
        "record failure of pod " + uid,
        () -> {
          TrackedPod pod = require(uid);
          if (pod.phase() == Phase.FAILED
              && Objects.equals(reason, pod.reason())
              && Objects.equals(message, pod.message())) {
            return null;
          }
          long now = clock.millis();
          db.update(
              "UPDATE pods SET phase = ?, reason = ?, message = ?, finished_ms = ? WHERE uid = ?",
              Phase.FAILED.toKubernetes(),
              reason,
              message,
              finishedMillis(pod, true, now),
              uid);
          addTransition(uid, now, pod.phase(), Phase.FAILED, "failed " + reason + ": " + message);
          return null;
        });
  }

  /** Deletion was requested. Idempotent; an unknown uid is ignored (deleted before its intent). */
  public void markDeleting(String uid) {
    markOnce(uid, "deleting", "deleting_ms");
  }

  /** The pod is gone from Kubernetes. Idempotent; an unknown uid is ignored. */
  public void markGone(String uid) {
    markOnce(uid, "gone", "gone_ms");
  }

  public Optional<TrackedPod> get(String uid) {
    return db.read("read pod " + uid, () -> load(uid));
  }

  /** The newest row of that name not gone, else the newest row of that name. */
  public Optional<TrackedPod> findByName(String namespace, String name) {
    return db.read(
        "find pod " + namespace + "/" + name,
        () ->
            db
                .query(
                    PodRows.SELECT
                        + "WHERE namespace = ? AND name = ?"
                        + " ORDER BY gone_ms IS NULL DESC, created_ms DESC, rowid DESC LIMIT 1",
                    PodRows::pod,
                    namespace,
                    name)
                .stream()
                .findFirst());
  }

  /**
   * Rows of that node not gone, oldest first: the pods the bridge must keep watching. Without their
   * {@code podJson} and {@code planJson} (null here): a poll of thousands of pods needs neither.
   */
  public List<TrackedPod> active(String node) {
    return db.read(
        "list active pods of node " + node,
        () ->
            db.query(
                PodRows.SELECT_WATCHED
                    + "WHERE node = ? AND gone_ms IS NULL ORDER BY created_ms, rowid",
                PodRows::pod,
                node));
  }

  /** All rows, oldest first. */
  public List<TrackedPod> list() {
    return db.read(
        "list pods", () -> db.query(PodRows.SELECT + "ORDER BY created_ms, rowid", PodRows::pod));
  }

  /** The pod's history, in order. */
  public List<Transition> transitions(String uid) {
    return db.read(
        "read transitions of pod " + uid,
        () ->
            db.query(
                "SELECT seq, uid, at_ms, from_phase, to_phase, detail FROM transitions"
                    + " WHERE uid = ? ORDER BY seq",
                rs ->
                    new Transition(
                        rs.getLong(1),
                        rs.getString(2),
                        Instant.ofEpochMilli(rs.getLong(3)),
                        rs.getString(4) == null ? null : Phase.fromKubernetes(rs.getString(4)),
                        Phase.fromKubernetes(rs.getString(5)),
                        rs.getString(6)),
                uid));
  }

  /** Deletes rows, and their history, gone for longer than {@code olderThan}; returns how many. */
  public int purgeGone(Duration olderThan) {
    if (olderThan.isNegative()) {
      throw new IllegalArgumentException("olderThan must not be negative: " + olderThan);
    }
    long cutoff = clock.millis() - olderThan.toMillis();
    int purged =
        db.write(
            "purge gone pods",
            () -> db.update("DELETE FROM pods WHERE gone_ms IS NOT NULL AND gone_ms < ?", cutoff));
    if (purged > 0) {
      log.info("Purged {} pod(s) gone for more than {} from {}", purged, olderThan, db.file());
    }
    return purged;
  }

  @Override
  public void close() {
    db.close();
  }

  @Override
  public String toString() {
    return "StateStore[" + db.file() + "]";
  }

  private void markOnce(String uid, String event, String timeColumn) {
    db.write(
        "mark pod " + uid + " " + event,
        () -> {
          Optional<TrackedPod> pod = load(uid);
          if (pod.isEmpty()) {
            log.debug("No state row for pod uid {}; not marking it {}", uid, event);
            return null;
          }
          long now = clock.millis();
          String sql =
              "UPDATE pods SET " + timeColumn + " = ? WHERE uid = ? AND " + timeColumn + " IS NULL";
          if (db.update(sql, now, uid) == 1) {
            addTransition(uid, now, pod.get().phase(), pod.get().phase(), event);
          }
          return null;
        });
  }

  private TrackedPod require(String uid) throws SQLException {
    return load(uid)
        .orElseThrow(
            () ->
                new StateException(
                    "State file "
                        + db.file()
                        + ": no pod with uid "
                        + uid
                        + " (its intent was never recorded)"));
  }

  private Optional<TrackedPod> load(String uid) throws SQLException {
    return db.query(PodRows.SELECT + "WHERE uid = ?", PodRows::pod, uid).stream().findFirst();
  }

  private void addTransition(String uid, long at, Phase from, Phase to, String detail)
      throws SQLException {
    db.update(
        "INSERT INTO transitions (uid, at_ms, from_phase, to_phase, detail) VALUES (?, ?, ?, ?, ?)",
        uid,
        at,
        from == null ? null : from.toKubernetes(),
        to.toKubernetes(),
        detail);
    log.debug("Pod {}: {} -> {} ({})", uid, from, to, detail);
  }

  private static Long finishedMillis(TrackedPod pod, boolean terminal, long now) {
    if (pod.finished() != null) {
      return pod.finished().toEpochMilli();
    }
    return terminal ? now : null;
  }
}
