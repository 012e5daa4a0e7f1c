package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.Records.Launched;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The pod directories under {@code workDir}: their layout ({@link PodLayout}), their creation with
 * the plan, the supervisor's options and the materialized volumes, exactly once per pod UID even
 * with several bridges on one directory, and their removal.
 */
final class PodDirectory {

  /** Names used as file names: pod UIDs, container and volume names. */
  private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

  /**
   * One lock object per pod directory, shared by all instances in this JVM: file locks guard
   * against other processes, but the JVM refuses two overlapping file locks of its own.
   */
  private static final Map<Path, Object> POD_LOCKS = new ConcurrentHashMap<>();

  private final Path workDir;
  private final PodVolumes volumes;

  PodDirectory(Path workDir, PodVolumes volumes) {
    this.workDir = workDir;
    this.volumes = volumes;
  }

  PodVolumes volumes() {
    return volumes;
  }

  static boolean safeName(String name) {
    return name != null && SAFE_NAME.matcher(name).matches();
  }

  Path workDir() {
    return workDir;
  }

  PodLayout layout(String uid) {
    return new PodLayout(workDir.resolve(uid));
  }

  /** The layout of a handle of this backend; anything else is not found. */
  PodLayout layout(Handle handle) throws BackendException.NotFound {
    if (!LocalBackendFactory.NAME.equals(handle.backend()) || !safeName(handle.id())) {
      throw new BackendException.NotFound("not a local backend handle: " + handle);
    }
    return layout(handle.id());
  }

  /** The in-process lock of one pod directory. */
  Object lock(String uid) {
    return POD_LOCKS.computeIfAbsent(workDir.resolve(uid), k -> new Object());
  }

  /** Whether the pod's supervisor was launched (submit finished). */
  boolean launched(String uid) {
    return safeName(uid) && Files.exists(layout(uid).launched());
  }

  /** Starts the pod once the directory is ready; see {@link #createOnce}. */
  interface Starter {
    void start(PodLayout layout) throws IOException, BackendException;
  }

  /**
   * Creates the pod's directory and starts it, once: returns false when it was started before (by
   * this or another bridge on the same directory). Everything the bridge or the supervisor reads is
   * the bridge's, in directories the pod cannot write; only the working directory and emptyDir
   * volumes are the pod's (see {@link PodVolumes}).
   */
  boolean createOnce(PodPlan plan, SupervisorOptions options, Starter starter)
      throws IOException, BackendException {
    String uid = plan.pod().uid();
    PodLayout l = layout(uid);
    synchronized (lock(uid)) {
      if (!Files.isDirectory(workDir)) {
        AtomicFiles.mkdir(workDir, 0711);
      }
      if (!Files.isDirectory(l.dir())) {
        // Others may pass through (to the pod's working directory), not list or write.
        AtomicFiles.mkdir(l.dir(), 0711);
      }
      try (FileChannel ch =
              FileChannel.open(
                  l.submitLock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock ignored = ch.lock()) {
        if (Files.exists(l.launched())) {
          return false;
        }
        AtomicFiles.deleteTree(l.work());
        AtomicFiles.deleteTree(l.volumes());
        volumes.create(plan, l, options.owner());
        AtomicFiles.mkdir(l.containers(), 0700);
        AtomicFiles.write(l.plan(), Json.write(withoutFileContents(plan)), 0600);
        AtomicFiles.write(l.options(), Json.write(options), 0600);
        AtomicFiles.write(l.supervisorLog(), new byte[0], 0600);
        starter.start(l);
        AtomicFiles.write(l.launched(), Json.write(new Launched(Instant.now())), 0600);
        return true;
      }
    }
  }

  /** The plan as stored: volume contents live in {@code volumes/}, not in plan.json. */
  private static PodPlan withoutFileContents(PodPlan p) {
    return p.withVolumes(
        p.volumes().stream()
            .map(v -> new VolumePlan(v.name(), v.type(), List.of(), v.hostPath(), v.sensitive()))
            .toList());
  }

  /** Removes a pod's directory (the caller checked that it has ended). */
  void remove(PodLayout l) throws IOException {
    AtomicFiles.deleteTree(l.dir());
    POD_LOCKS.remove(l.dir());
  }
}
