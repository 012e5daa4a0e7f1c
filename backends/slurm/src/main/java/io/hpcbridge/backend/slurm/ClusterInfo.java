package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the node advertises ({@code sinfo} totals of the configured partition, re-read every {@code
 * capacityRefresh}) and whether the controller answers ({@code scontrol ping}).
 */
final class ClusterInfo {
  private final LoginNode login;
  private volatile Capacity capacity;
  private volatile long capacityAt;

  ClusterInfo(LoginNode login) {
    this.login = login;
  }

  Capacity capacity() throws BackendException {
    SlurmConfig config = login.config();
    Capacity c = capacity;
    if (c != null
        && System.currentTimeMillis() - capacityAt < config.capacityRefresh().toMillis()) {
      return c;
    }
    String part = config.partition() == null ? "" : " -p " + Shell.quote(config.partition());
    Transport.Result r =
        login.exec(
            "sinfo -h -N"
                + part
                + " -o "
                + Shell.quote(SlurmOutput.SINFO_FORMAT)
                + " && echo @@version && sinfo -V");
    if (!r.ok()) {
      throw new BackendException.Transient("sinfo failed: " + r.stderr().strip());
    }
    String[] parts = r.stdout().split("@@version\n?", 2);
    long[] t = SlurmOutput.sinfoTotals(parts[0]);
    Map<String, String> info = new LinkedHashMap<>();
    info.put("slurmVersion", parts.length > 1 ? parts[1].strip() : "");
    info.put("partition", config.partition() == null ? "" : config.partition());
    info.put("slurmNodes", String.valueOf(t[3]));
    c = new Capacity(t[0] * 1000, t[1] << 20, t[2], config.maxPods(), info);
    capacity = c;
    capacityAt = System.currentTimeMillis();
    return c;
  }

  void ping() throws BackendException {
    Transport.Result r = login.exec("scontrol ping");
    if (!r.ok() || !r.stdout().contains("UP")) {
      throw new BackendException.Transient(
          "Slurm controller not reachable from "
              + login.describe()
              + ": "
              + (r.stdout() + " " + r.stderr()).strip());
    }
  }
}
