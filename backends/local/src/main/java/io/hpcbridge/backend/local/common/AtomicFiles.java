package io.hpcbridge.backend.local.common;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** File helpers: atomic replace (temp file + rename), modes and owners, safe tree removal. */
public final class AtomicFiles {

  private AtomicFiles() {}

  /**
   * Replaces {@code target} with {@code data} so that a reader sees either the old or the new file,
   * never half of one. The file gets exactly {@code mode} (umask does not apply).
   */
  public static void write(Path target, byte[] data, int mode) throws IOException {
    write(target, data, mode, null);
  }

  /**
   * Like {@link #write(Path, byte[], int)}, the new file owned by {@code owner} (uid and gid)
   * before it appears; null keeps the writer's. {@code mode} may carry setgid and sticky bits.
   */
  public static void write(Path target, byte[] data, int mode, long[] owner) throws IOException {
    Path tmp =
        target.resolveSibling(
            "." + target.getFileName() + ".tmp" + ThreadLocalRandom.current().nextLong(1L << 48));
    try {
      try (FileChannel ch =
          FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        if (owner != null) {
          own(tmp, owner[0], owner[1]);
        }
        Files.setAttribute(tmp, "unix:mode", mode & 07777);
        ByteBuffer b = ByteBuffer.wrap(data);
        while (b.hasRemaining()) {
          ch.write(b);
        }
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** {@code 0644}-style octal bits as a permission set (only the low nine bits). */
  public static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
    PosixFilePermission[] order = {
      PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
      PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_READ,
      PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
      PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE,
      PosixFilePermission.OTHERS_EXECUTE
    };
    for (int i = 0; i < 9; i++) {
      if ((mode & (0400 >> i)) != 0) {
        s.add(order[i]);
      }
    }
    return s;
  }

  /**
   * Creates {@code dir} (and parents) and sets its mode (setgid and sticky bits included) on the
   * directory itself: when {@code dir} is a symbolic link, fails and changes nothing.
   */
  public static void mkdir(Path dir, int mode) throws IOException {
    Files.createDirectories(dir);
    if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(dir + " is not a directory (a symbolic link?)");
    }
    // Opened with O_NOFOLLOW, then fchmod: a link swapped in meanwhile makes this fail.
    Files.setAttribute(dir, "unix:mode", mode & 07777, LinkOption.NOFOLLOW_LINKS);
  }

  /** Sets the owner of {@code path} itself (never of what a symbolic link points to). */
  public static void own(Path path, long uid, long gid) throws IOException {
    Files.setAttribute(path, "unix:uid", (int) uid, LinkOption.NOFOLLOW_LINKS);
    Files.setAttribute(path, "unix:gid", (int) gid, LinkOption.NOFOLLOW_LINKS);
  }

  /**
   * Deletes a tree without ever following a symbolic link, even one swapped in while it runs: each
   * directory is opened relative to its parent's descriptor ({@link SecureDirectoryStream}), so a
   * process that still writes in the tree cannot redirect the deletion elsewhere. Missing is fine.
   */
  public static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
      Files.deleteIfExists(root);
      return;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(root)) {
      if (!(ds instanceof SecureDirectoryStream<Path> sds)) {
        throw new IOException("this platform cannot delete " + root + " safely");
      }
      deleteContents(sds);
    }
    Files.deleteIfExists(root);
  }

  private static void deleteContents(SecureDirectoryStream<Path> dir) throws IOException {
    List<Path> names = new ArrayList<>();
    for (Path p : dir) {
      names.add(p.getFileName());
    }
    for (Path name : names) {
      BasicFileAttributes a;
      try {
        a =
            dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .readAttributes();
      } catch (NoSuchFileException gone) {
        continue;
      }
      if (a.isDirectory()) {
        try (SecureDirectoryStream<Path> sub =
            dir.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
          deleteContents(sub);
        } catch (NoSuchFileException gone) {
          continue;
        }
        try {
          dir.deleteDirectory(name);
        } catch (NoSuchFileException gone) {
          // fine
        }
      } else {
        try {
          dir.deleteFile(name);
        } catch (NoSuchFileException gone) {
          // fine
        }
      }
    }
  }
}
