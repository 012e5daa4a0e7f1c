package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.util.ArrayList;
import java.util.List;

/**
 * Replaces a running pod's volume files (a rotated service account token): each file is written
 * next to the old one and renamed over it, so a container (which sees {@code vol/NAME} bound as a
 * directory) reads the old or the new content, never half of one. A file bound with {@code subPath}
 * keeps the content it had at start, as under a kubelet.
 */
final class VolumeUpdater {
  private final LoginNode login;

  VolumeUpdater(LoginNode login) {
    this.login = login;
  }

  void update(Handle handle, VolumePlan volume) throws BackendException {
    SlurmHandle i = SlurmHandle.of(handle);
    if (!PodValidator.DNS_LABEL.matcher(volume.name()).matches()) {
      throw Invalid.pod(
          "InvalidName", "volume name is not a DNS label: " + Invalid.printable(volume.name()));
    }
    if (volume.type() == VolumePlan.Type.EMPTY_DIR || volume.type() == VolumePlan.Type.HOST_PATH) {
      throw Invalid.pod(
          "UnsupportedVolume", "volume " + volume.name() + " has no files the bridge writes");
    }
    String pod = login.podDir(i.uid());
    String dir = pod + "/vol/" + volume.name();
    List<Transport.FileWrite> files = new ArrayList<>();
    for (VolumePlan.FilePlan f : volume.files()) {
      files.add(new Transport.FileWrite(dir + "/" + f.path(), f.content(), f.mode()));
    }
    login.transport().replace(pod, files);
  }
}
