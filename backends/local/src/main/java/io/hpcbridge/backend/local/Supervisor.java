package io.hpcbridge.backend.local;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.TimestampedLog;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.Records.CancelRequest;
import io.hpcbridge.backend.local.Records.ContainerStatus;
import io.hpcbridge.backend.local.Records.PodStatus;
import io.hpcbridge.backend.local.Records.SupervisorOptions;
import io.hpcbridge.backend.local.Records.Termination;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The detached per-pod process: {@code java ... Supervisor <podDir>}. Started by {@link
 * LocalBackend#submit} in its own session, it outlives the bridge. It runs the init containers in
 * order, then the containers in parallel, each run as its own process group (pid = pgid), restarts
 * them as the restart policy says, writes every run's output as timestamped lines, and records
 * everything in {@code status.json} (atomically), so a restarted bridge reads exit codes and logs
 * from the directory alone. It obeys {@code cancel.json}: SIGTERM to every group, SIGKILL at the
 * deadline, no more restarts.
 *
 * <p>Containers with volume mounts run in a private mount namespace: a short-lived holder process
 * ({@code unshare --mount --propagation private sleep}) owns a fresh namespace, the volumes are
 * bind-mounted into it ({@code nsenter ... mount --bind}), and the command joins it with {@code
 * setsid nsenter -t HOLDER -m --wd=... -- command args}. No shell is involved: the pod's command,
 * args, paths and env travel as separate argv/env entries.
 *
 * <p>It never prints env values or file contents, only names, pids and exit codes.
 */
public final class Supervisor {

  private static final Duration WATCH_INTERVAL = Duration.ofMillis(100);
  private static final Duration KILL_REPEAT = Duration.ofSeconds(1);
  private static final int START_ERROR_EXIT_CODE = 128;

  private final PodLayout layout;
  private PodPlan plan;
  private SupervisorOptions opts;

  // Everything below is guarded by this.
  private final List<Box> init = new ArrayList<>();
  private final List<Box> main = new ArrayList<>();
  private final Set<Run> running = new HashSet<>();
  private Instant startTime;
  private long pid;
  private long startTicks;
  private boolean cancelled;
  private Instant killAt;
  private boolean finished;
  private String podReason;
  private String podMessage;

  private Supervisor(Path podDir) {
    this.layout = new PodLayout(podDir.toAbsolutePath());
  }

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: Supervisor POD_DIR");
      System.exit(2);
    }
    int code;
    try {
      code = new Supervisor(Path.of(args[0])).run();
    } catch (Throwable t) {
      log("supervisor failed: " + t);
      t.printStackTrace();
      code = 1;
    }
    System.exit(code);
  }

  static void log(String message) {
    System.err.println(TimestampedLog.timestamp(Instant.now()) + " " + message);
  }

  /** Mutable state of one container, guarded by the supervisor. */
  private static final class Box {
    final ContainerPlan spec;
    final boolean isInit;
    Observed.State state = Observed.State.WAITING;
    String reason;
    String message;
    Integer exitCode;
    Instant startedAt;
    Instant finishedAt;
    int runs;
    long pid;
    long ticks;
    Termination last;
    boolean done;

    Box(ContainerPlan spec, boolean isInit, String waitingReason) {
      this.spec = spec;
      this.isInit = isInit;
      this.reason = waitingReason;
    }

    ContainerStatus status() {
      return new ContainerStatus(
          spec.name(),
          state,
          reason,
          message,
          exitCode,
          startedAt,
          finishedAt,
          Math.max(0, runs - 1),
          runs,
          pid,
          ticks,
          last);
    }
  }

  /** One run of a container: its process (the group leader) and log pumps. */
  private static final class Run {
    final Box box;
    final Process process;
    final long pid;
    final LogWriter log;
    final List<Thread> pumps;
    Instant lastKill;

    Run(Box box, Process process, LogWriter log, List<Thread> pumps) {
      this.box = box;
      this.process = process;
      this.pid = process.pid();
      this.log = log;
      this.pumps = pumps;
    }
  }

  private static final class StartFailure extends Exception {
    StartFailure(String message) {
      super(message);
    }
  }

  private int run() throws Exception {
    try (FileChannel lockChannel =
            FileChannel.open(
                layout.supervisorLock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockChannel.tryLock()) {
      if (lock == null) {
        log("another supervisor runs this pod; exiting");
        return 0;
      }
      if (Files.exists(layout.status())) {
        log("this pod was supervised before (status.json exists); not starting it again");
        return 0;
      }
      plan = Json.read(layout.plan(), PodPlan.class);
      opts = Json.read(layout.options(), SupervisorOptions.class);
      synchronized (this) {
        pid = ProcessHandle.current().pid();
        startTicks = ProcFs.startTicks(pid);
        startTime = Instant.now();
        String mainWaiting =
            plan.initContainers().isEmpty() ? "ContainerCreating" : "PodInitializing";
        for (ContainerPlan c : plan.initContainers()) {
          init.add(new Box(c, true, "PodInitializing"));
        }
        for (ContainerPlan c : plan.containers()) {
          main.add(new Box(c, false, mainWaiting));
        }
        update();
      }
      log("supervising pod " + plan.pod() + " uid " + plan.pod().uid() + " (pid " + pid + ")");
      // A stop requested before we came up: start nothing.
      CancelRequest early = Json.readIfExists(layout.cancel(), CancelRequest.class);
      if (early != null) {
        onCancel(early.killAt(), null, null);
      }
      Thread watcher = new Thread(null, this::watch, "watch", 256 * 1024);
      watcher.setDaemon(true);
      watcher.start();
      try {
        supervise();
      } catch (Throwable t) {
        log("supervisor error, stopping the pod: " + t);
        synchronized (this) {
          podReason = "SupervisorError";
          podMessage = "the local supervisor failed: " + t;
          cancelled = true;
          for (Run r : running) {
            Tools.killGroup(opts.kill(), r.pid, "KILL");
          }
        }
        throw t;
      } finally {
        synchronized (this) {
          finished = true;
          update();
        }
        log("pod finished: " + phase());
      }
    }
    return 0;
  }

  private void supervise() throws InterruptedException {
    for (Box b : init) {
      runContainer(b);
      synchronized (this) {
        if (cancelled) {
          return;
        }
        if (b.exitCode == null || b.exitCode != 0) {
          podReason = "InitContainerFailed";
          podMessage = "init container " + b.spec.name() + " exited with code " + b.exitCode;
          update();
          return;
        }
      }
    }
    List<Thread> threads = new ArrayList<>();
    for (Box b : main) {
      Thread t =
          new Thread(
              null,
              () -> {
                try {
                  runContainer(b);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "container-" + b.spec.name(),
              256 * 1024);
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
  }

  /** Runs one container until it is done for good (restarting it as the policy says). */
  private void runContainer(Box b) throws InterruptedException {
    while (true) {
      int runIndex;
      synchronized (this) {
        if (cancelled) {
          b.done = true;
          update();
          return;
        }
        runIndex = b.runs;
      }
      int exit;
      Run r = null;
      String startError = null;
      try {
        r = launch(b, runIndex);
      } catch (StartFailure | IOException e) {
        startError = e.getMessage();
      }
      if (r == null) {
        log("container " + b.spec.name() + " run " + runIndex + " failed to start: " + startError);
        appendToLog(b, runIndex, "failed to start: " + startError);
        exit = START_ERROR_EXIT_CODE;
        synchronized (this) {
          Instant now = Instant.now();
          b.runs = runIndex + 1;
          b.state = Observed.State.TERMINATED;
          b.reason = "StartError";
          b.message = startError;
          b.exitCode = exit;
          b.startedAt = now;
          b.finishedAt = now;
          b.pid = 0;
          b.ticks = 0;
          update();
        }
      } else {
        exit = r.process.waitFor();
        Instant finishedAt = Instant.now();
        // Like a container runtime: when the main process ends, what it left behind ends too.
        Tools.killGroup(opts.kill(), r.pid, "KILL");
        for (Thread t : r.pumps) {
          t.join(5000);
        }
        r.log.close();
        log("container " + b.spec.name() + " run " + runIndex + " exited with code " + exit);
        synchronized (this) {
          running.remove(r);
          b.state = Observed.State.TERMINATED;
          b.reason = exit == 0 ? "Completed" : "Error";
          b.message = null;
          b.exitCode = exit;
          b.finishedAt = finishedAt;
          update();
        }
      }
      long delay;
      synchronized (this) {
        if (cancelled || !shouldRestart(b, exit)) {
          b.done = true;
          update();
          return;
        }
        b.last = new Termination(exit, b.reason, b.startedAt, b.finishedAt);
        delay =
            Math.min(
                opts.maxRestartBackoffMillis(),
                opts.restartBackoffMillis() << Math.min(b.runs - 1, 20));
        b.state = Observed.State.WAITING;
        b.reason = "CrashLoopBackOff";
        b.message = "back-off " + delay + "ms restarting container " + b.spec.name();
        b.exitCode = null;
        update();
        long until = System.nanoTime() + delay * 1_000_000L;
        long left;
        while (!cancelled && (left = until - System.nanoTime()) > 0) {
          wait(Math.max(1, left / 1_000_000L));
        }
      }
    }
  }

  private boolean shouldRestart(Box b, int exit) {
    return switch (plan.restartPolicy()) {
      case NEVER -> false;
      case ON_FAILURE -> exit != 0;
      case ALWAYS -> !b.isInit || exit != 0;
    };
  }

  /** Starts run {@code runIndex} of a container; returns once it runs in its own group. */
  private Run launch(Box b, int runIndex) throws StartFailure, IOException, InterruptedException {
    ContainerPlan c = b.spec;
    Path logFile = layout.log(c.name(), runIndex);
    Files.createDirectories(logFile.getParent());
    String wd = c.workingDir() != null ? c.workingDir() : layout.work().toString();
    Process holder = null;
    LogWriter log = new LogWriter(logFile);
    try {
      List<String> cmd = new ArrayList<>();
      ProcessBuilder pb;
      if (c.mounts().isEmpty()) {
        Files.createDirectories(Path.of(wd));
        cmd.add(opts.setsid());
        cmd.add("--");
        cmd.addAll(c.argv());
        pb = new ProcessBuilder(cmd).directory(new File(wd));
      } else {
        holder = startHolder();
        String h = Long.toString(holder.pid());
        String root = "/proc/" + h + "/root";
        List<ContainerPlan.Mount> mounts = new ArrayList<>(c.mounts());
        mounts.sort(
            Comparator.comparingInt(m -> Path.of(m.mountPath()).normalize().getNameCount()));
        for (ContainerPlan.Mount m : mounts) {
          bindMount(h, root, m);
        }
        Files.createDirectories(Path.of(root + Path.of(wd).normalize()));
        cmd.add(opts.setsid());
        cmd.add(opts.nsenter());
        cmd.add("-t");
        cmd.add(h);
        cmd.add("-m");
        // Opened by nsenter before it enters the namespace: reach the directory through the
        // holder's root so the mounted volume (not the directory under it) is the cwd.
        cmd.add("--wd=" + root + Path.of(wd).normalize());
        cmd.add("--");
        cmd.addAll(c.argv());
        pb = new ProcessBuilder(cmd).directory(new File("/"));
      }
      pb.environment().clear();
      pb.environment().putAll(c.env());
      pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      Process p = pb.start();
      List<Thread> pumps =
          List.of(
              pump(p.getInputStream(), "stdout", log, c.name()),
              pump(p.getErrorStream(), "stderr", log, c.name()));
      String holderNs = holder == null ? null : ProcFs.mountNamespace(Long.toString(holder.pid()));
      awaitStarted(p, holderNs);
      Run r = new Run(b, p, log, pumps);
      synchronized (this) {
        b.runs = runIndex + 1;
        b.state = Observed.State.RUNNING;
        b.reason = null;
        b.message = null;
        b.exitCode = null;
        b.startedAt = Instant.now();
        b.finishedAt = null;
        b.pid = r.pid;
        b.ticks = ProcFs.startTicks(r.pid);
        running.add(r);
        if (cancelled) {
          Tools.killGroup(opts.kill(), r.pid, "TERM");
        }
        update();
      }
      log("container " + c.name() + " run " + runIndex + " started, pid " + r.pid);
      log = null;
      return r;
    } finally {
      if (log != null) {
        log.close();
      }
      if (holder != null) {
        holder.destroyForcibly();
        holder.waitFor();
      }
    }
  }

  /**
   * Waits until the new process leads its own group (setsid done) and, for namespaced runs, has
   * joined the holder's mount namespace (so the holder may go). A process that already exited is
   * fine too.
   */
  private static void awaitStarted(Process p, String holderNs) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    String pid = Long.toString(p.pid());
    while (p.isAlive() && System.nanoTime() < deadline) {
      boolean grouped = ProcFs.pgid(p.pid()) == p.pid();
      boolean joined = holderNs == null || holderNs.equals(ProcFs.mountNamespace(pid));
      if (grouped && joined) {
        return;
      }
      Thread.sleep(2);
    }
  }

  /** A process that owns a fresh private mount namespace until it is killed. */
  private Process startHolder() throws StartFailure, IOException, InterruptedException {
    ProcessBuilder pb =
        new ProcessBuilder(
            opts.unshare(), "--mount", "--propagation", "private", "--", opts.sleep(), "300");
    pb.environment().clear();
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectErrorStream(true);
    Process h = pb.start();
    String mine = ProcFs.mountNamespace("self");
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      String ns = ProcFs.mountNamespace(Long.toString(h.pid()));
      if (ns != null && !ns.equals(mine) && h.isAlive()) {
        return h;
      }
      if (!h.isAlive()) {
        String out = new String(h.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        throw new StartFailure("cannot create a private mount namespace: " + out);
      }
      Thread.sleep(2);
    }
    h.destroyForcibly();
    throw new StartFailure("cannot create a private mount namespace: unshare did not start");
  }

  private void bindMount(String holder, String root, ContainerPlan.Mount m)
      throws StartFailure, IOException {
    VolumePlan v =
        plan.volume(m.volume()).orElseThrow(() -> new StartFailure("no volume " + m.volume()));
    Path base =
        v.type() == VolumePlan.Type.HOST_PATH ? Path.of(v.hostPath()) : layout.volume(v.name());
    Path src = base;
    if (m.subPath() != null && !m.subPath().isEmpty()) {
      src = base.resolve(m.subPath()).normalize();
      if (!Files.exists(src)) {
        Files.createDirectories(src);
      }
    }
    String mountPath = Path.of(m.mountPath()).normalize().toString();
    Path target = Path.of(root + mountPath);
    if (!Files.exists(target)) {
      if (Files.isDirectory(src)) {
        Files.createDirectories(target);
      } else {
        Files.createDirectories(target.getParent());
        Files.createFile(target);
      }
    }
    List<String> cmd =
        new ArrayList<>(List.of(opts.nsenter(), "-t", holder, "-m", "--", opts.mount(), "--bind"));
    if (m.readOnly()) {
      cmd.add("-o");
      cmd.add("ro");
    }
    cmd.add(src.toString());
    cmd.add(mountPath);
    Tools.Result r = Tools.run(cmd, 10_000);
    if (!r.ok()) {
      throw new StartFailure(
          "cannot mount volume " + m.volume() + " at " + mountPath + ": " + r.output());
    }
  }

  private void appendToLog(Box b, int runIndex, String message) {
    try {
      Path f = layout.log(b.spec.name(), runIndex);
      Files.createDirectories(f.getParent());
      try (LogWriter w = new LogWriter(f)) {
        byte[] m = message.getBytes(StandardCharsets.UTF_8);
        w.write("stderr", m, 0, m.length);
      }
    } catch (IOException e) {
      log("cannot write the log of " + b.spec.name() + ": " + e);
    }
  }

  // ---- cancel and deadline --------------------------------------------------------------------

  private void watch() {
    Instant deadline = plan.activeDeadline().map(startTime::plus).orElse(null);
    while (true) {
      synchronized (this) {
        if (finished) {
          return;
        }
      }
      try {
        if (Files.exists(layout.cancel())) {
          CancelRequest req = Json.readIfExists(layout.cancel(), CancelRequest.class);
          if (req != null) {
            onCancel(req.killAt(), null, null);
          }
        }
      } catch (IOException | RuntimeException e) {
        log("cannot read the cancel request: " + e);
      }
      Instant now = Instant.now();
      if (deadline != null && !now.isBefore(deadline)) {
        onCancel(
            now.plus(plan.terminationGracePeriod()),
            "DeadlineExceeded",
            "Pod was active on the node longer than the specified deadline");
      }
      enforceKill();
      try {
        Thread.sleep(WATCH_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private synchronized void onCancel(Instant kill, String reason, String message) {
    if (!cancelled) {
      cancelled = true;
      killAt = kill;
      if (reason != null) {
        podReason = reason;
        podMessage = message;
      }
      log(
          "stop requested"
              + (reason == null ? "" : " (" + reason + ")")
              + ": SIGTERM now, SIGKILL at "
              + kill);
      for (Run r : running) {
        Tools.killGroup(opts.kill(), r.pid, "TERM");
      }
      notifyAll();
      update();
    } else if (kill.isBefore(killAt)) {
      killAt = kill;
    }
  }

  private synchronized void enforceKill() {
    if (!cancelled || killAt == null) {
      return;
    }
    Instant now = Instant.now();
    if (now.isBefore(killAt)) {
      return;
    }
    for (Run r : running) {
      if (r.lastKill == null || !now.isBefore(r.lastKill.plus(KILL_REPEAT))) {
        log(
            "grace period over: SIGKILL to container "
                + r.box.spec.name()
                + " (group "
                + r.pid
                + ")");
        Tools.killGroup(opts.kill(), r.pid, "KILL");
        r.lastKill = now;
      }
    }
  }

  // ---- status ---------------------------------------------------------------------------------

  private synchronized Observed.Phase phase() {
    boolean allSucceeded = true;
    for (Box b : init) {
      allSucceeded &= b.state == Observed.State.TERMINATED && Integer.valueOf(0).equals(b.exitCode);
    }
    for (Box b : main) {
      allSucceeded &=
          b.done && b.state == Observed.State.TERMINATED && Integer.valueOf(0).equals(b.exitCode);
    }
    if (finished) {
      return allSucceeded ? Observed.Phase.SUCCEEDED : Observed.Phase.FAILED;
    }
    if ("InitContainerFailed".equals(podReason)) {
      return Observed.Phase.FAILED;
    }
    for (Box b : init) {
      if (!(b.done && Integer.valueOf(0).equals(b.exitCode))) {
        return Observed.Phase.PENDING;
      }
    }
    boolean allDone = true;
    for (Box b : main) {
      if (b.runs == 0) {
        return Observed.Phase.PENDING;
      }
      allDone &= b.done;
    }
    if (allDone) {
      return allSucceeded ? Observed.Phase.SUCCEEDED : Observed.Phase.FAILED;
    }
    return Observed.Phase.RUNNING;
  }

  /** Writes status.json (atomically). Called with the lock held after every change. */
  private synchronized void update() {
    PodStatus s =
        new PodStatus(
            phase(),
            podReason,
            podMessage,
            startTime,
            finished ? Instant.now() : null,
            pid,
            startTicks,
            cancelled,
            init.stream().map(Box::status).toList(),
            main.stream().map(Box::status).toList());
    try {
      AtomicFiles.write(layout.status(), Json.write(s), 0644);
    } catch (IOException e) {
      log("cannot write status.json: " + e);
    }
  }

  // ---- logs -----------------------------------------------------------------------------------

  /** Appends timestamped lines to a run's log; one write per line, so readers see whole lines. */
  static final class LogWriter implements Closeable {
    private final FileOutputStream out;
    private boolean broken;

    LogWriter(Path file) throws IOException {
      this.out = new FileOutputStream(file.toFile(), true);
    }

    synchronized void write(String stream, byte[] b, int off, int len) {
      if (broken) {
        return;
      }
      try {
        out.write(TimestampedLog.line(Instant.now(), stream, b, off, len));
      } catch (IOException e) {
        broken = true;
        log("cannot write a log line: " + e);
      }
    }

    @Override
    public synchronized void close() {
      try {
        out.close();
      } catch (IOException e) {
        // nothing to do
      }
    }
  }

  private static Thread pump(InputStream in, String stream, LogWriter log, String container) {
    Thread t =
        new Thread(
            null,
            () -> {
              byte[] buf = new byte[8192];
              ByteArrayOutputStream line = new ByteArrayOutputStream();
              try (in) {
                int n;
                while ((n = in.read(buf)) > 0) {
                  int start = 0;
                  for (int i = 0; i < n; i++) {
                    if (buf[i] == '\n') {
                      if (line.size() == 0) {
                        log.write(stream, buf, start, i - start);
                      } else {
                        line.write(buf, start, i - start);
                        byte[] l = line.toByteArray();
                        log.write(stream, l, 0, l.length);
                        line.reset();
                      }
                      start = i + 1;
                    }
                  }
                  line.write(buf, start, n - start);
                  if (line.size() >= TimestampedLog.MAX_LINE_BYTES) {
                    byte[] l = line.toByteArray();
                    int off = 0;
                    while (l.length - off >= TimestampedLog.MAX_LINE_BYTES) {
                      log.write(stream, l, off, TimestampedLog.MAX_LINE_BYTES);
                      off += TimestampedLog.MAX_LINE_BYTES;
                    }
                    line.reset();
                    line.write(l, off, l.length - off);
                  }
                }
              } catch (IOException e) {
                log("reading " + stream + " of " + container + ": " + e);
              }
              if (line.size() > 0) {
                byte[] l = line.toByteArray();
                log.write(stream, l, 0, l.length);
              }
            },
            container + "-" + stream,
            256 * 1024);
    t.setDaemon(true);
    t.start();
    return t;
  }
}
