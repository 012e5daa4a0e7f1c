package io.hpcbridge.backend.slurm;

import static io.hpcbridge.backend.slurm.Invalid.printable;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.util.ArrayList;
import java.util.List;

/**
 * One volume mount of a container as a bind mount: {@code source} on the compute node (the pod's
 * {@code vol/NAME} directory, or a hostPath) at {@code target} in the container. The runtime
 * resolves the source on the compute node, following symlinks: {@code subPath} is refused where a
 * pod could have planted one (emptyDir, hostPath), and the wrapper refuses a source that passes
 * through a symlink it did not make ({@code hpcb_source_ok}).
 */
record Bind(String source, String target, boolean readOnly) {

  /** {@code SOURCE:TARGET} or {@code SOURCE:TARGET:ro}, as every runtime writes it. */
  String spec() {
    return source + ":" + target + (readOnly ? ":ro" : "");
  }

  /**
   * The binds of container {@code c}. ConfigMap, Secret, downwardAPI and projected volumes are
   * always read-only. {@code bindable} false (runtime none) refuses any mount.
   */
  static List<Bind> of(PodPlan plan, ContainerPlan c, String dir, boolean bindable)
      throws BackendException.InvalidPod {
    List<Bind> out = new ArrayList<>();
    for (ContainerPlan.Mount m : c.mounts()) {
      VolumePlan v =
          plan.volume(m.volume())
              .orElseThrow(
                  () ->
                      Invalid.pod(
                          "UnknownVolume",
                          "container "
                              + c.name()
                              + " mounts volume "
                              + printable(m.volume())
                              + " which the pod does not define"));
      if (!bindable) {
        throw Invalid.pod(
            "UnsupportedVolume",
            "container "
                + c.name()
                + " mounts volume "
                + m.volume()
                + " but runtime none cannot bind it at "
                + printable(m.mountPath())
                + "; choose a container runtime (annotation "
                + SlurmConfig.PREFIX
                + "runtime)");
      }
      if (!m.mountPath().startsWith("/") || !safePath(m.mountPath())) {
        throw Invalid.pod(
            "InvalidMountPath",
            "container "
                + c.name()
                + ": mountPath must be absolute and free of"
                + " ':' ',' and control characters: "
                + printable(m.mountPath()));
      }
      String source;
      if (v.type() == VolumePlan.Type.HOST_PATH) {
        if (v.hostPath() == null
            || !v.hostPath().startsWith("/")
            || !safePath(v.hostPath())
            || List.of(v.hostPath().split("/")).contains("..")) {
          throw Invalid.pod(
              "InvalidMountPath",
              "volume "
                  + v.name()
                  + ": hostPath must be absolute, without '..', and free of ':' ','");
        }
        source = v.hostPath();
      } else {
        source = dir + "/vol/" + v.name();
      }
      if (m.subPath() != null && !m.subPath().isEmpty()) {
        if (m.subPath().startsWith("/")
            || List.of(m.subPath().split("/")).contains("..")
            || !safePath(m.subPath())) {
          throw Invalid.pod(
              "InvalidMountPath",
              "container "
                  + c.name()
                  + ": subPath must be relative and stay inside"
                  + " the volume: "
                  + printable(m.subPath()));
        }
        if (v.type() == VolumePlan.Type.EMPTY_DIR || v.type() == VolumePlan.Type.HOST_PATH) {
          // The runtime resolves SOURCE/subPath on the compute node and follows symlinks: in a
          // directory pods write, a link planted there would bind whatever it points to.
          throw Invalid.pod(
              "UnsupportedSubPath",
              "container "
                  + c.name()
                  + ": subPath "
                  + printable(m.subPath())
                  + " of "
                  + (v.type() == VolumePlan.Type.EMPTY_DIR ? "emptyDir" : "hostPath")
                  + " volume "
                  + v.name()
                  + " is not supported (the compute node would follow a symlink a pod wrote"
                  + " there); "
                  + (v.type() == VolumePlan.Type.EMPTY_DIR
                      ? "mount the whole volume"
                      : "put the directory in the hostPath itself"));
        }
        source = source + "/" + m.subPath();
      }
      boolean ro =
          m.readOnly()
              || v.type() == VolumePlan.Type.CONFIG_MAP
              || v.type() == VolumePlan.Type.SECRET
              || v.type() == VolumePlan.Type.DOWNWARD_API
              || v.type() == VolumePlan.Type.PROJECTED;
      out.add(new Bind(source, m.mountPath(), ro));
    }
    return out;
  }

  private static boolean safePath(String p) {
    return p.chars().noneMatch(ch -> ch == ':' || ch == ',' || ch < 0x20 || ch == 0x7f);
  }
}
