package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.slurm.SlurmOutput.Job;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Observes many pods with one batched remote command per {@link #batchSize} pods: {@code squeue}
 * for their jobs and the wrapper's status files of their directories, each read bounded and without
 * following a symlink ({@link PodFiles}). Every line Slurm prints is cut at {@link #MAX_LINE} bytes
 * and every pod's files at {@link PodFiles#MAX_POD_OUTPUT}, so a batch can never print more than a
 * command may ({@link Transport#maxOutput}): a pod that writes too much fails alone. Only jobs that
 * left the queue cost a second command ({@code sacct} or {@code scontrol}, again one per batch).
 * {@link StateMapper} turns each job and its files into an {@link Observed}.
 */
final class JobObserver {
  private static final Logger LOG = LoggerFactory.getLogger(JobObserver.class);

  /** The most kept of a line Slurm prints (a job's name and comment are its owner's to change). */
  static final int MAX_LINE = 4096;

  /** What the worst line of {@code scontrol -o show job} or {@code sacct -P} may keep. */
  static final int MAX_JOB_RECORD = 16384;

  private final LoginNode login;

  JobObserver(LoginNode login) {
    this.login = login;
  }

  /** How many pods one command observes: each may print a squeue line and its files, no more. */
  static int batchSize(int maxOutput) {
    int perPod = PodFiles.MAX_POD_OUTPUT + MAX_LINE + 1;
    return Math.max(1, (maxOutput - 1024) / Math.max(perPod, MAX_JOB_RECORD + 1));
  }

  Map<Handle, Observed> observe(Collection<Handle> handles) throws BackendException {
    Map<Handle, SlurmHandle> ids = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        ids.put(h, SlurmHandle.of(h));
      } catch (BackendException.NotFound e) {
        LOG.warn("Ignoring {}: {}", h, e.getMessage());
      }
    }
    Map<Handle, Observed> out = new LinkedHashMap<>();
    List<Map.Entry<Handle, SlurmHandle>> all = new ArrayList<>(ids.entrySet());
    int batch = batchSize(login.transport().maxOutput());
    for (int from = 0; from < all.size(); from += batch) {
      observe(all.subList(from, Math.min(all.size(), from + batch)), out);
    }
    return out;
  }

  private void observe(List<Map.Entry<Handle, SlurmHandle>> ids, Map<Handle, Observed> out)
      throws BackendException {
    SbatchRenderer r = login.renderer();
    List<String> jobIds = ids.stream().map(e -> e.getValue().jobId()).distinct().toList();
    StringBuilder cmd = new StringBuilder("export SLURM_TIME_FORMAT=%s\n");
    cmd.append("{ squeue -h -a -t all -o ")
        .append(Shell.quote(SlurmOutput.SQUEUE_FORMAT))
        .append(" -j ")
        .append(jobList(jobIds))
        .append(" || echo @@squeue-failed; } | cut -b -")
        .append(MAX_LINE)
        .append("\necho @@files\n");
    cmd.append(podFilesCommand(r, ids.stream().map(e -> e.getValue().uid()).distinct().toList()));
    Transport.Result res = login.exec(cmd.toString());
    String[] parts = res.stdout().split("@@files\n?", 2);
    if (parts[0].contains("@@squeue-failed")) {
      throw new BackendException.Transient("squeue failed: " + res.stderr().strip());
    }
    Map<String, Job> jobs = new LinkedHashMap<>();
    SlurmOutput.squeue(parts[0]).forEach(j -> jobs.put(j.id(), j));
    Map<String, PodFiles> files = PodFiles.parse(parts.length > 1 ? parts[1] : "");

    List<String> missing = jobIds.stream().filter(j -> !jobs.containsKey(j)).toList();
    if (!missing.isEmpty()) {
      // Left squeue: ask accounting, else scontrol (one command for all of them).
      boolean accounting = login.config().accounting();
      String c =
          accounting
              ? "export SLURM_TIME_FORMAT=%s\nsacct -n -X -P -o "
                  + SlurmOutput.SACCT_FORMAT
                  + " -j "
                  + String.join(",", missing)
                  + " 2>/dev/null | cut -b -"
                  + MAX_JOB_RECORD
                  + "; true"
              : "export SLURM_TIME_FORMAT=%s\nfor j in "
                  + String.join(" ", missing)
                  + "; do scontrol -o show job \"$j\" 2>/dev/null; done | cut -b -"
                  + MAX_JOB_RECORD
                  + "; true";
      String o = login.exec(c).stdout();
      (accounting ? SlurmOutput.sacct(o) : SlurmOutput.scontrol(o))
          .forEach(j -> jobs.putIfAbsent(j.id(), j));
    }
    Set<String> unread = PodFiles.unread(parts.length > 1 ? parts[1] : "");
    for (Map.Entry<Handle, SlurmHandle> e : ids) {
      SlurmHandle i = e.getValue();
      if (unread.contains(i.uid())) {
        // Not this time (a slow file system, or a FIFO swapped in): the last observation stands.
        LOG.warn("Pod {}: its status files could not be read in time", i.uid());
        continue;
      }
      out.put(
          e.getKey(),
          StateMapper.map(
              i.jobId(), jobs.get(i.jobId()), files.getOrDefault(i.uid(), PodFiles.NONE)));
    }
  }

  /** squeue reads a single id as a job array's id list; repeating it keeps one job. */
  private static String jobList(List<String> jobIds) {
    return String.join(",", jobIds.size() == 1 ? List.of(jobIds.get(0), jobIds.get(0)) : jobIds);
  }

  /**
   * The status files of these pods in one go: {@link PodFiles#READER} in the work root, in a
   * subshell so a missing work root does not end the command.
   */
  static String podFilesCommand(SbatchRenderer r, List<String> uids) {
    StringBuilder b = new StringBuilder("(\ncd ").append(Shell.quote(r.workRoot()));
    b.append(" 2>/dev/null || exit 0\nHPCB_POD_MAX=").append(PodFiles.MAX_POD_OUTPUT);
    b.append(" HPCB_READ_WAIT=").append(PodFiles.READ_WAIT_SECONDS).append('\n');
    b.append(PodFiles.READER).append("hpcb_pods");
    for (String u : uids) {
      b.append(' ').append(Shell.quote(u));
    }
    return b.append("\n)\n").toString();
  }
}
