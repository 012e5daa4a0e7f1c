package io.hpcbridge.backend.local;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendContext;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.HostAddress;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import io.hpcbridge.backend.local.common.RunAs;
import io.hpcbridge.backend.local.supervisor.Cgroups;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs pods as process groups on this machine. Each pod is a directory {@code <workDir>/<uid>/}
 * ({@link PodDirectory}) watched over by a detached supervisor process ({@link
 * SupervisorLauncher}), so pods keep running, and their exit codes and logs stay known, across
 * bridge restarts. Images are recorded, never pulled: the command runs on the host.
 *
 * <p>This class is the SPI facade: {@link PodValidator} refuses what cannot run, {@link
 * StatusReader} observes, {@link PodLogs} serves logs, {@link PodStopper} stops.
 */
public final class LocalBackend implements Backend {

  private static final Logger LOG = LoggerFactory.getLogger(LocalBackend.class);

  private final LocalSettings settings;
  private final HostTools tools;
  private final PodDirectory pods;
  private final PodValidator validator;
  private final SupervisorLauncher launcher;
  private final StatusReader statusReader;
  private final PodStopper stopper;
  private final PodLogs logs = new PodLogs();
  private final StatusWatcher watcher = new StatusWatcher();
  private final Cgroups cgroups;

  LocalBackend(BackendContext context, LocalSettings settings) {
    this.settings = settings;
    this.tools = new HostTools(settings);
    SecurityContexts security =
        new SecurityContexts(
            SecurityContexts.Host.current(), settings.runAsUser(), settings.runAsGroup());
    this.pods = new PodDirectory(settings.workDir(), new PodVolumes(security.host().root()));
    this.validator = new PodValidator(tools, security);
    this.launcher = new SupervisorLauncher(tools.setsid);
    // Processes run on this machine: the node's advertised address is the pods' address too.
    String hostIP =
        context.nodeAddress() != null ? context.nodeAddress() : HostAddress.primaryIPv4();
    this.statusReader = new StatusReader(hostIP, settings.supervisorStartTimeout());
    this.stopper = new PodStopper(pods, tools.kill);
    LOG.info(
        "local backend for node {}: pods in {}, address {}",
        context.nodeName(),
        settings.workDir(),
        hostIP);
    this.cgroups = Cgroups.detect();
    Optional<String> limits = cgroups.problem().or(cgroups::prepareBridge);
    if (limits.isPresent()) {
      LOG.warn(
          "local backend: memory, CPU and process limits of pods are NOT enforced: {}; pods still"
              + " run",
          limits.get());
    } else {
      LOG.info("local backend: limits are enforced with {}", cgroups.describe());
      cgroups
          .pidsProblem()
          .ifPresent(
              p ->
                  LOG.warn(
                      "local backend: the number of processes of a container is NOT limited: {}",
                      p));
    }
    if (security.host().root()) {
      LOG.info(
          "local backend: containers run as uid {} gid {} unless their securityContext says"
              + " otherwise",
          settings.runAsUser(),
          settings.runAsGroup());
    } else {
      LOG.warn(
          "local backend: the bridge does not run as root, so pods run as its own user (uid {}),"
              + " can write everything it can, and a pod asking for another user is refused",
          security.host().uid());
    }
  }

  @Override
  public String name() {
    return LocalBackendFactory.NAME;
  }

  /** The directory of a pod, for people and tests. */
  Path podDir(Handle handle) {
    return settings.workDir().resolve(handle.id());
  }

  private static Handle handle(String uid) {
    return new Handle(LocalBackendFactory.NAME, uid);
  }

  @Override
  public Handle submit(PodPlan plan) throws BackendException {
    Map<String, RunAs> runAs = validator.validate(plan);
    String uid = plan.pod().uid();
    SupervisorOptions options =
        new SupervisorOptions(
            settings.restartBackoff().toMillis(),
            settings.maxRestartBackoff().toMillis(),
            tools.forSupervisor(),
            runAs,
            SecurityContexts.owner(plan, runAs),
            settings.maxProcesses());
    try {
      if (!pods.createOnce(plan, options, launcher::launch)) {
        LOG.debug("pod {} ({}) already submitted", plan.pod(), uid);
        return handle(uid);
      }
    } catch (IOException e) {
      throw new BackendException.Transient(
          "local: cannot prepare pod directory " + pods.layout(uid).dir() + ": " + e.getMessage(),
          e);
    }
    watcher.watch(pods.layout(uid).dir());
    LOG.info("pod {} ({}) started in {}", plan.pod(), uid, pods.layout(uid).dir());
    return handle(uid);
  }

  @Override
  public Map<Handle, Observed> observe(Collection<Handle> handles) {
    Map<Handle, Observed> out = new LinkedHashMap<>();
    for (Handle h : handles) {
      try {
        Observed o = statusReader.observe(pods.layout(h));
        if (!o.phase().terminal()) {
          watcher.watch(pods.layout(h).dir()); // pods resumed after a restart, too
        } else {
          watcher.forget(pods.layout(h).dir());
        }
        out.put(h, o);
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

  @Override
  public void cancel(Handle handle, Duration grace) throws BackendException {
    stopper.cancel(handle.id(), pods.layout(handle), grace);
  }

  @Override
  public InputStream logs(Handle handle, String container, LogOptions options)
      throws BackendException {
    return logs.logs(handle.id(), pods.layout(handle), container, options);
  }

  /**
   * Replaces the files of a running pod's ConfigMap, Secret, downwardAPI or projected volume (e.g.
   * a rotated service account token), each atomically where the pod sees it.
   */
  @Override
  public void updateVolume(Handle handle, VolumePlan volume) throws BackendException {
    PodLayout l = pods.layout(handle);
    synchronized (pods.lock(handle.id())) {
      try {
        PodPlan plan = Json.readIfExists(l.plan(), PodPlan.class);
        SupervisorOptions options = Json.readIfExists(l.options(), SupervisorOptions.class);
        if (plan == null || options == null) {
          throw new BackendException.NotFound("no local pod " + handle.id());
        }
        VolumePlan known =
            plan.volume(volume.name())
                .orElseThrow(
                    () ->
                        new BackendException.NotFound(
                            "pod " + handle.id() + " has no volume " + volume.name()));
        if (known.type() != volume.type()
            || known.type() == VolumePlan.Type.EMPTY_DIR
            || known.type() == VolumePlan.Type.HOST_PATH) {
          throw new BackendException.InvalidPod(
              "InvalidVolume",
              "volume "
                  + volume.name()
                  + " is "
                  + known.type()
                  + (known.type() == volume.type()
                      ? ", which has no files to replace"
                      : ", not " + volume.type()));
        }
        pods.volumes().update(l, volume, options.owner());
        LOG.info("pod {}: files of volume {} replaced", handle.id(), volume.name());
      } catch (IOException e) {
        throw new BackendException.Transient(
            "local: cannot update volume " + volume.name() + ": " + e.getMessage(), e);
      }
    }
  }

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
    return pods.launched(pod.uid()) ? Optional.of(handle(pod.uid())) : Optional.empty();
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
    PodLayout l = pods.layout(handle);
    if (!Files.isDirectory(l.dir())) {
      return;
    }
    synchronized (pods.lock(handle.id())) {
      try {
        if (Files.exists(l.launched())) {
          Observed o = statusReader.observe(l);
          if (!o.phase().terminal()) {
            throw new BackendException.Transient(
                "local: pod "
                    + handle.id()
                    + " is "
                    + o.phase().toKubernetes()
                    + ", stop it before releasing it");
          }
        }
        watcher.forget(l.dir());
        pods.remove(l);
        cgroups.removePod(handle.id());
        LOG.info("pod {}: directory {} removed", handle.id(), l.dir());
      } catch (IOException e) {
        throw new BackendException.Transient(
            "local: cannot remove " + l.dir() + ": " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BackendException.Transient("local: interrupted while releasing " + l.dir(), e);
      }
    }
  }

  @Override
  public void onChange(Runnable listener) {
    watcher.onChange(listener);
  }

  @Override
  public void close() {
    watcher.close();
    stopper.close();
  }
}
