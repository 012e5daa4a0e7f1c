package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.Records.Owner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The pod's writable directories and its volumes in the pod directory. The working directory and
 * emptyDir volumes belong to the pod's user (with {@code fsGroup}: to that group too, setgid and
 * group-writable), so the pod can write them. ConfigMap, Secret, downwardAPI and projected volumes
 * are directories the pod cannot write, holding files it owns with the plan's modes (so a 0600
 * secret is readable by the pod's user only); the bridge alone ever replaces them.
 */
final class PodVolumes {

  /** Whether files can be given to another user (the bridge runs as root). */
  private final boolean root;

  PodVolumes(boolean root) {
    this.root = root;
  }

  /** Creates the working directory and every volume of the plan. */
  void create(PodPlan plan, PodLayout l, Owner owner) throws IOException, BackendException {
    writable(l.work(), owner);
    AtomicFiles.mkdir(l.volumes(), 0711);
    for (VolumePlan v : plan.volumes()) {
      Path dir = l.volume(v.name());
      switch (v.type()) {
        case EMPTY_DIR -> writable(dir, owner);
        case HOST_PATH -> HostPaths.create(v);
        default -> {
          AtomicFiles.mkdir(dir, 0755);
          for (VolumePlan.FilePlan f : v.files()) {
            write(v, dir, f, owner);
          }
        }
      }
    }
  }

  /**
   * Replaces the files of a ConfigMap, Secret, downwardAPI or projected volume: each file
   * atomically (a container that mounts the volume's directory sees the new file at once; one that
   * mounts a single file through subPath keeps the old one, as with the kubelet), and files the new
   * plan no longer has are removed.
   */
  void update(PodLayout l, VolumePlan v, Owner owner) throws IOException, BackendException {
    Path dir = l.volume(v.name());
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new BackendException.NotFound("volume " + v.name() + " has no directory in " + l.dir());
    }
    Set<Path> keep = new HashSet<>();
    for (VolumePlan.FilePlan f : v.files()) {
      write(v, dir, f, owner);
      keep.add(dir.resolve(f.path()).normalize());
    }
    List<Path> stale;
    try (Stream<Path> files = Files.walk(dir)) {
      stale =
          files
              .filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
              .filter(p -> !keep.contains(p))
              .toList();
    }
    for (Path p : stale) {
      Files.deleteIfExists(p);
    }
  }

  /** A directory the pod's user owns and may write. */
  private void writable(Path dir, Owner owner) throws IOException {
    Files.createDirectory(dir);
    give(dir, owner);
    AtomicFiles.mkdir(dir, owner.shared() ? 02770 : 0770);
  }

  /**
   * Gives a file to the pod's user; without root only the group can change (to fsGroup, which the
   * bridge's user is then a member of).
   */
  private void give(Path p, Owner owner) throws IOException {
    if (root) {
      AtomicFiles.own(p, owner.uid(), owner.gid());
    } else if (owner.shared()) {
      Files.setAttribute(p, "unix:gid", (int) owner.gid(), LinkOption.NOFOLLOW_LINKS);
    }
  }

  /** Writes one file of an API-data volume atomically, owned by the pod's user. */
  private void write(VolumePlan v, Path dir, VolumePlan.FilePlan f, Owner owner)
      throws IOException, BackendException {
    Path target = dir.resolve(f.path()).normalize();
    if (!target.startsWith(dir) || target.equals(dir)) {
      throw PodValidator.invalid(
          "InvalidVolume",
          "volume '" + v.name() + "': file path '" + f.path() + "' leaves the volume");
    }
    // Parents are created by the bridge, mode 0755, one by one: none can be a link (the pod
    // cannot write here), and none is given to the pod.
    Path p = dir;
    for (Path part : dir.relativize(target.getParent())) {
      p = p.resolve(part);
      if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(p);
        AtomicFiles.mkdir(p, 0755);
      }
    }
    int mode = f.mode() & 0777;
    if (mode == 0) {
      mode = 0644;
    }
    if (owner.shared()) {
      mode |= 0040;
    }
    AtomicFiles.write(
        target, f.content(), mode, root ? new long[] {owner.uid(), owner.gid()} : null);
  }
}
