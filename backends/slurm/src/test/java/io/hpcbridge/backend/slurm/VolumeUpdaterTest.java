package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.slurm.transport.LocalTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** updateVolume writes each file atomically and never through a symlink a pod planted. */
class VolumeUpdaterTest {
  @TempDir Path root;
  SlurmBackend backend;
  Path vol;
  final Handle handle = new SlurmHandle("1", "u-1").handle();

  @BeforeEach
  void setUp() throws Exception {
    backend =
        new SlurmBackend(
            SlurmConfig.parse(Map.of("workRoot", root.toString())),
            new LocalTransport(Duration.ofSeconds(30)));
    vol = Files.createDirectories(root.resolve("u-1/vol/token"));
    Files.writeString(vol.resolve("token"), "old");
  }

  static VolumePlan token(String content) {
    return new VolumePlan(
        "token",
        VolumePlan.Type.PROJECTED,
        List.of(Plans.file("token", content, 0600), Plans.file("ca/ca.crt", "CA", 0644)),
        null,
        true);
  }

  @Test
  void filesAreReplacedWithTheirModesAndNoTemporaryFileRemains() throws Exception {
    backend.updateVolume(handle, token("new"));
    assertThat(Files.readString(vol.resolve("token"))).isEqualTo("new");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(vol.resolve("token"))))
        .isEqualTo("rw-------");
    assertThat(Files.readString(vol.resolve("ca/ca.crt"))).isEqualTo("CA");
    try (var files = Files.list(vol)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("token", "ca");
    }
  }

  @Test
  void aSymlinkInTheWayIsReplacedOrRefusedNeverFollowed() throws Exception {
    Path victim = Files.createDirectories(root.resolve("victim"));
    Files.writeString(victim.resolve("authorized_keys"), "ssh-ed25519 KEEP");
    // The file itself is a symlink: it is replaced by a regular file; its target is untouched.
    Files.delete(vol.resolve("token"));
    Files.createSymbolicLink(vol.resolve("token"), victim.resolve("authorized_keys"));
    backend.updateVolume(handle, token("new"));
    assertThat(Files.isSymbolicLink(vol.resolve("token"))).isFalse();
    assertThat(Files.readString(victim.resolve("authorized_keys"))).isEqualTo("ssh-ed25519 KEEP");
    // The volume's directory is a symlink: nothing is written.
    Path moved = root.resolve("moved");
    Files.move(vol, moved);
    Files.createSymbolicLink(vol, victim);
    assertThatThrownBy(() -> backend.updateVolume(handle, token("newer")))
        .isInstanceOfSatisfying(
            BackendException.InvalidPod.class,
            e -> assertThat(e.reason()).isEqualTo("UnsafeVolumePath"));
    try (var files = Files.list(victim)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("authorized_keys");
    }
    assertThatThrownBy(
            () ->
                backend.updateVolume(
                    handle,
                    new VolumePlan("scratch", VolumePlan.Type.EMPTY_DIR, List.of(), null, false)))
        .isInstanceOf(BackendException.InvalidPod.class);
  }
}
