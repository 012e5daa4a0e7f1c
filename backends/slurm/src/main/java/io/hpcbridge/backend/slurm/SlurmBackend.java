package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Capacity;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.backend.Submission;
import io.hpcbridge.backend.VolumePlan;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.io.InputStream;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs each pod as one Slurm batch job (see the module README). A facade over the parts that do the
 * work: {@link JobSubmitter}, {@link JobFinder}, {@link JobObserver}, {@link PodLogs}, {@link
 * JobCanceller} and {@link ClusterInfo}, all reaching the cluster through one {@link LoginNode}.
 */
public final class SlurmBackend implements Backend {
  private final LoginNode login;
  private final JobFinder finder;
  private final JobSubmitter submitter;
  private final JobObserver observer;
  private final PodLogs logs;
  private final JobCanceller canceller;
  private final ClusterInfo cluster;
  private final OptionResolver options;
  private final VolumeUpdater volumes;

  public SlurmBackend(SlurmConfig config, Transport transport) {
    this.login = new LoginNode(config, transport);
    this.finder = new JobFinder(login);
    this.submitter = new JobSubmitter(login, finder);
    this.observer = new JobObserver(login);
    this.logs = new PodLogs(login, Duration.ofSeconds(1));
    this.canceller = new JobCanceller(login);
    this.cluster = new ClusterInfo(login);
    this.options = new OptionResolver(config);
    this.volumes = new VolumeUpdater(login);
  }

  @Override
  public String name() {
    return SlurmHandle.BACKEND;
  }

  /** The renderer, once the remote home directory is known. */
  public SbatchRenderer renderer() throws BackendException.Transient {
    return login.renderer();
  }

  /**
   * The exact script {@link #submit} would hand sbatch. Offline (login node unreachable) a {@code
   * ~/} work root is shown under {@code /home/<user>}.
   */
  @Override
  public String render(PodPlan plan) throws BackendException {
    SbatchRenderer r;
    try {
      r = login.renderer();
    } catch (BackendException.Transient e) {
      r = login.offlineRenderer();
    }
    return r.render(plan);
  }

  /**
   * What the pod chose through its annotations ({@code runtime}, {@code partition}, {@code
   * account}, {@code qos}, {@code nodes}, {@code exclusive}, {@code flavor}) and its time limit
   * ({@code time}: the annotation, else activeDeadlineSeconds), never the settings' defaults or
   * what a flavor sets. No remote call.
   */
  @Override
  public Map<String, String> choices(PodPlan plan) throws BackendException {
    return options.choices(plan);
  }

  @Override
  public Handle submit(PodPlan plan) throws BackendException {
    return submitter.submit(plan);
  }

  /**
   * Pods whose intent the caller recorded just before: no lookup, many pods per remote command,
   * several commands at once. A pod that failed {@link BackendException.Transient} may still have
   * been submitted (the command broke off): retry it with {@link #submit}, which looks first.
   */
  @Override
  public List<Submission> submitNew(List<PodPlan> plans) {
    return submitter.submitNew(plans);
  }

  @Override
  public Optional<Handle> find(PodRef pod) throws BackendException {
    return finder.find(pod);
  }

  @Override
  public Map<Handle, Observed> observe(Collection<Handle> handles) throws BackendException {
    return observer.observe(handles);
  }

  @Override
  public void cancel(Handle handle, Duration grace) throws BackendException {
    canceller.cancel(handle, grace);
  }

  /** One {@code scancel} of many ids, and one SIGKILL for the group after the grace. */
  @Override
  public Map<Handle, BackendException> cancelAll(Collection<Handle> handles, Duration grace) {
    return canceller.cancelAll(handles, grace);
  }

  @Override
  public InputStream logs(Handle handle, String container, LogOptions options)
      throws BackendException {
    return logs.logs(handle, container, options);
  }

  @Override
  public Capacity capacity() throws BackendException {
    return cluster.capacity();
  }

  @Override
  public void ping() throws BackendException {
    cluster.ping();
  }

  /** Replaces the files of one volume of a running pod, each atomically (temp file + rename). */
  @Override
  public void updateVolume(Handle handle, VolumePlan volume) throws BackendException {
    volumes.update(handle, volume);
  }

  @Override
  public void release(Handle handle) throws BackendException {
    canceller.release(handle);
  }

  @Override
  public void close() {
    canceller.close();
    login.transport().close();
  }
}
