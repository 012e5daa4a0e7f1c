package io.hpcbridge.backend.docker;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.SELContext;
import com.github.dockerjava.api.model.Volume;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.io.ByteArrayInputStream;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod's emptyDir, configMap, secret, downwardAPI and projected volumes: one Docker volume each
 * ({@link Names#volume}), mounted read-write in the sandbox under {@value #ROOT} and into each
 * container that mounts it (files read-only, as the kubelet does). The files are written through
 * the sandbox with Docker's archive API, laid out like the kubelet's atomic writer:
 *
 * <pre>
 * ..2026_12_02_10_00_00.000000001/token   the files of one version
 * ..data -> ..2026_12_02_10_00_00.000000001
 * token -> ..data/token                  what the container opens
 * </pre>
 *
 * A new version ({@link #update}) is written beside the old one and then {@code ..data} is swapped,
 * so a reader sees the old file or the new one, never a mix. Docker replaces the link by removing
 * and re-creating it: for that moment a reader may find no file, nothing worse.
 *
 * <p>Ownership: root, with the pod's fsGroup as group when it has one (files gain group read,
 * directories the set-group-id bit), like the kubelet's volume ownership. An emptyDir is
 * world-writable (0777) like the kubelet's, or group {@code fsGroup} with mode 2777.
 */
final class PodVolumes {
  private static final Logger log = LoggerFactory.getLogger(PodVolumes.class);

  /** Where the sandbox mounts the pod's volumes. */
  static final String ROOT = "/.hpcbridge/volumes";

  private static final DateTimeFormatter VERSION =
      DateTimeFormatter.ofPattern("'..'yyyy_MM_dd_HH_mm_ss.SSSSSSSSS");

  private PodVolumes() {}

  /** Whether the volume lives in a Docker volume of the pod (everything but hostPath). */
  static boolean isDockerVolume(VolumePlan v) {
    return v.type() != VolumePlan.Type.HOST_PATH;
  }

  /** Whether its content comes from the plan (configMap, secret, downwardAPI, projected). */
  static boolean hasFiles(VolumePlan v) {
    return isDockerVolume(v) && v.type() != VolumePlan.Type.EMPTY_DIR;
  }

  /** The sandbox's mount point of a volume. */
  static String sandboxPath(String volume) {
    return ROOT + "/" + Names.clean(volume);
  }

  /** The pod's fsGroup (pod-level: the same in every container), or null. */
  static Long fsGroup(PodPlan plan) {
    return plan.allContainers()
        .map(c -> c.security().fsGroup())
        .filter(g -> g != null)
        .findFirst()
        .orElse(null);
  }

  /** The first version of every volume: writing it again (after a restart) changes nothing. */
  static final String FIRST_VERSION =
      LocalDateTime.ofEpochSecond(0, 0, ZoneOffset.UTC).format(VERSION);

  /** A new version name, sortable, never the same twice in practice. */
  static String newVersion() {
    return LocalDateTime.now(ZoneOffset.UTC).format(VERSION);
  }

  /** The path's segments without empty and {@code .} ones. */
  static List<String> segments(String path) {
    List<String> out = new ArrayList<>();
    for (String s : path.split("/")) {
      if (!s.isEmpty() && !s.equals(".")) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * Everything the sandbox extracts at {@value #ROOT} before it starts: each volume's root with its
   * mode and group, and the first version of each volume's files.
   */
  static List<Tar.Entry> initial(PodPlan plan, String version) {
    Long fsGroup = fsGroup(plan);
    long gid = fsGroup == null ? 0 : fsGroup;
    List<Tar.Entry> out = new ArrayList<>();
    for (VolumePlan v : plan.volumes()) {
      String root = Names.clean(v.name());
      if (v.type() == VolumePlan.Type.EMPTY_DIR) {
        out.add(Tar.Entry.dir(root, fsGroup == null ? 0777 : 02777, gid));
      } else if (hasFiles(v)) {
        out.add(Tar.Entry.dir(root, dirMode(fsGroup), gid));
        out.addAll(version(root, v, version, fsGroup, Set.of()));
      }
    }
    return out;
  }

  /**
   * A new version of one volume's files: the files, then the {@code ..data} swap, then links for
   * top-level names the previous version did not have.
   */
  static List<Tar.Entry> version(
      String root, VolumePlan v, String version, Long fsGroup, Set<String> previousTop) {
    long gid = fsGroup == null ? 0 : fsGroup;
    List<Tar.Entry> out = new ArrayList<>();
    out.add(Tar.Entry.dir(root + "/" + version, dirMode(fsGroup), gid));
    Set<String> dirs = new LinkedHashSet<>();
    Set<String> top = new LinkedHashSet<>();
    Map<String, VolumePlan.FilePlan> files = new LinkedHashMap<>();
    for (VolumePlan.FilePlan f : v.files()) {
      List<String> seg = segments(f.path());
      if (seg.isEmpty()) {
        continue;
      }
      top.add(seg.get(0));
      for (int i = 1; i < seg.size(); i++) {
        dirs.add(String.join("/", seg.subList(0, i)));
      }
      files.put(String.join("/", seg), f);
    }
    for (String d : dirs) {
      out.add(Tar.Entry.dir(root + "/" + version + "/" + d, dirMode(fsGroup), gid));
    }
    files.forEach(
        (path, f) ->
            out.add(
                Tar.Entry.file(
                    root + "/" + version + "/" + path,
                    fsGroup == null ? f.mode() : f.mode() | 0440,
                    gid,
                    f.content())));
    out.add(Tar.Entry.symlink(root + "/..data", version));
    for (String t : top) {
      if (!previousTop.contains(t)) {
        out.add(Tar.Entry.symlink(root + "/" + t, "..data/" + t));
      }
    }
    return out;
  }

  private static int dirMode(Long fsGroup) {
    return fsGroup == null ? 0755 : 02755;
  }

  /** The top-level names of a volume's files. */
  static Set<String> topNames(VolumePlan v) {
    Set<String> out = new LinkedHashSet<>();
    for (VolumePlan.FilePlan f : v.files()) {
      List<String> seg = segments(f.path());
      if (!seg.isEmpty()) {
        out.add(seg.get(0));
      }
    }
    return out;
  }

  /** Creates the pod's Docker volumes (an existing one of the same name is kept). */
  static void create(DockerHost host, PodPlan plan, String nodeName) {
    for (VolumePlan v : plan.volumes()) {
      if (isDockerVolume(v)) {
        host.client
            .createVolumeCmd()
            .withName(Names.volume(plan.pod(), v.name()))
            .withLabels(Map.of(Names.LABEL_POD_UID, plan.pod().uid(), Names.LABEL_NODE, nodeName))
            .exec();
      }
    }
  }

  /** Writes entries into the pod's volumes through its sandbox (created or running). */
  static void write(DockerHost host, String sandboxId, List<Tar.Entry> entries) {
    if (entries.isEmpty()) {
      return;
    }
    host.client
        .copyArchiveToContainerCmd(sandboxId)
        .withRemotePath(ROOT)
        .withTarInputStream(new ByteArrayInputStream(Tar.of(entries)))
        .exec();
  }

  /**
   * Removes an old version of a volume's files, from inside the sandbox: the archive API cannot
   * delete. Best effort: a sandbox image without {@code rm} keeps old versions (they are small and
   * go with the pod).
   */
  static void removeVersion(DockerHost host, String sandboxId, String volume, String version) {
    if (version == null || !version.matches("\\.\\.[0-9_.]+")) {
      return;
    }
    try {
      String exec =
          host.client
              .execCreateCmd(sandboxId)
              .withCmd("rm", "-rf", "--", sandboxPath(volume) + "/" + version)
              .exec()
              .getId();
      host.client
          .execStartCmd(exec)
          .exec(new ResultCallback.Adapter<Frame>())
          .awaitCompletion(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.debug("old version {} of volume {} stays: {}", version, volume, DockerHost.describe(e));
    }
  }

  /** The sandbox mounts every Docker volume of the pod, read-write, to write their files. */
  static List<Bind> sandboxBinds(PodPlan plan) {
    List<Bind> out = new ArrayList<>();
    for (VolumePlan v : plan.volumes()) {
      if (isDockerVolume(v)) {
        out.add(
            new Bind(
                Names.volume(plan.pod(), v.name()),
                new Volume(sandboxPath(v.name())),
                AccessMode.rw,
                SELContext.none,
                true));
      }
    }
    return out;
  }

  static boolean hasSubPath(ContainerPlan.Mount m) {
    return m.subPath() != null && !segments(m.subPath()).isEmpty();
  }

  /** The volumes of which the container mounts one path (their host paths are needed). */
  static Set<String> subPathVolumes(PodPlan plan, ContainerPlan c) {
    Set<String> out = new LinkedHashSet<>();
    for (ContainerPlan.Mount m : c.mounts()) {
      VolumePlan v = plan.volume(m.volume()).orElseThrow();
      if (hasFiles(v) && hasSubPath(m)) {
        out.add(v.name());
      }
    }
    return out;
  }

  /**
   * The container's binds: an emptyDir read-write (unless the mount is read-only), a configMap,
   * secret, downwardAPI or projected volume read-only; one path of such a volume (subPath) is bound
   * from the volume's directory on the Docker host ({@code volumePaths}) at its current version,
   * and like on a kubelet does not see later versions. Docker never copies the image's files into
   * these volumes ({@code nocopy}). hostPath: the host's path.
   */
  static List<Bind> binds(PodPlan plan, ContainerPlan c, Map<String, String> volumePaths) {
    List<Bind> binds = new ArrayList<>();
    for (ContainerPlan.Mount m : c.mounts()) {
      VolumePlan v = plan.volume(m.volume()).orElseThrow();
      Volume target = new Volume(m.mountPath());
      AccessMode mode = m.readOnly() ? AccessMode.ro : AccessMode.rw;
      String name = Names.volume(plan.pod(), v.name());
      if (v.type() == VolumePlan.Type.HOST_PATH) {
        String src = v.hostPath();
        if (hasSubPath(m)) {
          src = src.replaceAll("/+$", "") + "/" + String.join("/", segments(m.subPath()));
        }
        binds.add(new Bind(src, target, mode));
      } else if (v.type() == VolumePlan.Type.EMPTY_DIR) {
        binds.add(new Bind(name, target, mode, SELContext.none, true));
      } else if (!hasSubPath(m)) {
        binds.add(new Bind(name, target, AccessMode.ro, SELContext.none, true));
      } else {
        String base = volumePaths.get(v.name());
        if (base == null) {
          throw new IllegalStateException("no host path known for volume " + v.name());
        }
        binds.add(
            new Bind(
                base + "/..data/" + String.join("/", segments(m.subPath())),
                target,
                AccessMode.ro));
      }
    }
    return binds;
  }

  /**
   * Replaces the files of a configMap, secret, downwardAPI or projected volume of a running pod: a
   * new version written through its sandbox, then {@code ..data} swapped, so every container
   * mounting the volume sees the new files at once; the old version is removed.
   */
  static void update(
      DockerHost host, String nodeName, PodStore store, String uid, VolumePlan volume)
      throws BackendException {
    PodPlan plan =
        store
            .plan(uid)
            .orElseThrow(() -> new BackendException.NotFound("no record of pod " + uid + " here"));
    VolumePlan old =
        plan.volume(volume.name())
            .orElseThrow(
                () ->
                    new BackendException.NotFound(
                        "pod " + plan.pod() + " has no volume " + volume.name()));
    if (!hasFiles(old) || !hasFiles(volume)) {
      throw new BackendException.InvalidPod(
          "UnsupportedVolumeUpdate",
          "only the files of configMap, secret, downwardAPI and projected volumes can be"
              + " replaced, not volume "
              + volume.name());
    }
    ContainerSpecs.validateFiles(volume);
    try {
      String sandbox =
          Containers.ofPod(host, nodeName, uid).stream()
              .filter(Containers::isSandbox)
              .map(c -> c.getId())
              .findFirst()
              .orElseThrow(
                  () ->
                      new BackendException.NotFound(
                          "pod " + plan.pod() + " has no sandbox on " + host.name()));
      String previous = store.volumeVersion(uid, volume.name()).orElse(FIRST_VERSION);
      String version = newVersion();
      write(
          host,
          sandbox,
          version(Names.clean(volume.name()), volume, version, fsGroup(plan), topNames(old)));
      store.saveVolumeVersion(uid, volume.name(), version);
      store.savePlan(withVolume(plan, volume));
      removeVersion(host, sandbox, volume.name(), previous);
    } catch (RuntimeException e) {
      throw DockerHosts.transientOrWrap(host, "updating volume " + volume.name(), e);
    }
  }

  private static PodPlan withVolume(PodPlan p, VolumePlan v) {
    return p.withVolumes(p.volumes().stream().map(x -> x.name().equals(v.name()) ? v : x).toList());
  }
}
