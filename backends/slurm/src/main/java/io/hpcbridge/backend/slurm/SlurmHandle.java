package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;

/**
 * A pod's Slurm job: the handle id {@code JOBID/UID} names the job and the pod (whose directory is
 * {@code WORKROOT/UID}).
 */
record SlurmHandle(String jobId, String uid) {
  static final String BACKEND = "slurm";

  static SlurmHandle of(Handle h) throws BackendException.NotFound {
    int slash = h.id().indexOf('/');
    if (!h.backend().equals(BACKEND)
        || slash <= 0
        || !h.id().substring(0, slash).matches("\\d{1,18}(_\\d{1,9})?")
        || !PodValidator.UID.matcher(h.id().substring(slash + 1)).matches()) {
      throw new BackendException.NotFound("not a Slurm handle: " + h);
    }
    return new SlurmHandle(h.id().substring(0, slash), h.id().substring(slash + 1));
  }

  Handle handle() {
    return new Handle(BACKEND, jobId + "/" + uid);
  }
}
