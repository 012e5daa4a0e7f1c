package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns a {@link PodPlan} into an sbatch script plus the files shipped next to it: {@link
 * PodValidator} checks the pod, {@link OptionResolver} decides the job's options, {@link
 * SbatchDirectives} writes the {@code #SBATCH} lines, a {@link ContainerLauncher} per runtime the
 * containers' command lines, and {@link JobScript} assembles the script and files.
 *
 * <p>Everything taken from the pod is either validated against a strict pattern (values that end up
 * in {@code #SBATCH} lines) or single-quoted by {@link Shell#quote} (everything in the script's
 * body). Env values and volume contents are never in the script: they are shipped as files.
 */
public final class SbatchRenderer {
  public static final String JOB_PREFIX = "hpcb-";

  private final SlurmConfig config;
  private final String home;
  private final Account account;
  private final OptionResolver options;

  /**
   * A renderer that does not know the account: securityContext fields that need it (runAsUser…) are
   * not checked. For dry runs and tests.
   *
   * @param config the backend settings
   * @param home the remote user's home, to resolve a {@code ~/} work root
   */
  public SbatchRenderer(SlurmConfig config, String home) {
    this(config, home, null);
  }

  SbatchRenderer(SlurmConfig config, Account account) {
    this(config, account.home(), account);
  }

  private SbatchRenderer(SlurmConfig config, String home, Account account) {
    this.config = Objects.requireNonNull(config, "config");
    this.home = Objects.requireNonNull(home, "home");
    this.account = account;
    this.options = new OptionResolver(config);
  }

  /** The work root as an absolute path. */
  public String workRoot() {
    String r = config.workRoot();
    r = r.startsWith("~/") ? home.replaceAll("/+$", "") + r.substring(1) : r;
    return r.replaceAll("/+$", "");
  }

  /** The directory of a pod, from its UID. */
  public String podDir(String uid) {
    return workRoot() + "/" + uid;
  }

  public static String jobName(String uid) {
    return JOB_PREFIX + uid;
  }

  /** The script that would be submitted for {@code plan} (a dry run; nothing is contacted). */
  public String render(PodPlan plan) throws BackendException.InvalidPod {
    return prepare(plan).script();
  }

  /** The script and the files to ship. */
  public RenderedJob prepare(PodPlan plan) throws BackendException.InvalidPod {
    PodValidator.validate(plan);
    JobOptions o = options.resolve(plan);
    String uid = plan.pod().uid();
    String dir = podDir(uid);
    ContainerLauncher launcher = ContainerLauncher.of(o.runtime());
    List<ContainerLauncher.Launch> launches = new ArrayList<>();
    List<String> runtimeOptions = new ArrayList<>(config.isolation(o.runtime()));
    runtimeOptions.addAll(o.runtimeOptions());
    for (ContainerPlan c : plan.allContainers().toList()) {
      EnvRules.check(c, o.runtime());
      SecurityRules.check(c, o.runtime(), runtimeOptions, account);
      List<Bind> binds = Bind.of(plan, c, dir, launcher.bindsVolumes());
      launches.add(
          launcher.launch(
              new ContainerLauncher.Target(
                  c,
                  config.binary(o.runtime()),
                  runtimeOptions,
                  binds,
                  dir + "/env/" + c.name() + ".env")));
    }
    String directives = SbatchDirectives.render(plan, dir, jobName(uid), o);
    return JobScript.assemble(
        plan, dir, jobName(uid), o, directives, launches, config.restartBackoff());
  }
}
