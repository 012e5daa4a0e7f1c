package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.slurm.SlurmOutput.Job;
import io.hpcbridge.backend.slurm.SlurmOutput.PodFiles;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each pod as one Slurm batch job. The handle id is {@code JOBID/UID}; the pod's directory is
 * {@code WORKROOT/UID} on the shared file system.
 */
public final class SlurmBackend implements Backend {
  private static final Logger LOG = LoggerFactory.getLogger(SlurmBackend.class);
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern UID = Pattern.compile("[A-Za-z0-9-]{1,64}");

  /** sbatch errors that say nothing about the pod: retry later. */
  private static final List<String> TRANSIENT =
      List.of(
          "unable to contact",
          "timed out",
          "temporarily",
          "socket",
          "connection",
          "zero bytes",
          "maxsubmit",
          "try again",
          "slurmctld",
          "resource temporarily unavailable");

  private final SlurmConfig config;
  private final Transport transport;
  private final ScheduledExecutorService timer;
  private volatile SbatchRenderer renderer;
  private volatile Capacity capacity;
  private volatile long capacityAt;

  public SlurmBackend(SlurmConfig config, Transport transport) {
    this.config = config;
    this.transport = transport;
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "slurm-backend-timer");
              t.setDaemon(true);
              return t;
            });
  }

  @Override
  public String name() {
    return "slurm";
  }

  /** The renderer, once the remote home directory is known. */
  public SbatchRenderer renderer() throws BackendException.Transient {
    SbatchRenderer r = renderer;
    if (r == null) {
      String home = "/";
      if (config.workRoot().startsWith("~/")) {
        Transport.Result res = transport.exec("printf '%s' \"$HOME\"", null);
        if (!res.ok() || !res.stdout().startsWith("/")) {
          throw new BackendException.Transient(
              "cannot learn the home directory on " + transport.describe() + ": " + res.stderr());
        }
        home = res.stdout().trim();
      }
      r = renderer = new SbatchRenderer(config, home);
    }
    return r;
  }

  /**
   * The exact script {@link #submit} would hand sbatch. Offline (login node unreachable) a {@code
   * ~/} work root is shown under {@code /home/<user>}.
   */
  @Override
  public String render(PodPlan plan) throws BackendException {
    SbatchRenderer r;
    try {
      r = renderer();
    } catch (BackendException.Transient e) {
      String user =
          config.ssh() != null && config.ssh().user() != null
              ? config.ssh().user()
              : System.getProperty("user.name");
      r = new SbatchRenderer(config, "/home/" + user);
    }
    return r.render(plan);
  }

  static String handleId(String jobId, String uid) {
    return jobId + "/" + uid;
  }

  record Ids(String jobId, String uid) {
    static Ids of(Handle h) throws BackendException.NotFound {
      int slash = h.id().indexOf('/');
      if (slash <= 0
          || !h.id().substring(0, slash).matches("\\d+(_\\d+)?")
          || !UID.matcher(h.id().substring(slash + 1)).matches()) {
        throw new BackendException.NotFound("not a Slurm handle: " + h);
      }
      return new Ids(h.id().substring(0, slash), h.id().substring(slash + 1));
    }
  }

  // ---- submit ------------------------------------------------------------------------------

  @Override
  public Handle submit(PodPlan plan) throws BackendException {
    RenderedJob job = renderer().prepare(plan);
    Optional<Handle> existing = find(plan.pod());
    if (existing.isPresent()) {
      LOG.info(
          "Pod {} already has Slurm job {}; not submitting again", plan.pod(), existing.get().id());
      return existing.get();
    }
    List<Transport.FileWrite> files = new ArrayList<>();
    for (RenderedJob.RemoteFile f : job.files()) {
      files.add(new Transport.FileWrite(job.podDir() + "/" + f.path(), f.content(), f.mode()));
    }
    files.add(
        new Transport.FileWrite(
            job.podDir() + "/job.sh", job.script().getBytes(StandardCharsets.UTF_8), 0644));
    transport.exec(
        "mkdir -p " + Shell.quote(job.podDir()) + " && chmod 0700 " + Shell.quote(job.podDir()),
        null);
    transport.write(files);
    Transport.Result r =
        transport.exec("sbatch --parsable", job.script().getBytes(StandardCharsets.UTF_8));
    if (!r.ok()) {
      String msg = (r.stderr() + "\n" + r.stdout()).strip();
      String lower = msg.toLowerCase(Locale.ROOT);
      if (r.exitCode() == 127
          || TRANSIENT.stream().anyMatch(lower::contains)
          || !lower.contains("error")) {
        throw new BackendException.Transient("sbatch failed (exit " + r.exitCode() + "): " + msg);
      }
      throw new BackendException.InvalidPod(
          "SlurmRejected", "sbatch rejected the job: " + sbatchMessage(msg));
    }
    String jobId = r.stdout().strip().split(";")[0].strip();
    if (!jobId.matches("\\d+")) {
      throw new BackendException.Transient("sbatch printed no job id: " + r.stdout().strip());
    }
    transport.write(
        List.of(
            new Transport.FileWrite(
                job.podDir() + "/submitted",
                (jobId + "\n").getBytes(StandardCharsets.UTF_8),
                0644)));
    LOG.info("Pod {} submitted as Slurm job {}", plan.pod(), jobId);
    return new Handle(name(), handleId(jobId, plan.pod().uid()));
  }

  /** sbatch's own words, without the "sbatch: error: " prefixes. */
  static String sbatchMessage(String stderr) {
    List<String> parts = new ArrayList<>();
    for (String l : stderr.split("\n")) {
      String t = l.replaceFirst("^sbatch: error: ", "").strip();
      if (!t.isEmpty()) {
        parts.add(t);
      }
    }
    return String.join("; ", parts);
  }

  // ---- find --------------------------------------------------------------------------------

  @Override
  public Optional<Handle> find(PodRef pod) throws BackendException {
    if (!UID.matcher(pod.uid()).matches()) {
      return Optional.empty();
    }
    String dir = renderer().podDir(pod.uid());
    String name = SbatchRenderer.jobName(pod.uid());
    StringBuilder cmd = new StringBuilder("export SLURM_TIME_FORMAT=%s\n");
    cmd.append("squeue -h -a -t all -o ")
        .append(Shell.quote(SlurmOutput.SQUEUE_FORMAT))
        .append(" -n ")
        .append(Shell.quote(name))
        .append(" || echo @@squeue-failed\n");
    if (config.accounting()) {
      cmd.append("echo @@sacct\nsacct -n -X -P -S now-30days -o ")
          .append(SlurmOutput.SACCT_FORMAT)
          .append(" --name=")
          .append(Shell.quote(name))
          .append(" 2>/dev/null\n");
    }
    cmd.append("echo @@files\ncat ")
        .append(Shell.quote(dir + "/submitted"))
        .append(' ')
        .append(Shell.quote(dir + "/jobid"))
        .append(" 2>/dev/null; true\n");
    Transport.Result r = transport.exec(cmd.toString(), null);
    if (r.stdout().contains("@@squeue-failed")) {
      throw new BackendException.Transient("squeue failed: " + r.stderr().strip());
    }
    String[] parts = r.stdout().split("@@files\n?", 2);
    List<Job> jobs = new ArrayList<>(SlurmOutput.squeue(parts[0]));
    if (config.accounting()) {
      jobs.addAll(SlurmOutput.sacct(parts[0]));
    }
    Optional<Job> best =
        jobs.stream()
            .filter(j -> j.name().equals(name))
            .max(
                Comparator.comparing(
                        (Job j) ->
                            !StateMapper.FAILED_REASONS.containsKey(j.state())
                                && !j.state().equals("COMPLETED"))
                    .thenComparing(j -> Long.parseLong(j.id().replaceAll("_.*", ""))));
    if (best.isPresent()) {
      return Optional.of(new Handle(name(), handleId(best.get().id(), pod.uid())));
    }
    if (parts.length > 1) {
      for (String l : parts[1].split("\n")) {
        if (l.strip().matches("\\d+")) {
          return Optional.of(new Handle(name(), handleId(l.strip(), pod.uid())));
        }
      }
    }
    return Optional.empty();
  }

  // ---- observe -----------------------------------------------------------------------------

  @Override
  public Map<Handle, Observed> observe(Collection<Handle> handles) throws BackendException {
    Map<Handle, Ids> ids = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        ids.put(h, Ids.of(h));
      } catch (BackendException.NotFound e) {
        LOG.warn("Ignoring {}: {}", h, e.getMessage());
      }
    }
    Map<Handle, Observed> out = new LinkedHashMap<>();
    if (ids.isEmpty()) {
      return out;
    }
    SbatchRenderer r = renderer();
    List<String> jobIds = ids.values().stream().map(Ids::jobId).distinct().toList();
    String jobList =
        String.join(",", jobIds.size() == 1 ? List.of(jobIds.get(0), jobIds.get(0)) : jobIds);
    StringBuilder cmd = new StringBuilder("export SLURM_TIME_FORMAT=%s\n");
    cmd.append("squeue -h -a -t all -o ")
        .append(Shell.quote(SlurmOutput.SQUEUE_FORMAT))
        .append(" -j ")
        .append(jobList)
        .append(" || echo @@squeue-failed\necho @@files\n");
    cmd.append(podFilesCommand(r, ids.values().stream().map(Ids::uid).distinct().toList()));
    Transport.Result res = transport.exec(cmd.toString(), null);
    String[] parts = res.stdout().split("@@files\n?", 2);
    if (parts[0].contains("@@squeue-failed")) {
      throw new BackendException.Transient("squeue failed: " + res.stderr().strip());
    }
    Map<String, Job> jobs = new LinkedHashMap<>();
    SlurmOutput.squeue(parts[0]).forEach(j -> jobs.put(j.id(), j));
    Map<String, PodFiles> files = SlurmOutput.podFiles(parts.length > 1 ? parts[1] : "");

    List<String> missing = jobIds.stream().filter(j -> !jobs.containsKey(j)).toList();
    if (!missing.isEmpty()) {
      // Left squeue: ask accounting, else scontrol (one command for all of them).
      String c =
          config.accounting()
              ? "export SLURM_TIME_FORMAT=%s\nsacct -n -X -P -o "
                  + SlurmOutput.SACCT_FORMAT
                  + " -j "
                  + String.join(",", missing)
                  + " 2>/dev/null; true"
              : "export SLURM_TIME_FORMAT=%s\nfor j in "
                  + String.join(" ", missing)
                  + "; do scontrol -o show job \"$j\" 2>/dev/null; done; true";
      String o = transport.exec(c, null).stdout();
      (config.accounting() ? SlurmOutput.sacct(o) : SlurmOutput.scontrol(o))
          .forEach(j -> jobs.putIfAbsent(j.id(), j));
    }
    PodFiles none = SlurmOutput.podFiles(Map.of());
    ids.forEach(
        (h, i) ->
            out.put(
                h,
                StateMapper.map(
                    i.jobId(), jobs.get(i.jobId()), files.getOrDefault(i.uid(), none))));
    return out;
  }

  /** One {@code grep -H} over the wrapper's files of all pods: lines {@code UID/FILE:CONTENT}. */
  static String podFilesCommand(SbatchRenderer r, List<String> uids) {
    StringBuilder b =
        new StringBuilder("cd ")
            .append(Shell.quote(r.workRoot()))
            .append(" 2>/dev/null && grep -H -s '' --");
    for (String u : uids) {
      for (String f : List.of("manifest", "jobid", "submitted", "node", "started", "done")) {
        b.append(' ').append(u).append('/').append(f);
      }
      for (String f : List.of("start", "exit", "restarts", "last")) {
        b.append(' ').append(u).append("/c/*/").append(f);
      }
    }
    return b.append("; true\n").toString();
  }

  // ---- cancel ------------------------------------------------------------------------------

  @Override
  public void cancel(Handle handle, Duration grace) throws BackendException {
    Ids i = Ids.of(handle);
    // scancel sends SIGTERM to every process of the job and marks it CANCELLED; Slurm itself
    // sends SIGKILL after its KillWait. The pod's own grace period is enforced below.
    Transport.Result r = transport.exec("scancel " + i.jobId(), null);
    if (!r.ok() && !r.stderr().contains("Invalid job id")) {
      if (r.stderr().contains("already completing or completed")
          || r.stderr().contains("Job/step already")) {
        return;
      }
      throw new BackendException.Transient(
          "scancel " + i.jobId() + " failed: " + r.stderr().strip());
    }
    timer.schedule(
        () -> {
          try {
            transport.exec(
                "scancel --full --signal=KILL " + i.jobId() + " 2>/dev/null; true", null);
          } catch (BackendException e) {
            LOG.warn("SIGKILL of Slurm job {} failed: {}", i.jobId(), e.getMessage());
          }
        },
        Math.max(0, grace.toMillis()),
        TimeUnit.MILLISECONDS);
  }

  // ---- logs --------------------------------------------------------------------------------

  @Override
  public InputStream logs(Handle handle, String container, LogOptions options)
      throws BackendException {
    Ids i = Ids.of(handle);
    if (!LABEL.matcher(container).matches()) {
      throw new BackendException.NotFound("no container " + container);
    }
    String cdir = renderer().podDir(i.uid()) + "/c/" + container;
    String path = cdir + (options.previous() ? "/previous.log" : "/log");
    long size = transport.size(path);
    if (size < 0 && transport.size(cdir) < 0 && transport.size(cdir + "/exit") < 0) {
      if (transport.size(renderer().podDir(i.uid()) + "/manifest") < 0) {
        throw new BackendException.NotFound("no pod directory for " + handle);
      }
    }
    Instant now = Instant.now();
    long start = 0;
    List<String> lines = new ArrayList<>();
    if (size > 0) {
      long window =
          options.tailLines() == null
              ? size
              : Math.min(size, Math.max(65536L, options.tailLines() * 256L));
      while (true) {
        start = size - window;
        String text = readString(path, start, size);
        List<String> l = LogFormat.lines(text);
        if (start > 0 && !l.isEmpty()) {
          l = l.subList(1, l.size()); // the first line may be cut
        }
        if (start == 0 || options.tailLines() == null || l.size() >= options.tailLines()) {
          lines = l;
          int consumed = text.lastIndexOf('\n') + 1;
          start = start + text.substring(0, consumed).getBytes(StandardCharsets.UTF_8).length;
          break;
        }
        window = Math.min(size, window * 4);
      }
    }
    byte[] first = LogFormat.render(lines, options, now);
    if (!options.follow()
        || (options.limitBytes() != null && first.length >= options.limitBytes())) {
      return new ByteArrayInputStream(first);
    }
    return follow(path, cdir + "/exit", start, first, options);
  }

  private String readString(String path, long from, long to) throws BackendException {
    try (InputStream in = transport.read(path, from)) {
      return new String(
          in.readNBytes((int) Math.min(Integer.MAX_VALUE, to - from)), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new BackendException.Transient("reading " + path + ": " + e.getMessage(), e);
    }
  }

  /** Streams new lines every second until the container's exit file appears and all is read. */
  private InputStream follow(String path, String exitPath, long offset, byte[] first, LogOptions o)
      throws BackendException {
    PipedInputStream in = new PipedInputStream(65536);
    PipedOutputStream out;
    try {
      out = new PipedOutputStream(in);
    } catch (IOException e) {
      throw new BackendException.Transient(e.getMessage(), e);
    }
    Thread t =
        new Thread(
            () -> {
              long pos = offset;
              long sent = 0;
              try (out) {
                out.write(first);
                out.flush();
                sent += first.length;
                LogOptions rest =
                    new LogOptions(false, null, o.timestamps(), null, null, null, false);
                while (true) {
                  boolean exited = transport.size(exitPath) >= 0;
                  long size = transport.size(path);
                  if (size > pos) {
                    String text = readString(path, pos, size);
                    int consumed = text.lastIndexOf('\n') + 1;
                    if (consumed > 0) {
                      byte[] b =
                          LogFormat.render(
                              LogFormat.lines(text.substring(0, consumed)), rest, Instant.now());
                      if (o.limitBytes() != null && sent + b.length > o.limitBytes()) {
                        out.write(b, 0, (int) (o.limitBytes() - sent));
                        return;
                      }
                      out.write(b);
                      out.flush();
                      sent += b.length;
                      pos += text.substring(0, consumed).getBytes(StandardCharsets.UTF_8).length;
                    }
                  } else if (size >= 0 && size < pos) {
                    pos = 0; // rotated by a restart
                  }
                  if (exited && transport.size(path) <= pos) {
                    return;
                  }
                  Thread.sleep(1000);
                }
              } catch (IOException e) {
                // reader went away
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              } catch (BackendException e) {
                LOG.warn("Following {} stopped: {}", path, e.getMessage());
              }
            },
            "slurm-log-follow");
    t.setDaemon(true);
    t.start();
    return in;
  }

  // ---- capacity, ping, release --------------------------------------------------------------

  @Override
  public Capacity capacity() throws BackendException {
    Capacity c = capacity;
    if (c != null
        && System.currentTimeMillis() - capacityAt < config.capacityRefresh().toMillis()) {
      return c;
    }
    String part = config.partition() == null ? "" : " -p " + Shell.quote(config.partition());
    Transport.Result r =
        transport.exec(
            "sinfo -h -N"
                + part
                + " -o "
                + Shell.quote(SlurmOutput.SINFO_FORMAT)
                + " && echo @@version && sinfo -V",
            null);
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

  @Override
  public void ping() throws BackendException {
    Transport.Result r = transport.exec("scontrol ping", null);
    if (!r.ok() || !r.stdout().contains("UP")) {
      throw new BackendException.Transient(
          "Slurm controller not reachable from "
              + transport.describe()
              + ": "
              + (r.stdout() + " " + r.stderr()).strip());
    }
  }

  @Override
  public void release(Handle handle) throws BackendException {
    Ids i = Ids.of(handle);
    SbatchRenderer r = renderer();
    String dir = Shell.quote(r.podDir(i.uid()));
    long minutes = config.retention().toMinutes();
    String cmd =
        minutes <= 0
            ? "rm -rf -- " + dir
            : "touch "
                + dir
                + "/released 2>/dev/null; find "
                + Shell.quote(r.workRoot())
                + " -mindepth 2 -maxdepth 2 -name released -mmin +"
                + minutes
                + " -printf '%h\\0' 2>/dev/null | xargs -0 -r rm -rf --; true";
    transport.exec(cmd, null);
  }

  @Override
  public void close() {
    timer.shutdownNow();
    transport.close();
  }
}
