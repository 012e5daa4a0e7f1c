package io.hpcbridge.state;

import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed.Phase;
import io.hpcbridge.backend.PodRef;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;

/** The {@code pods} table's rows as {@link TrackedPod}s: the queries' columns and their mapping. */
final class PodRows {
  private PodRows() {}

  static final String SELECT =
      "SELECT uid, namespace, name, node, backend, handle, phase, reason, message, pod_json,"
          + " plan_json, observed_json, created_ms, submitted_ms, finished_ms, deleting_ms,"
          + " gone_ms FROM pods ";

  /** {@link #SELECT} without the pod and plan JSON, the bulk of a row. */
  static final String SELECT_WATCHED =
      "SELECT uid, namespace, name, node, backend, handle, phase, reason, message, NULL, NULL,"
          + " observed_json, created_ms, submitted_ms, finished_ms, deleting_ms, gone_ms FROM pods"
          + " ";

  static TrackedPod pod(ResultSet rs) throws SQLException {
    String uid = rs.getString(1);
    String handle = rs.getString(6);
    return new TrackedPod(
        new PodRef(rs.getString(2), rs.getString(3), uid),
        rs.getString(4),
        rs.getString(5),
        handle == null ? Optional.empty() : Optional.of(Handle.parse(handle)),
        Phase.fromKubernetes(rs.getString(7)),
        rs.getString(8),
        rs.getString(9),
        rs.getString(10),
        rs.getString(11),
        ObservedJson.read(uid, rs.getString(12)),
        instant(rs, 13),
        instant(rs, 14),
        instant(rs, 15),
        instant(rs, 16),
        instant(rs, 17));
  }

  private static Instant instant(ResultSet rs, int column) throws SQLException {
    long millis = rs.getLong(column);
    return rs.wasNull() ? null : Instant.ofEpochMilli(millis);
  }
}
