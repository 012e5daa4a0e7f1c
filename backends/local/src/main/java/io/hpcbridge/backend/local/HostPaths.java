package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;

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

  /**
   * Creates a missing hostPath directory as root (mode 0755), one component at a time: each
   * directory is opened relative to its parent without following a link ({@link
   * SecureDirectoryStream}, openat with O_NOFOLLOW), and the mode of one just made is set on the
   * opened directory (fchmod), after checking that it is this process's. A pod that swaps a link in
   * where a directory was just made (it may write in an ancestor) makes this fail; it never makes
   * the bridge change the mode of anything else.
   */
  static void create(VolumePlan v) throws IOException, BackendException {
    Path p = Path.of(v.hostPath()).normalize();
    check(v);
    if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    SecureDirectoryStream<Path> dir = open(p.getRoot());
    try {
      Path q = p.getRoot();
      for (Path part : p) {
        q = q.resolve(part);
        SecureDirectoryStream<Path> next;
        try {
          next = dir.newDirectoryStream(part, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException missing) {
          Files.createDirectory(q); // fails on anything that appeared meanwhile, a link included
          next = opened(dir, part, q, v);
          try {
            PosixFileAttributeView made = next.getFileAttributeView(PosixFileAttributeView.class);
            if (!made.readAttributes().owner().equals(self())) {
              throw changed(v, q);
            }
            made.setPermissions(AtomicFiles.permissions(0755));
          } catch (IOException | BackendException e) {
            next.close();
            throw e;
          }
        } catch (FileSystemException e) {
          if (linkOrFile(dir, part)) {
            throw changed(v, q);
          }
          throw e;
        }
        dir.close();
        dir = next;
      }
    } finally {
      dir.close();
    }
    check(v);
  }

  private static SecureDirectoryStream<Path> open(Path dir) throws IOException {
    DirectoryStream<Path> ds = Files.newDirectoryStream(dir);
    if (ds instanceof SecureDirectoryStream<Path> sds) {
      return sds;
    }
    ds.close();
    throw new IOException("this platform cannot create directories below " + dir + " safely");
  }

  /** {@code part} of {@code dir}, opened without following a link. */
  private static SecureDirectoryStream<Path> opened(
      SecureDirectoryStream<Path> dir, Path part, Path q, VolumePlan v)
      throws IOException, BackendException {
    try {
      return dir.newDirectoryStream(part, LinkOption.NOFOLLOW_LINKS);
    } catch (FileSystemException e) {
      if (linkOrFile(dir, part)) {
        throw changed(v, q);
      }
      throw e;
    }
  }

  /** Whether {@code part} of {@code dir} is anything but a directory (a link, say) or gone. */
  private static boolean linkOrFile(SecureDirectoryStream<Path> dir, Path part) {
    try {
      return !dir.getFileAttributeView(
              part, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
          .readAttributes()
          .isDirectory();
    } catch (IOException e) {
      return true;
    }
  }

  /** The owner of what this process creates (root for a root bridge): that of /proc/self. */
  private static UserPrincipal self() throws IOException {
    return Files.getOwner(Path.of("/proc/self"));
  }

  private static BackendException.InvalidPod changed(VolumePlan v, Path q) {
    return PodValidator.invalid(
        "InvalidHostPath",
        "hostPath volume '"
            + v.name()
            + "': "
            + q
            + " changed while it was created (a symbolic link or another owner's directory)");
  }
}
