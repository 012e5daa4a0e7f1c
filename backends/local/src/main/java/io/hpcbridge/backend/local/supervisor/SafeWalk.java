package io.hpcbridge.backend.local.supervisor;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;

/**
 * Reaches a file below a directory one component at a time, each opened relative to the one before
 * ({@link SecureDirectoryStream}, openat) without following a symbolic link: a path a pod can
 * change while it is walked either leads where it says, or fails.
 */
final class SafeWalk {

  private SafeWalk() {}

  /** The attributes of {@code start/parts...}; fails on a link anywhere, the last part included. */
  static BasicFileAttributes attributes(Path start, List<String> parts) throws IOException {
    DirectoryStream<Path> first = Files.newDirectoryStream(start);
    if (!(first instanceof SecureDirectoryStream<Path> dir)) {
      first.close();
      throw new IOException("this platform cannot walk " + start + " safely");
    }
    try {
      if (parts.isEmpty()) {
        return dir.getFileAttributeView(BasicFileAttributeView.class).readAttributes();
      }
      for (int i = 0; i < parts.size() - 1; i++) {
        SecureDirectoryStream<Path> next =
            dir.newDirectoryStream(Path.of(parts.get(i)), LinkOption.NOFOLLOW_LINKS);
        dir.close();
        dir = next;
      }
      BasicFileAttributes a =
          dir.getFileAttributeView(
                  Path.of(parts.get(parts.size() - 1)),
                  BasicFileAttributeView.class,
                  LinkOption.NOFOLLOW_LINKS)
              .readAttributes();
      if (a.isSymbolicLink()) {
        throw new IOException(String.join("/", parts) + " is a symbolic link");
      }
      return a;
    } finally {
      dir.close();
    }
  }

  /** The identity (device and inode) of {@code start/parts...}, see {@link #attributes}. */
  static Object key(Path start, List<String> parts) throws IOException {
    return attributes(start, parts).fileKey();
  }
}
