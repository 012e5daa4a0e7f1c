package io.hpcbridge.state;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteException;

/**
 * One SQLite connection shared by all threads under a lock, with transactions and error mapping.
 * Every write runs in {@code BEGIN IMMEDIATE}, which takes the file's write lock up front: a
 * read-modify-write is then atomic against other connections and other processes, and a writer that
 * finds the lock taken waits up to {@link #BUSY_TIMEOUT} instead of failing.
 */
final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);

  static final Duration BUSY_TIMEOUT = Duration.ofSeconds(10);

  @FunctionalInterface
  interface Work<T> {
    T run() throws SQLException;
  }

  @FunctionalInterface
  interface Row<T> {
    T map(ResultSet rs) throws SQLException;
  }

  private final Path file;
  private final Connection conn;
  private final int schemaVersion;
  private final ReentrantLock lock = new ReentrantLock();
  private boolean closed;

  private Database(Path file, Connection conn, int schemaVersion) {
    this.file = file;
    this.conn = conn;
    this.schemaVersion = schemaVersion;
  }

  /** Creates if needed, switches to WAL and migrates. */
  static Database openReadWrite(Path file) {
    Path path = file.toAbsolutePath().normalize();
    createPrivately(path);
    Connection conn = connect(path, false);
    try {
      String mode = queryString(conn, "PRAGMA journal_mode = WAL");
      if (!"wal".equalsIgnoreCase(mode)) {
        // E.g. a file system without shared memory: still correct, but readers block the writer.
        log.warn("State file {} is in journal mode {} instead of WAL", path, mode);
      }
      int version = Schema.migrate(conn, path);
      log.debug("Opened state file {} (schema v{})", path, version);
      return new Database(path, conn, version);
    } catch (SQLException e) {
      closeQuietly(conn);
      throw failure(path, "open it", e);
    } catch (RuntimeException e) {
      closeQuietly(conn);
      throw e;
    }
  }

  /** Never creates, migrates or writes; needs a file of exactly the current version. */
  static Database openReadOnly(Path file) {
    Path path = file.toAbsolutePath().normalize();
    if (!Files.isRegularFile(path)) {
      throw new StateException("State file " + path + " does not exist");
    }
    Connection conn = connect(path, true);
    try (Statement st = conn.createStatement()) {
      int version = Schema.check(st, path);
      if (version != Schema.current()) {
        throw new StateException(
            "State file "
                + path
                + " has schema version "
                + version
                + " but this bridge reads version "
                + Schema.current()
                + "; open it once read-write (e.g. start the bridge) to migrate it");
      }
      return new Database(path, conn, version);
    } catch (SQLException e) {
      closeQuietly(conn);
      throw failure(path, "open it", e);
    } catch (RuntimeException e) {
      closeQuietly(conn);
      throw e;
    }
  }

  Path file() {
    return file;
  }

  int schemaVersion() {
    return schemaVersion;
  }

  /** Runs {@code work} in one write transaction; rolls back if it throws. */
  <T> T write(String action, Work<T> work) {
    lock.lock();
    try (Statement st = connection().createStatement()) {
      st.execute("BEGIN IMMEDIATE");
      boolean committed = false;
      try {
        T result = work.run();
        st.execute("COMMIT");
        committed = true;
        return result;
      } finally {
        if (!committed) {
          rollbackQuietly(st);
        }
      }
    } catch (SQLException e) {
      throw failure(file, action, e);
    } finally {
      lock.unlock();
    }
  }

  /** Runs {@code work} outside a transaction: each statement sees one committed snapshot. */
  <T> T read(String action, Work<T> work) {
    lock.lock();
    try {
      connection();
      return work.run();
    } catch (SQLException e) {
      throw failure(file, action, e);
    } finally {
      lock.unlock();
    }
  }

  /** Call only inside {@link #write} or {@link #read}. */
  int update(String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      bind(ps, args);
      return ps.executeUpdate();
    }
  }

  /** Call only inside {@link #write} or {@link #read}. */
  <T> List<T> query(String sql, Row<T> row, Object... args) throws SQLException {
    List<T> out = new ArrayList<>();
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(row.map(rs));
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (!closed) {
        closed = true;
        closeQuietly(conn);
      }
    } finally {
      lock.unlock();
    }
  }

  private Connection connection() {
    if (closed) {
      throw new StateException("State store " + file + " is closed");
    }
    return conn;
  }

  private static void bind(PreparedStatement ps, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      ps.setObject(i + 1, args[i]);
    }
  }

  /** The file holds pod specs (env values included), so it is created readable by owner only. */
  private static void createPrivately(Path path) {
    try {
      Files.createDirectories(path.getParent());
      Files.createFile(
          path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (FileAlreadyExistsException | UnsupportedOperationException e) {
      // Existing file: keep its permissions. Non-POSIX file system: SQLite creates it.
    } catch (IOException e) {
      throw new StateException("Cannot create state file " + path + ": " + e, e);
    }
  }

  private static Connection connect(Path path, boolean readOnly) {
    SQLiteConfig config = new SQLiteConfig();
    config.setBusyTimeout((int) BUSY_TIMEOUT.toMillis());
    config.enforceForeignKeys(true);
    // FULL: a committed intent survives power loss too, not only a killed bridge.
    config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
    config.setReadOnly(readOnly);
    try {
      return config.createConnection("jdbc:sqlite:" + path);
    } catch (SQLException e) {
      throw failure(path, "open it", e);
    }
  }

  private static String queryString(Connection conn, String sql) throws SQLException {
    try (Statement st = conn.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }

  private static StateException failure(Path file, String action, SQLException e) {
    String busy = "";
    if (e instanceof SQLiteException se && (se.getResultCode().code & 0xff) == 5) {
      busy = " (locked by another connection; waits up to " + BUSY_TIMEOUT.toSeconds() + " s)";
    }
    return new StateException(
        "State file " + file + ": cannot " + action + busy + ": " + e.getMessage(), e);
  }

  private static void rollbackQuietly(Statement st) {
    try {
      st.execute("ROLLBACK");
    } catch (SQLException e) {
      log.debug("Rollback failed", e);
    }
  }

  private static void closeQuietly(Connection conn) {
    try {
      conn.close();
    } catch (SQLException e) {
      log.warn("Closing state database failed: {}", e.toString());
    }
  }
}
