package io.hpcbridge.backend.docker;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.Resources;
import io.hpcbridge.backend.VolumePlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodStoreTest {
  @TempDir Path dir;

  @Test
  void planRoundTripsAndIsPrivate() throws Exception {
    ContainerPlan c =
        new ContainerPlan(
            "app",
            "busybox",
            "Never",
            List.of("sh"),
            List.of("-c", "x"),
            "/w",
            Map.of("K", "v"),
            Set.of("K"),
            new Resources(100, 200, 300, 400, 0, Map.of()),
            List.of(new ContainerPlan.Mount("s", "/s", null, true)),
            List.of(new ContainerPlan.Port("p", 80, 8080, "TCP")));
    var vols =
        List.of(
            new VolumePlan(
                "s",
                VolumePlan.Type.SECRET,
                List.of(
                    new VolumePlan.FilePlan("token", "abc".getBytes(StandardCharsets.UTF_8), 0600)),
                null,
                true));
    PodPlan plan = Plans.pod("p", List.of(), List.of(c), vols, PodPlan.RestartPolicy.ON_FAILURE);
    PodStore store = new PodStore(dir);
    store.savePlan(plan);
    store.saveHost(plan.pod().uid(), "h2");
    PodPlan back = store.plan(plan.pod().uid()).orElseThrow();
    assertThat(back.pod()).isEqualTo(plan.pod());
    assertThat(back.containers().get(0)).isEqualTo(c);
    assertThat(back.volumes().get(0).files().get(0).content())
        .isEqualTo("abc".getBytes(StandardCharsets.UTF_8));
    assertThat(back.restartPolicy()).isEqualTo(PodPlan.RestartPolicy.ON_FAILURE);
    assertThat(back.terminationGracePeriod()).isEqualTo(plan.terminationGracePeriod());
    assertThat(store.host(plan.pod().uid())).contains("h2");
    Path f = dir.resolve("docker-pods").resolve(plan.pod().uid()).resolve("plan.json");
    assertThat(Files.getPosixFilePermissions(f))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    assertThat(store.cancelled(plan.pod().uid())).isFalse();
    store.markCancelled(plan.pod().uid());
    assertThat(new PodStore(dir).cancelled(plan.pod().uid())).isTrue();
    assertThat(store.volumeVersion(plan.pod().uid(), "s")).isEmpty();
    store.saveVolumeVersion(plan.pod().uid(), "s", "..2026_01_01_00_00_00.000000001");
    assertThat(store.volumeVersion(plan.pod().uid(), "s"))
        .contains("..2026_01_01_00_00_00.000000001");
    store.forget(plan.pod().uid());
    assertThat(store.plan(plan.pod().uid())).isEmpty();
  }
}
