package io.hpcbridge.backend.docker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/** Builds the tar archives Docker's archive API extracts into a container. */
final class Tar {
  private Tar() {}

  /** A tar, to be extracted at {@code /}, holding the files and their parent directories. */
  static byte[] of(List<ContainerSpecs.CopyFile> files) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      Set<String> dirs = new LinkedHashSet<>();
      for (ContainerSpecs.CopyFile f : files) {
        String rel = f.path().replaceAll("^/+", "");
        int i = rel.indexOf('/');
        while (i > 0) {
          dirs.add(rel.substring(0, i));
          i = rel.indexOf('/', i + 1);
        }
      }
      for (String d : dirs) {
        TarArchiveEntry e = new TarArchiveEntry(d + "/");
        e.setMode(040755);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
      }
      for (ContainerSpecs.CopyFile f : files) {
        TarArchiveEntry e = new TarArchiveEntry(f.path().replaceAll("^/+", ""));
        e.setMode(0100000 | (f.mode() & 07777));
        e.setSize(f.content().length);
        tar.putArchiveEntry(e);
        tar.write(f.content());
        tar.closeArchiveEntry();
      }
      tar.finish();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
