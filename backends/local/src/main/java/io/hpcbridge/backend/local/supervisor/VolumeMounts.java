package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RunAs;
import io.hpcbridge.backend.local.common.Tools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Mounts a container's volumes in its private mount namespace, and makes sure each mount shows what
 * the plan allowed. A pod can write in its emptyDir volumes (and maybe in a hostPath), so it could
 * plant a symbolic link where a subPath or a hostPath points, hoping the bridge follows it out of
 * the volume (CVE-2017-1002101). So: no path component of a source may be a link; missing subPath
 * directories are made by the pod's user from inside the volume; and after each mount the mounted
 * object must be the one that was checked (same device and inode), which defeats a link swapped in
 * between the check and the mount.
 */
final class VolumeMounts {

  /** Volumes whose files the bridge writes: always mounted read-only, as the kubelet does. */
  private static final Set<VolumePlan.Type> API_DATA =
      EnumSet.of(
          VolumePlan.Type.CONFIG_MAP,
          VolumePlan.Type.SECRET,
          VolumePlan.Type.DOWNWARD_API,
          VolumePlan.Type.PROJECTED);

  private final PodLayout layout;
  private final PodPlan plan;
  private final SupervisorOptions opts;

  VolumeMounts(PodLayout layout, PodPlan plan, SupervisorOptions opts) {
    this.layout = layout;
    this.plan = plan;
    this.opts = opts;
  }

  /** A checked mount source: its path, and the identity (device, inode) of the file it names. */
  private record Source(Path path, boolean directory, Object key) {}

  void mountAll(MountNamespace ns, ContainerPlan c, RunAs runAs) throws StartFailure, IOException {
    List<ContainerPlan.Mount> mounts = new ArrayList<>(c.mounts());
    // Parents first, so a volume mounted inside another one lands in it.
    mounts.sort(Comparator.comparingInt(m -> Path.of(m.mountPath()).normalize().getNameCount()));
    for (ContainerPlan.Mount m : mounts) {
      VolumePlan v =
          plan.volume(m.volume()).orElseThrow(() -> new StartFailure("no volume " + m.volume()));
      Source src = source(v, m, runAs);
      boolean ro = m.readOnly() || API_DATA.contains(v.type());
      String target = ns.resolve(m.mountPath());
      ns.mountPoint(target, !src.directory(), runAs);
      target = ns.resolve(m.mountPath()); // again: the pod's user made what was missing
      ns.bind(v.name(), src.path(), target, ro);
      ns.verify(v.name(), target, src.key(), ro);
    }
  }

  private Source source(VolumePlan v, ContainerPlan.Mount m, RunAs runAs)
      throws StartFailure, IOException {
    String what = "volume " + v.name();
    Path start;
    List<String> parts = new ArrayList<>();
    if (v.type() == VolumePlan.Type.HOST_PATH) {
      // The whole path, from /: the policy allowed it as written, so it may not pass a link.
      start = Path.of("/");
      Path hp = Path.of(v.hostPath()).normalize();
      hp.forEach(p -> parts.add(p.toString()));
    } else {
      start = layout.volume(v.name()); // the bridge's own directories up to here
    }
    String sub = m.subPath();
    if (sub != null && !sub.isEmpty()) {
      Path base = start.resolve(String.join("/", parts));
      if (!Files.exists(base.resolve(sub), LinkOption.NOFOLLOW_LINKS)) {
        // As the pod's user, from inside the volume: what it cannot create, it cannot mount.
        List<String> cmd = new ArrayList<>(runAs.setpriv(opts.tool("setpriv")));
        cmd.addAll(List.of(opts.tool("mkdir"), "-p", "--", sub));
        Tools.Result r = Tools.run(cmd, 10_000, base);
        if (!r.ok()) {
          throw new StartFailure(what + ": cannot create subPath " + sub + ": " + r.output());
        }
      }
      Path.of(sub).normalize().forEach(p -> parts.add(p.toString()));
    }
    BasicFileAttributes a;
    try {
      a = SafeWalk.attributes(start, parts);
    } catch (IOException e) {
      String where = sub == null || sub.isEmpty() ? "hostPath " + v.hostPath() : "subPath " + sub;
      throw new StartFailure(
          what
              + ": "
              + where
              + " cannot be reached without following a symbolic link, which could lead out of"
              + " the volume ("
              + e.getMessage()
              + ")");
    }
    return new Source(start.resolve(String.join("/", parts)), a.isDirectory(), a.fileKey());
  }
}
