package io.hpcbridge.backend.local;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.TimestampedLog;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.AtomicFiles;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.CancelRequest;
import io.hpcbridge.backend.local.common.Records.ContainerStatus;
import io.hpcbridge.backend.local.common.Records.Launched;
import io.hpcbridge.backend.local.common.Records.PodStatus;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.Tools;
import io.hpcbridge.backend.local.supervisor.Supervisor;
import java.io.File;
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
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs pods as process groups on this machine. Each pod is a directory {@code <workDir>/<uid>/}
 * (see {@link PodLayout}) watched over by a detached {@link Supervisor} process, so pods keep
 * running, and their exit codes and logs stay known, across bridge restarts. Images are recorded,
 * never pulled: the command runs on the host.
 */
public final class LocalBackend implements Backend {

  private static final Logger LOG = LoggerFactory.getLogger(LocalBackend.class);

  /** Names used as file names: pod UIDs, container and volume names. */
  private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

  private static final Duration FOLLOW_POLL = Duration.ofMillis(200);

  private final LocalSettings settings;
  private final String setsid;
  private final String unshare;
  private final String nsenter;
  private final String mount;
  private final String kill;
  private final String sleep;
  private final String hostIP;

  /**
   * One lock object per pod directory, shared by all instances in this JVM: file locks guard
   * against other processes, but the JVM refuses two overlapping file locks of its own.
   */
  private static final Map<Path, Object> POD_LOCKS = new ConcurrentHashMap<>();

  private final ScheduledExecutorService killer;
  private volatile Optional<String> mountNamespaceProblem;

  LocalBackend(BackendContext context, LocalSettings settings) {
    this.settings = settings;
    this.setsid = require("setsid", null, "util-linux");
    this.kill = require("kill", null, "procps");
    this.sleep = require("sleep", null, "coreutils");
    this.unshare = Tools.find("unshare", settings.unshare());
    this.nsenter = Tools.find("nsenter", settings.nsenter());
    this.mount = Tools.find("mount", null);
    // Processes run on this machine: the node's advertised address is the pods' address too.
    this.hostIP =
        context.nodeAddress() != null
            ? context.nodeAddress()
            : io.hpcbridge.backend.HostAddress.primaryIPv4();
    this.killer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "local-backend-kill");
              t.setDaemon(true);
              return t;
            });
    LOG.info(
        "local backend for node {}: pods in {}, address {}",
        context.nodeName(),
        settings.workDir(),
        hostIP);
  }

  private static String require(String tool, String override, String pkg) {
    String p = Tools.find(tool, override);
    if (p == null) {
      throw new IllegalArgumentException(
          "backend local: the '"
              + tool
              + "' command ("
              + pkg
              + ") is not installed or not in PATH");
    }
    return p;
  }

  @Override
  public String name() {
    return LocalBackendFactory.NAME;
  }

  /** The directory of a pod, for people and tests. */
  Path podDir(Handle handle) {
    return settings.workDir().resolve(handle.id());
  }

  private Handle handle(String uid) {
    return new Handle(LocalBackendFactory.NAME, uid);
  }

  private PodLayout layout(Handle handle) throws BackendException.NotFound {
    if (!LocalBackendFactory.NAME.equals(handle.backend())
        || !SAFE_NAME.matcher(handle.id()).matches()) {
      throw new BackendException.NotFound("not a local backend handle: " + handle);
    }
    return new PodLayout(settings.workDir().resolve(handle.id()));
  }

  private Object podLock(String uid) {
    return POD_LOCKS.computeIfAbsent(settings.workDir().resolve(uid), k -> new Object());
  }

  // ---- submit ---------------------------------------------------------------------------------

  @Override
  public Handle submit(PodPlan plan) throws BackendException {
    validate(plan);
    String uid = plan.pod().uid();
    PodLayout l = new PodLayout(settings.workDir().resolve(uid));
    synchronized (podLock(uid)) {
      try {
        Files.createDirectories(settings.workDir());
        if (!Files.isDirectory(l.dir())) {
          AtomicFiles.mkdir(l.dir(), 0700);
        }
        try (FileChannel ch =
                FileChannel.open(
                    l.submitLock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock ignored = ch.lock()) {
          if (Files.exists(l.launched())) {
            LOG.debug("pod {} ({}) already submitted", plan.pod(), uid);
            return handle(uid);
          }
          materialize(plan, l);
          Files.createDirectories(l.work());
          AtomicFiles.write(l.plan(), Json.write(withoutFileContents(plan)), 0600);
          AtomicFiles.write(
              l.options(),
              Json.write(
                  new SupervisorOptions(
                      settings.restartBackoff().toMillis(),
                      settings.maxRestartBackoff().toMillis(),
                      setsid,
                      unshare,
                      nsenter,
                      mount,
                      kill,
                      sleep)),
              0644);
          launchSupervisor(l);
          AtomicFiles.write(l.launched(), Json.write(new Launched(Instant.now())), 0644);
        }
      } catch (IOException e) {
        throw new BackendException.Transient(
            "local: cannot prepare pod directory " + l.dir() + ": " + e.getMessage(), e);
      }
    }
    LOG.info("pod {} ({}) started in {}", plan.pod(), uid, l.dir());
    return handle(uid);
  }

  /** Everything the local backend cannot run is refused here, before anything is created. */
  private void validate(PodPlan plan) throws BackendException.InvalidPod {
    String uid = plan.pod().uid();
    if (!SAFE_NAME.matcher(uid).matches()) {
      throw invalid("InvalidUID", "pod UID '" + uid + "' cannot name a directory");
    }
    Set<String> volumeNames = new HashSet<>();
    for (VolumePlan v : plan.volumes()) {
      if (!SAFE_NAME.matcher(v.name()).matches()) {
        throw invalid("InvalidVolume", "volume name '" + v.name() + "' is not valid");
      }
      if (!volumeNames.add(v.name())) {
        throw invalid("InvalidVolume", "volume '" + v.name() + "' is declared twice");
      }
      if (v.type() == VolumePlan.Type.HOST_PATH
          && (v.hostPath() == null
              || !v.hostPath().startsWith("/")
              || v.hostPath().indexOf('\0') >= 0)) {
        throw invalid("InvalidVolume", "hostPath volume '" + v.name() + "' needs an absolute path");
      }
    }
    Set<String> names = new HashSet<>();
    boolean mounts = false;
    for (ContainerPlan c : plan.allContainers().toList()) {
      String what = "container '" + c.name() + "'";
      if (!SAFE_NAME.matcher(c.name()).matches()) {
        throw invalid("InvalidContainerName", what + ": the name is not valid");
      }
      if (!names.add(c.name())) {
        throw invalid("InvalidContainerName", what + " is declared twice");
      }
      if (c.argv().isEmpty()) {
        throw invalid(
            "MissingCommand",
            what
                + " has neither command nor args; the local backend runs commands on the host and"
                + " has no image to supply an entrypoint (image "
                + (c.image().isEmpty() ? "unset" : c.image())
                + ")");
      }
      for (String a : c.argv()) {
        if (a.indexOf('\0') >= 0) {
          throw invalid("InvalidCommand", what + ": command or args contain a NUL character");
        }
      }
      for (Map.Entry<String, String> e : c.env().entrySet()) {
        if (e.getKey().isEmpty() || e.getKey().indexOf('=') >= 0 || e.getKey().indexOf('\0') >= 0) {
          throw invalid("InvalidEnv", what + ": env name '" + e.getKey() + "' is not valid");
        }
        if (e.getValue() != null && e.getValue().indexOf('\0') >= 0) {
          throw invalid("InvalidEnv", what + ": env " + e.getKey() + " contains a NUL character");
        }
      }
      if (c.workingDir() != null
          && (!c.workingDir().startsWith("/") || c.workingDir().indexOf('\0') >= 0)) {
        throw invalid("InvalidWorkingDir", what + ": workingDir must be an absolute path");
      }
      for (ContainerPlan.Mount m : c.mounts()) {
        mounts = true;
        String mw = what + ", mount of volume '" + m.volume() + "'";
        if (!volumeNames.contains(m.volume())) {
          throw invalid("VolumeNotFound", mw + ": the pod has no such volume");
        }
        if (!m.mountPath().startsWith("/")
            || m.mountPath().indexOf('\0') >= 0
            || Path.of(m.mountPath()).normalize().getNameCount() == 0) {
          throw invalid("InvalidMountPath", mw + ": mountPath must be an absolute path below /");
        }
        String sp = m.subPath();
        if (sp != null && !sp.isEmpty()) {
          if (sp.startsWith("/")
              || sp.indexOf('\0') >= 0
              || List.of(sp.split("/")).contains("..")) {
            throw invalid(
                "InvalidSubPath", mw + ": subPath must be relative and stay inside the volume");
          }
        }
      }
    }
    if (mounts) {
      Optional<String> problem = mountNamespaceProblem();
      if (problem.isPresent()) {
        throw invalid(
            "MountNamespaceUnavailable",
            "the pod mounts volumes, which the local backend does in a private mount namespace,"
                + " and that is not possible here: "
                + problem.get());
      }
    }
  }

  private static BackendException.InvalidPod invalid(String reason, String message) {
    return new BackendException.InvalidPod(reason, message);
  }

  /** Why volume mounts cannot work here (not root, no unshare, ...), or empty when they can. */
  Optional<String> mountNamespaceProblem() {
    Optional<String> p = mountNamespaceProblem;
    if (p == null) {
      synchronized (this) {
        p = mountNamespaceProblem;
        if (p == null) {
          p = probeMountNamespace();
          mountNamespaceProblem = p;
          p.ifPresent(
              s -> LOG.warn("local backend: pods with volume mounts will be refused: {}", s));
        }
      }
    }
    return p;
  }

  private Optional<String> probeMountNamespace() {
    long uid = ProcFs.effectiveUid();
    if (uid != 0) {
      return Optional.of("the bridge does not run as root (uid " + uid + ")");
    }
    if (unshare == null) {
      return Optional.of("the 'unshare' command (util-linux) is not available");
    }
    if (nsenter == null) {
      return Optional.of("the 'nsenter' command (util-linux) is not available");
    }
    if (mount == null) {
      return Optional.of("the 'mount' command (util-linux) is not available");
    }
    Tools.Result r =
        Tools.run(
            List.of(unshare, "--mount", "--propagation", "private", "--", sleep, "0"), 10_000);
    if (!r.ok()) {
      return Optional.of("'unshare --mount' fails: " + r.output());
    }
    return Optional.empty();
  }

  private static PodPlan withoutFileContents(PodPlan p) {
    List<VolumePlan> vols =
        p.volumes().stream()
            .map(v -> new VolumePlan(v.name(), v.type(), List.of(), v.hostPath(), v.sensitive()))
            .toList();
    return new PodPlan(
        p.pod(),
        p.nodeName(),
        p.initContainers(),
        p.containers(),
        vols,
        p.restartPolicy(),
        p.terminationGracePeriod(),
        p.activeDeadline(),
        p.labels(),
        p.annotations());
  }

  /** Writes volume files with their modes (secret files never readable by group or others). */
  private static void materialize(PodPlan plan, PodLayout l) throws IOException, BackendException {
    for (VolumePlan v : plan.volumes()) {
      Path dir = l.volume(v.name());
      switch (v.type()) {
        case EMPTY_DIR -> AtomicFiles.mkdir(dir, 0777);
        case HOST_PATH -> {
          Path hp = Path.of(v.hostPath());
          if (!Files.exists(hp)) {
            Files.createDirectories(hp);
          }
        }
        default -> {
          AtomicFiles.mkdir(dir, 0755);
          for (VolumePlan.FilePlan f : v.files()) {
            Path target = dir.resolve(f.path()).normalize();
            if (!target.startsWith(dir) || target.equals(dir)) {
              throw invalid(
                  "InvalidVolume",
                  "volume '" + v.name() + "': file path '" + f.path() + "' leaves the volume");
            }
            Files.createDirectories(target.getParent());
            int mode = f.mode() & 0777;
            if (mode == 0) {
              mode = 0644;
            }
            AtomicFiles.write(target, f.content(), mode);
          }
        }
      }
    }
  }

  private void launchSupervisor(PodLayout l) throws IOException, BackendException {
    String classpath =
        List.of(System.getProperty("java.class.path").split(File.pathSeparator)).stream()
            .filter(s -> !s.isEmpty())
            .map(s -> Path.of(s).toAbsolutePath().toString())
            .collect(Collectors.joining(File.pathSeparator));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        List.of(
            setsid,
            "--fork",
            java,
            "-Xmx48m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classpath,
            Supervisor.class.getName(),
            l.dir().toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(l.dir().toFile());
    Map<String, String> env = pb.environment();
    env.remove("JAVA_TOOL_OPTIONS");
    env.remove("JDK_JAVA_OPTIONS");
    env.remove("_JAVA_OPTIONS");
    env.remove("CLASSPATH");
    // Arguments, env and paths of pods are Unicode: the supervisor must not run in an ASCII locale.
    env.put("LC_ALL", "C.UTF-8");
    env.put("LANG", "C.UTF-8");
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(l.supervisorLog().toFile()));
    Process p = pb.start();
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new BackendException.Transient("local: starting the supervisor timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendException.Transient("local: interrupted while starting the supervisor", e);
    }
    if (p.exitValue() != 0) {
      throw new BackendException.Transient(
          "local: cannot start the supervisor (exit "
              + p.exitValue()
              + "), see "
              + l.supervisorLog());
    }
  }

  // ---- observe --------------------------------------------------------------------------------

  @Override
  public Map<Handle, Observed> observe(Collection<Handle> handles) {
    Map<Handle, Observed> out = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        out.put(h, observe(layout(h)));
      } catch (BackendException.NotFound e) {
        out.put(h, Observed.unknown("NotFound", e.getMessage()));
      } catch (IOException | RuntimeException e) {
        LOG.warn("cannot read the state of pod {}: {}", h, e.toString());
        out.put(
            h,
            Observed.unknown("StateUnreadable", "cannot read " + h.id() + ": " + e.getMessage()));
      }
    }
    return out;
  }

  private Observed observe(PodLayout l) throws IOException {
    if (!Files.isDirectory(l.dir())) {
      return Observed.unknown("NotFound", "the local pod directory " + l.dir() + " does not exist");
    }
    PodStatus s = Json.readIfExists(l.status(), PodStatus.class);
    if (s == null) {
      return beforeSupervisor(l);
    }
    if (s.phase().terminal() || s.finishedAt() != null || supervisorAlive(s)) {
      return observed(s.phase(), s.reason(), s.message(), s);
    }
    // The supervisor is gone: it may just have written its last status and exited.
    s = Json.read(l.status(), PodStatus.class);
    if (s.phase().terminal() || s.finishedAt() != null) {
      return observed(s.phase(), s.reason(), s.message(), s);
    }
    return supervisorLost(s);
  }

  private static boolean supervisorAlive(PodStatus s) {
    return ProcFs.alive(s.supervisorPid(), s.supervisorStartTicks());
  }

  private Observed observed(Observed.Phase phase, String reason, String message, PodStatus s) {
    return new Observed(
        phase,
        reason,
        message,
        hostIP,
        hostIP,
        s.startTime(),
        s.initContainers().stream().map(ContainerStatus::toObserved).toList(),
        s.containers().stream().map(ContainerStatus::toObserved).toList());
  }

  /** No status.json yet: the supervisor is starting, or never came up. */
  private Observed beforeSupervisor(PodLayout l) throws IOException {
    Launched launched = Json.readIfExists(l.launched(), Launched.class);
    Instant since =
        launched != null ? launched.at() : Files.getLastModifiedTime(l.dir()).toInstant();
    PodPlan plan = Json.readIfExists(l.plan(), PodPlan.class);
    List<Observed.ContainerStatus> init = new ArrayList<>();
    List<Observed.ContainerStatus> main = new ArrayList<>();
    if (plan != null) {
      String mainReason = plan.initContainers().isEmpty() ? "ContainerCreating" : "PodInitializing";
      plan.initContainers()
          .forEach(
              c -> init.add(Observed.ContainerStatus.waiting(c.name(), "PodInitializing", null)));
      plan.containers()
          .forEach(c -> main.add(Observed.ContainerStatus.waiting(c.name(), mainReason, null)));
    }
    if (Instant.now().isBefore(since.plus(settings.supervisorStartTimeout()))) {
      return new Observed(Observed.Phase.PENDING, null, null, hostIP, hostIP, since, init, main);
    }
    String why =
        launched == null
            ? "the pod was never launched (submit did not finish)"
            : "the local supervisor did not start within "
                + settings.supervisorStartTimeout().toSeconds()
                + "s";
    return new Observed(
        Observed.Phase.FAILED,
        "SupervisorFailedToStart",
        why + tail(l.supervisorLog()),
        hostIP,
        hostIP,
        since,
        init,
        main);
  }

  private static String tail(Path file) {
    try {
      byte[] b = Files.readAllBytes(file);
      if (b.length == 0) {
        return "";
      }
      int from = Math.max(0, b.length - 600);
      return "; supervisor output: "
          + new String(b, from, b.length - from, StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "";
    }
  }

  /** The supervisor died without recording the end: say so, and what is known. */
  private Observed supervisorLost(PodStatus s) {
    boolean anyAlive = false;
    List<ContainerStatus> all = new ArrayList<>(s.initContainers());
    all.addAll(s.containers());
    for (ContainerStatus c : all) {
      if (c.state() == Observed.State.RUNNING && ProcFs.alive(c.pid(), c.pidStartTicks())) {
        anyAlive = true;
      }
    }
    String what =
        "the local supervisor (pid "
            + s.supervisorPid()
            + ") exited without recording the end of the pod";
    if (anyAlive) {
      return observed(
          Observed.Phase.UNKNOWN,
          "SupervisorLost",
          what + "; its containers still run, but their exit codes cannot be recorded",
          s);
    }
    Observed o = observed(Observed.Phase.FAILED, "SupervisorLost", what, s);
    return new Observed(
        o.phase(),
        o.reason(),
        o.message(),
        o.hostIP(),
        o.podIP(),
        o.startTime(),
        o.initContainers().stream().map(LocalBackend::lost).toList(),
        o.containers().stream().map(LocalBackend::lost).toList());
  }

  private static Observed.ContainerStatus lost(Observed.ContainerStatus c) {
    if (c.state() != Observed.State.RUNNING) {
      return c;
    }
    return new Observed.ContainerStatus(
        c.name(),
        Observed.State.TERMINATED,
        "ContainerStatusUnknown",
        "The container could not be located when the pod was terminated",
        137,
        c.startedAt(),
        null,
        c.restartCount(),
        c.lastTermination());
  }

  // ---- cancel ---------------------------------------------------------------------------------

  @Override
  public void cancel(Handle handle, Duration grace) throws BackendException {
    PodLayout l = layout(handle);
    if (!Files.isDirectory(l.dir())) {
      throw new BackendException.NotFound("no local pod " + handle.id());
    }
    Instant now = Instant.now();
    Instant killAt = now.plus(grace == null || grace.isNegative() ? Duration.ZERO : grace);
    try {
      synchronized (podLock(handle.id())) {
        CancelRequest old = Json.readIfExists(l.cancel(), CancelRequest.class);
        if (old == null || killAt.isBefore(old.killAt())) {
          AtomicFiles.write(
              l.cancel(),
              Json.write(new CancelRequest(old == null ? now : old.requestedAt(), killAt)),
              0644);
          LOG.info("pod {}: stop requested, SIGKILL at {}", handle.id(), killAt);
        } else {
          killAt = old.killAt();
        }
      }
      // The supervisor acts on cancel.json within ~100 ms. Without one, signal here.
      PodStatus s = Json.readIfExists(l.status(), PodStatus.class);
      if (s != null && s.finishedAt() == null && !s.phase().terminal() && !supervisorAlive(s)) {
        signalOrphans(s, killAt);
      }
    } catch (IOException e) {
      throw new BackendException.Transient(
          "local: cannot record the stop request: " + e.getMessage(), e);
    }
  }

  private void signalOrphans(PodStatus s, Instant killAt) {
    List<ContainerStatus> all = new ArrayList<>(s.initContainers());
    all.addAll(s.containers());
    for (ContainerStatus c : all) {
      if (c.state() != Observed.State.RUNNING || !ProcFs.alive(c.pid(), c.pidStartTicks())) {
        continue;
      }
      long delay = Duration.between(Instant.now(), killAt).toMillis();
      if (delay > 0) {
        LOG.info("supervisor gone: SIGTERM to container {} (group {})", c.name(), c.pid());
        Tools.killGroup(kill, c.pid(), "TERM");
        killer.schedule(
            () -> {
              if (ProcFs.alive(c.pid(), c.pidStartTicks())) {
                Tools.killGroup(kill, c.pid(), "KILL");
              }
            },
            delay,
            TimeUnit.MILLISECONDS);
      } else {
        Tools.killGroup(kill, c.pid(), "KILL");
      }
    }
  }

  // ---- logs -----------------------------------------------------------------------------------

  @Override
  public InputStream logs(Handle handle, String container, LogOptions options)
      throws BackendException {
    PodLayout l = layout(handle);
    if (container == null || !SAFE_NAME.matcher(container).matches()) {
      throw new BackendException.NotFound("no container '" + container + "' in pod " + handle.id());
    }
    try {
      PodStatus s = Json.readIfExists(l.status(), PodStatus.class);
      ContainerStatus c = s == null ? null : s.container(container);
      if (c == null) {
        if (!Files.isDirectory(l.dir())) {
          throw new BackendException.NotFound("no local pod " + handle.id());
        }
        PodPlan plan = Json.readIfExists(l.plan(), PodPlan.class);
        if (plan != null && plan.allContainers().noneMatch(x -> x.name().equals(container))) {
          throw new BackendException.NotFound(
              "no container '" + container + "' in pod " + handle.id());
        }
        throw new BackendException.NotFound("container '" + container + "' is waiting to start");
      }
      int run = options.previous() ? c.runs() - 2 : c.runs() - 1;
      if (run < 0) {
        throw new BackendException.NotFound(
            options.previous()
                ? "previous terminated container '" + container + "' not found"
                : "container '" + container + "' is waiting to start");
      }
      Path file = l.log(container, run);
      if (!Files.exists(file)) {
        throw new BackendException.NotFound("no log for container '" + container + "' run " + run);
      }
      Instant now = Instant.now();
      if (!options.follow()) {
        return TimestampedLog.read(file, options, now);
      }
      return TimestampedLog.follow(
          file, options, now, () -> runOver(l, container, run), FOLLOW_POLL);
    } catch (IOException e) {
      throw new BackendException.Transient("local: cannot read the log: " + e.getMessage(), e);
    }
  }

  /** Whether run {@code run} of a container can write no more lines. */
  private boolean runOver(PodLayout l, String container, int run) {
    try {
      PodStatus s = Json.readIfExists(l.status(), PodStatus.class);
      if (s == null) {
        return true;
      }
      ContainerStatus c = s.container(container);
      if (c == null || c.runs() - 1 > run || c.state() != Observed.State.RUNNING) {
        return true;
      }
      return s.finishedAt() != null || !supervisorAlive(s);
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }

  // ---- the rest -------------------------------------------------------------------------------

  @Override
  public Capacity capacity() {
    long cpu =
        settings.cpuMillis() > 0
            ? settings.cpuMillis()
            : Runtime.getRuntime().availableProcessors() * 1000L;
    long mem = settings.memoryBytes() > 0 ? settings.memoryBytes() : HostInfo.memoryBytes();
    return new Capacity(cpu, mem, 0, settings.pods(), HostInfo.nodeInfo());
  }

  @Override
  public Optional<Handle> find(PodRef pod) {
    if (!SAFE_NAME.matcher(pod.uid()).matches()) {
      return Optional.empty();
    }
    PodLayout l = new PodLayout(settings.workDir().resolve(pod.uid()));
    return Files.exists(l.launched()) ? Optional.of(handle(pod.uid())) : Optional.empty();
  }

  @Override
  public void ping() throws BackendException {
    try {
      Files.createDirectories(settings.workDir());
      Path probe = Files.createTempFile(settings.workDir(), ".ping", ".tmp");
      Files.delete(probe);
    } catch (IOException | RuntimeException e) {
      throw new BackendException.Transient(
          "local: work directory " + settings.workDir() + " is not writable: " + e.getMessage(), e);
    }
  }

  @Override
  public void release(Handle handle) throws BackendException {
    PodLayout l = layout(handle);
    if (!Files.isDirectory(l.dir())) {
      return;
    }
    synchronized (podLock(handle.id())) {
      try {
        if (Files.exists(l.launched())) {
          Observed o = observe(l);
          if (!o.phase().terminal()) {
            throw new BackendException.Transient(
                "local: pod "
                    + handle.id()
                    + " is "
                    + o.phase().toKubernetes()
                    + ", stop it before releasing it");
          }
        }
        AtomicFiles.deleteTree(l.dir());
        POD_LOCKS.remove(l.dir());
        LOG.info("pod {}: directory {} removed", handle.id(), l.dir());
      } catch (IOException e) {
        throw new BackendException.Transient(
            "local: cannot remove " + l.dir() + ": " + e.getMessage(), e);
      }
    }
  }

  @Override
  public void close() {
    killer.shutdown();
  }
}
