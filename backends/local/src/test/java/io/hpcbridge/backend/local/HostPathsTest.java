package io.hpcbridge.backend.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.ProcFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A missing hostPath is made by the bridge for itself, one directory at a time, never via a link.
 */
class HostPathsTest {

  @TempDir Path dir;

  static VolumePlan hostPath(Path p) {
    return new VolumePlan("host", VolumePlan.Type.HOST_PATH, null, p.toString(), false);
  }

  @Test
  void eachMissingDirectoryIsTheBridgesWithMode0755() throws Exception {
    Path p = dir.resolve("a/b/c");
    HostPaths.create(hostPath(p));
    for (Path d = p; !d.equals(dir); d = d.getParent()) {
      assertThat((int) Files.getAttribute(d, "unix:mode") & 07777).as(d.toString()).isEqualTo(0755);
      assertThat(((Integer) Files.getAttribute(d, "unix:uid")).longValue())
          .isEqualTo(ProcFs.effectiveUid());
    }
    HostPaths.create(hostPath(p)); // there: nothing to do
  }

  @Test
  void aLinkOnTheWayIsRefusedAndWhatItPointsToIsLeftAlone() throws IOException {
    Path target = Files.createDirectory(dir.resolve("root-only"));
    Files.setPosixFilePermissions(target, AtomicFiles.permissions(0700));
    Files.createSymbolicLink(dir.resolve("link"), target);
    assertThatThrownBy(() -> HostPaths.create(hostPath(dir.resolve("link/new/dir"))))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("InvalidHostPath"));
    assertThat(target.resolve("new")).doesNotExist();
    assertThat((int) Files.getAttribute(target, "unix:mode") & 07777).isEqualTo(0700);
  }
}
