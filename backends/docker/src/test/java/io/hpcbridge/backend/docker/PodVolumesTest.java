package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.SecurityPlan;
import io.hpcbridge.backend.VolumePlan;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.Test;

/** The layout of a pod's volumes as the sandbox writes them. */
class PodVolumesTest {
  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static final List<VolumePlan> VOLS =
      List.of(
          new VolumePlan("cache", VolumePlan.Type.EMPTY_DIR, List.of(), null, false),
          new VolumePlan("data", VolumePlan.Type.HOST_PATH, List.of(), "/srv", false),
          new VolumePlan(
              "sec",
              VolumePlan.Type.SECRET,
              List.of(
                  new VolumePlan.FilePlan("token", b("t1"), 0600),
                  new VolumePlan.FilePlan("certs/ca.crt", b("ca"), 0644)),
              null,
              true));

  static PodPlan pod(SecurityPlan security) {
    ContainerPlan c = Plans.sh("app", "true").withSecurity(security);
    return Plans.pod("p", List.of(), List.of(c), VOLS, PodPlan.RestartPolicy.NEVER);
  }

  /** name, type, mode, gid, link of each entry. */
  static List<String> listing(List<Tar.Entry> entries) throws Exception {
    List<String> out = new ArrayList<>();
    try (var in = new TarArchiveInputStream(new ByteArrayInputStream(Tar.of(entries)))) {
      TarArchiveEntry e;
      while ((e = in.getNextEntry()) != null) {
        String kind =
            e.isSymbolicLink() ? "-> " + e.getLinkName() : e.isDirectory() ? "dir" : "file";
        out.add(
            e.getName()
                + " "
                + kind
                + (e.isSymbolicLink() ? "" : " " + Integer.toOctalString(e.getMode() & 07777))
                + (e.isSymbolicLink() ? "" : " " + e.getUserId() + ":" + e.getLongGroupId()));
      }
    }
    return out;
  }

  @Test
  void firstVersionLikeTheKubeletsAtomicWriter() throws Exception {
    String v = PodVolumes.FIRST_VERSION;
    assertThat(v).isEqualTo("..1970_01_01_00_00_00.000000000");
    assertThat(listing(PodVolumes.initial(pod(SecurityPlan.NONE), v)))
        .containsExactly(
            "cache/ dir 777 0:0",
            "sec/ dir 755 0:0",
            "sec/" + v + "/ dir 755 0:0",
            "sec/" + v + "/certs/ dir 755 0:0",
            "sec/" + v + "/token file 600 0:0",
            "sec/" + v + "/certs/ca.crt file 644 0:0",
            "sec/..data -> " + v,
            "sec/token -> ..data/token",
            "sec/certs -> ..data/certs");
  }

  @Test
  void fsGroupOwnsTheVolumes() throws Exception {
    SecurityPlan fs =
        new SecurityPlan(
            1000L, null, null, List.of(), 3000L, false, null, List.of(), List.of(), false, null);
    assertThat(PodVolumes.fsGroup(pod(fs))).isEqualTo(3000L);
    assertThat(listing(PodVolumes.initial(pod(fs), PodVolumes.FIRST_VERSION)))
        .contains(
            "cache/ dir 2777 0:3000",
            "sec/ dir 2755 0:3000",
            "sec/" + PodVolumes.FIRST_VERSION + "/token file 640 0:3000");
  }

  @Test
  void anUpdateSwapsDataAndLinksOnlyNewNames() throws Exception {
    VolumePlan next =
        new VolumePlan(
            "sec",
            VolumePlan.Type.SECRET,
            List.of(
                new VolumePlan.FilePlan("token", b("t2"), 0600),
                new VolumePlan.FilePlan("extra", b("x"), 0600)),
            null,
            true);
    String v = PodVolumes.newVersion();
    assertThat(v).matches("\\.\\.\\d{4}_\\d\\d_\\d\\d_\\d\\d_\\d\\d_\\d\\d\\.\\d{9}");
    assertThat(listing(PodVolumes.version("sec", next, v, null, Set.of("token", "certs"))))
        .containsExactly(
            "sec/" + v + "/ dir 755 0:0",
            "sec/" + v + "/token file 600 0:0",
            "sec/" + v + "/extra file 600 0:0",
            "sec/..data -> " + v,
            "sec/extra -> ..data/extra");
  }

  @Test
  void aFilesSetuidSetgidAndStickyBitsNeverReachTheVolume() throws Exception {
    // a pod's defaultMode or item mode may say 04755, 02755 or 01777: the file gets 0755, 0777
    VolumePlan v =
        new VolumePlan(
            "cfg",
            VolumePlan.Type.CONFIG_MAP,
            List.of(
                new VolumePlan.FilePlan("suid", b("x"), 04755),
                new VolumePlan.FilePlan("sgid", b("x"), 02755),
                new VolumePlan.FilePlan("sticky", b("x"), 01777),
                new VolumePlan.FilePlan("all", b("x"), 07777)),
            null,
            false);
    String ver = PodVolumes.FIRST_VERSION;
    assertThat(listing(PodVolumes.version("cfg", v, ver, null, Set.of())))
        .contains(
            "cfg/" + ver + "/suid file 755 0:0",
            "cfg/" + ver + "/sgid file 755 0:0",
            "cfg/" + ver + "/sticky file 777 0:0",
            "cfg/" + ver + "/all file 777 0:0");
    // with an fsGroup the files gain group read, and only the volume's own directories setgid
    assertThat(listing(PodVolumes.version("cfg", v, ver, 3000L, Set.of())))
        .contains("cfg/" + ver + "/ dir 2755 0:3000", "cfg/" + ver + "/sgid file 755 0:3000");
  }

  @Test
  void filesMayNotTakeTheLayoutsNames() {
    VolumePlan bad =
        new VolumePlan(
            "cfg",
            VolumePlan.Type.CONFIG_MAP,
            List.of(new VolumePlan.FilePlan("..data", b("x"), 0644)),
            null,
            false);
    assertThatThrownBy(() -> ContainerSpecs.validateFiles(bad))
        .isInstanceOf(BackendException.InvalidPod.class)
        .hasMessageContaining("..data")
        .extracting(e -> ((BackendException.InvalidPod) e).reason())
        .isEqualTo("InvalidVolumePath");
  }
}
