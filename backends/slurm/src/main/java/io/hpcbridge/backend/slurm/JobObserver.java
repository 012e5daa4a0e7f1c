package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.slurm.SlurmOutput.Job;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Observes all pods with one remote command ({@code observe.sh}): {@code squeue --me} kept to the
 * tracked jobs, then the wrapper's status files of every pod, each read bounded and without
 * following a symlink ({@link PodFiles}). The job ids and UIDs travel on stdin, so the command does
 * not grow with the number of pods. Its output is bounded by a byte budget rather than by batches
 * sized for the worst pod: the reader stops at the budget and prints {@code @@deferred UID} for the
 * pods it did not read. A second command runs only when needed, for ALL of: the tracked jobs that
 * left the account's queue ({@code sacct}, or one {@code scontrol -o show job} filtered) and the
 * deferred pods. A pod still deferred after it (or unread: its files took too long) keeps its last
 * observation and is read first on the next poll. {@link StateMapper} turns each job and its files
 * into an {@link Observed}.
 */
final class JobObserver {
  private static final Logger LOG = LoggerFactory.getLogger(JobObserver.class);

  /** The most kept of a line Slurm prints. */
  static final int MAX_LINE = 4096;

  /** Room for the fixed lines of a command ({@code @@files}, a cut or failure marker). */
  static final int SLACK = 64 << 10;

  /** The longest pod UID ({@link PodValidator#UID}). */
  static final int MAX_UID = 64;

  /** What a pod may print beyond its budgeted files: one marker line (toolarge, unread…). */
  static final int MARKER = 24;

  /** squeue's format for observing: no job name, no comment (SlurmOutput.squeue's shape). */
  static final String SQUEUE_FORMAT = "%i||%T|%N|%V|%S|%e|%r|%u|";

  /** sacct's format for observing; observe.sh puts it in SlurmOutput.SACCT_FORMAT's shape. */
  static final String SACCT_FORMAT = "JobID,State,NodeList,Submit,Start,End,ExitCode,Reason,User";

  static final String SCRIPT = PodFiles.READER + PodFiles.load("observe.sh");

  private final LoginNode login;

  /** The pods deferred by the last poll: read first by the next. */
  private volatile Set<String> behind = Set.of();

  JobObserver(LoginNode login) {
    this.login = login;
  }

  /**
   * How many pods one command may carry: their marker lines, which the budget does not cover, take
   * at most a quarter of what a command may print. With 16 MiB that is over 47,000 pods.
   */
  static int podsPerCommand(int maxOutput) {
    return Math.max(1, (maxOutput / 4) / (MAX_UID + MARKER));
  }

  Map<Handle, Observed> observe(Collection<Handle> handles) throws BackendException {
    List<Map.Entry<Handle, SlurmHandle>> ids = new ArrayList<>();
    for (Handle h : handles) {
      try {
        ids.add(Map.entry(h, SlurmHandle.of(h)));
      } catch (BackendException.NotFound e) {
        LOG.warn("Ignoring {}: {}", h, e.getMessage());
      }
    }
    Set<String> first = behind;
    if (!first.isEmpty()) {
      // Deferred last time: first in line now, so no pod waits more than one extra poll.
      List<Map.Entry<Handle, SlurmHandle>> ordered = new ArrayList<>();
      ids.stream().filter(e -> first.contains(e.getValue().uid())).forEach(ordered::add);
      ids.stream().filter(e -> !first.contains(e.getValue().uid())).forEach(ordered::add);
      ids = ordered;
    }
    Map<Handle, Observed> out = new LinkedHashMap<>();
    Set<String> deferred = new HashSet<>();
    int per = podsPerCommand(login.transport().maxOutput());
    for (int from = 0; from < ids.size(); from += per) {
      observe(ids.subList(from, Math.min(ids.size(), from + per)), out, deferred);
    }
    behind = Set.copyOf(deferred);
    return out;
  }

  private void observe(
      List<Map.Entry<Handle, SlurmHandle>> ids, Map<Handle, Observed> out, Set<String> deferred)
      throws BackendException {
    List<String> jobIds = ids.stream().map(e -> e.getValue().jobId()).distinct().toList();
    List<String> uids = ids.stream().map(e -> e.getValue().uid()).distinct().toList();
    Set<String> asked = new HashSet<>(uids);
    Section queue = run("squeue", jobIds, uids);
    if (queue.slurm().contains("@@squeue-failed")) {
      throw new BackendException.Transient("squeue failed: " + queue.stderr());
    }
    Map<String, Job> jobs = new LinkedHashMap<>();
    SlurmOutput.squeue(queue.slurm()).forEach(j -> jobs.putIfAbsent(j.id(), j));
    Map<String, PodFiles> files = new LinkedHashMap<>(PodFiles.parse(queue.files()));
    Set<String> unread = PodFiles.unread(queue.files());
    Set<String> later = PodFiles.deferred(queue.files());
    later.retainAll(asked);

    // Left this account's queue (or past squeue's cap), and deferred pods: one more command.
    List<String> gone = jobIds.stream().filter(j -> !jobs.containsKey(j)).toList();
    Set<String> unanswered = new HashSet<>();
    if (!gone.isEmpty() || !later.isEmpty()) {
      Section more = run("gone", gone, List.copyOf(later));
      boolean accounting = login.config().accounting();
      (accounting ? SlurmOutput.sacct(more.slurm()) : SlurmOutput.scontrol(more.slurm()))
          .forEach(j -> jobs.putIfAbsent(j.id(), j));
      if (more.slurm().contains("@@gone-failed") || more.slurm().contains("@@gone-cut")) {
        // Not "Slurm forgot the job": Slurm did not answer for it this time.
        LOG.warn(
            "{} could not tell about every job that left the queue",
            accounting ? "sacct" : "scontrol");
        gone.stream().filter(j -> !jobs.containsKey(j)).forEach(unanswered::add);
      }
      files.putAll(PodFiles.parse(more.files()));
      unread.addAll(PodFiles.unread(more.files()));
      later = PodFiles.deferred(more.files());
      later.retainAll(asked);
    }
    deferred.addAll(later);
    if (!later.isEmpty()) {
      LOG.info(
          "{} pods' status files are left for the next poll (output budget spent)", later.size());
    }
    for (Map.Entry<Handle, SlurmHandle> e : ids) {
      SlurmHandle i = e.getValue();
      if (unread.contains(i.uid())) {
        // Not this time (a slow file system, or a FIFO swapped in): the last observation stands.
        LOG.warn("Pod {}: its status files could not be read in time", i.uid());
        continue;
      }
      if (later.contains(i.uid()) || unanswered.contains(i.jobId())) {
        continue;
      }
      out.put(
          e.getKey(),
          StateMapper.map(
              i.jobId(), jobs.get(i.jobId()), files.getOrDefault(i.uid(), PodFiles.NONE)));
    }
  }

  /** What one observe command printed: Slurm's section, then the status files. */
  private record Section(String slurm, String files, String stderr) {}

  private Section run(String section, List<String> jobIds, List<String> uids)
      throws BackendException.Transient {
    StringBuilder in = new StringBuilder();
    jobIds.forEach(j -> in.append(j).append('\n'));
    in.append("@@\n");
    long budget = login.transport().maxOutput() - SLACK;
    for (String u : uids) {
      in.append(u).append('\n');
      budget -= u.length() + MARKER;
    }
    Transport.Result r =
        login.exec(
            script(login.renderer(), login.config().accounting())
                + "hpcb_input\nhpcb_observe "
                + section
                + " "
                + Math.max(0, budget)
                + "\n",
            in.toString().getBytes(StandardCharsets.UTF_8));
    String[] parts = r.stdout().split("@@files\n?", 2);
    return new Section(parts[0], parts.length > 1 ? parts[1] : "", r.stderr().strip());
  }

  /** observe.sh with its settings: the same text for any number of pods. */
  static String script(SbatchRenderer r, boolean accounting) {
    return "HPCB_ROOT="
        + Shell.quote(r.workRoot())
        + " HPCB_POD_MAX="
        + PodFiles.MAX_POD_OUTPUT
        + " HPCB_READ_WAIT="
        + PodFiles.READ_WAIT_SECONDS
        + " HPCB_MAX_LINE="
        + MAX_LINE
        + " HPCB_ACCOUNTING="
        + (accounting ? 1 : 0)
        + " HPCB_SQUEUE_FORMAT="
        + Shell.quote(SQUEUE_FORMAT)
        + " HPCB_SACCT_FORMAT="
        + SACCT_FORMAT
        + "\n"
        + SCRIPT;
  }

  /**
   * The status files of a few pods ({@link JobFinder}): {@link PodFiles#READER} in the work root,
   * in a subshell so a missing work root does not end the command; the budget is the worst case.
   */
  static String podFilesCommand(SbatchRenderer r, List<String> uids) {
    StringBuilder b = new StringBuilder("(\ncd ").append(Shell.quote(r.workRoot()));
    b.append(" 2>/dev/null || exit 0\nHPCB_POD_MAX=").append(PodFiles.MAX_POD_OUTPUT);
    b.append(" HPCB_READ_WAIT=").append(PodFiles.READ_WAIT_SECONDS).append('\n');
    b.append(PodFiles.READER).append("hpcb_pods ");
    b.append((long) uids.size() * PodFiles.MAX_POD_OUTPUT);
    for (String u : uids) {
      b.append(' ').append(Shell.quote(u));
    }
    return b.append("\n)\n").toString();
  }
}
