package io.hpcbridge.backend.docker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Builds the tar archives Docker's archive API extracts into a container. Docker extracts them in
 * order and applies each entry's mode, owner and group, also to directories that exist already.
 */
final class Tar {
  private Tar() {}

  /**
   * One entry: a directory (content and link null), a file (content) or a symbolic link (link).
   *
   * @param path relative path
   * @param mode permission bits, e.g. {@code 0644}, {@code 02775}; a file keeps only {@code 0777}
   *     (its mode is the pod's: a setuid, setgid or sticky bit would reach a file the pod's
   *     containers run), a directory keeps its setgid bit (fsGroup)
   * @param gid owning group (the owner is always root)
   */
  record Entry(String path, int mode, long gid, byte[] content, String link) {
    static Entry dir(String path, int mode, long gid) {
      return new Entry(path, mode, gid, null, null);
    }

    static Entry file(String path, int mode, long gid, byte[] content) {
      return new Entry(path, mode, gid, content, null);
    }

    static Entry symlink(String path, String target) {
      return new Entry(path, 0777, 0, null, target);
    }
  }

  static byte[] of(List<Entry> entries) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
      for (Entry e : entries) {
        TarArchiveEntry t;
        if (e.link() != null) {
          t = new TarArchiveEntry(e.path(), TarConstants.LF_SYMLINK);
          t.setLinkName(e.link());
        } else if (e.content() == null) {
          t = new TarArchiveEntry(e.path() + "/");
          t.setMode(040000 | (e.mode() & 07777));
        } else {
          t = new TarArchiveEntry(e.path());
          t.setMode(0100000 | (e.mode() & 0777));
          t.setSize(e.content().length);
        }
        t.setUserId(0);
        t.setGroupId(e.gid());
        tar.putArchiveEntry(t);
        if (e.content() != null) {
          tar.write(e.content());
        }
        tar.closeArchiveEntry();
      }
      tar.finish();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
