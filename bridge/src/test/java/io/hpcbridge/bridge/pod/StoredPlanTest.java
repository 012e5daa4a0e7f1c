package io.hpcbridge.bridge.pod;

import static org.assertj.core.api.Assertions.assertThat;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.bridge.Json;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What the state file keeps of a plan: no secret anywhere, no file contents at all. */
class StoredPlanTest {

  @Test
  void secretsAndFileContentsNeverReachTheStateFile() {
    ContainerPlan c =
        new ContainerPlan(
            "main",
            "busybox",
            null,
            List.of("run", "--token=hunter2"),
            List.of(),
            null,
            Map.of("TOKEN", "hunter2", "USER_DIR", "users/hunter2"),
            Set.of("TOKEN", "USER_DIR"),
            null,
            List.of(new ContainerPlan.Mount("data", "/data", "users/hunter2", false)),
            List.of());
    byte[] big = "x".repeat(1 << 20).getBytes(StandardCharsets.UTF_8);
    PodPlan plan =
        new PodPlan(
            new PodRef("ns", "p", "u"),
            "node",
            List.of(),
            List.of(c),
            List.of(
                new VolumePlan(
                    "cfg",
                    VolumePlan.Type.CONFIG_MAP,
                    List.of(new VolumePlan.FilePlan("big.json", big, 0644)),
                    null,
                    false),
                new VolumePlan("data", VolumePlan.Type.EMPTY_DIR, List.of(), null, false)),
            PodPlan.RestartPolicy.NEVER,
            Duration.ofSeconds(1),
            Optional.empty(),
            Map.of(),
            Map.of());
    String stored = Json.write(Launcher.stored(plan));
    assertThat(stored).doesNotContain("hunter2").contains("big.json");
    assertThat(stored.length()).isLessThan(4096);
  }
}
