package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * hostPath volumes. The bridge's policy allowed the path by its prefix; this backend makes sure the
 * prefix cannot be escaped: a path that traverses a symbolic link (its real path differs from the
 * path as written) is refused, and a missing directory is created by the bridge, owned by root, one
 * component at a time without following links.
 */
final class HostPaths {

  private HostPaths() {}

  /** Refuses a hostPath that is not a plain absolute path or that traverses a symbolic link. */
  static void check(VolumePlan v) throws BackendException.InvalidPod {
    String hp = v.hostPath();
    String what = "hostPath volume '" + v.name() + "'";
    if (hp == null || !hp.startsWith("/") || hp.indexOf('\0') >= 0) {
      throw PodValidator.invalid("InvalidVolume", what + " needs an absolute path");
    }
    Path p = Path.of(hp);
    for (Path part : p) {
      if (part.toString().equals("..") || part.toString().equals(".")) {
        throw PodValidator.invalid(
            "InvalidHostPath", what + ": path " + hp + " must not contain '.' or '..'");
      }
    }
    String link = symlinkIn(p);
    if (link != null) {
      throw PodValidator.invalid(
          "InvalidHostPath",
          what
              + ": path "
              + hp
              + " traverses the symbolic link "
              + link
              + "; name the real path (the policy allowed the path as written)");
    }
  }

  /**
   * The first component of {@code path} that is a symbolic link, as a path, or null. Checks the
   * longest existing prefix: its real path must be the path itself.
   */
  static String symlinkIn(Path path) {
    Path p = path.toAbsolutePath().normalize();
    Path existing = p;
    while (existing != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return null;
    }
    try {
      if (existing.toRealPath().equals(existing)) {
        return null;
      }
    } catch (IOException e) {
      // a dangling link, or a loop: find it below
    }
    Path q = p.getRoot();
    for (Path part : p) {
      q = q.resolve(part);
      if (Files.isSymbolicLink(q)) {
        return q.toString();
      }
      if (!Files.exists(q, LinkOption.NOFOLLOW_LINKS)) {
        break;
      }
    }
    return existing.toString();
  }

  /** Creates a missing hostPath directory as root (mode 0755), never through a link. */
  static void create(VolumePlan v) throws IOException, BackendException {
    Path p = Path.of(v.hostPath()).normalize();
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      check(v);
      return;
    }
    Path q = p.getRoot();
    for (Path part : p) {
      q = q.resolve(part);
      if (Files.isSymbolicLink(q)) {
        check(v);
      }
      if (!Files.exists(q, LinkOption.NOFOLLOW_LINKS)) {
        Files.createDirectory(q); // fails on anything that appeared meanwhile, a link included
        AtomicFiles.mkdir(q, 0755);
      }
    }
    check(v);
  }
}
