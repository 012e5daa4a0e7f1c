package io.hpcbridge.backend.local.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** File helpers never act on what a link, maybe swapped in by a pod, points to. */
class AtomicFilesTest {

  @TempDir Path dir;

  static int mode(Path p) throws IOException {
    return (int) Files.getAttribute(p, "unix:mode") & 07777;
  }

  @Test
  void mkdirSetsTheModeOfTheDirectoryItself() throws IOException {
    Path d = dir.resolve("a/b");
    AtomicFiles.mkdir(d, 02751);
    assertThat(mode(d)).isEqualTo(02751);
    AtomicFiles.mkdir(d, 0700); // exists: only the mode changes
    assertThat(mode(d)).isEqualTo(0700);
  }

  @Test
  void mkdirNeverChangesTheModeOfWhatALinkPointsTo() throws IOException {
    Path target = Files.createDirectory(dir.resolve("root-only"));
    Files.setPosixFilePermissions(target, AtomicFiles.permissions(0700));
    Path link = Files.createSymbolicLink(dir.resolve("link"), target);
    assertThatThrownBy(() -> AtomicFiles.mkdir(link, 0755)).isInstanceOf(IOException.class);
    assertThat(mode(target)).isEqualTo(0700);
  }
}
