package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.VolumePlan;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Turns a {@link PodPlan} into an sbatch script plus the files shipped next to it.
 *
 * <p>Precedence of sbatch flags, lowest first: the {@code partition} setting, the pod's flavor,
 * what the pod spec implies (resources, activeDeadlineSeconds), the raw {@code flags} annotation,
 * the typed annotations. Flags the bridge manages ({@link SlurmConfig#MANAGED_FLAGS}) come last and
 * cannot be set by anything else.
 *
 * <p>Everything taken from the pod is either validated against a strict pattern (values that end up
 * in {@code #SBATCH} lines) or single-quoted by {@link Shell#quote} (everything in the script's
 * body). Env values and volume contents are never in the script: they are shipped as files.
 */
public final class SbatchRenderer {
  public static final String JOB_PREFIX = "hpcb-";

  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern UID = Pattern.compile("[A-Za-z0-9-]{1,64}");
  private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Pattern NAME_VALUE = Pattern.compile("[A-Za-z0-9_.+,-]+");
  private static final Pattern CONSTRAINT = Pattern.compile("[A-Za-z0-9_.,:&|\\[\\]*()!-]+");
  private static final Pattern TIME =
      Pattern.compile("\\d+(:\\d{1,2}){0,2}|\\d+-\\d{1,2}(:\\d{1,2}){0,2}|UNLIMITED|INFINITE");
  private static final Pattern NODES = Pattern.compile("[1-9]\\d*(-[1-9]\\d*)?");
  private static final Pattern COUNT = Pattern.compile("[1-9]\\d*");

  /** The annotations a pod may set, after {@link SlurmConfig#PREFIX}. */
  public static final List<String> ANNOTATIONS =
      List.of(
          "partition",
          "account",
          "qos",
          "constraint",
          "reservation",
          "time",
          "nodes",
          "ntasks",
          "exclusive",
          "flags",
          "flavor",
          "runtime");

  private static final String WRAPPER = loadWrapper();

  private final SlurmConfig config;
  private final String home;

  /**
   * @param config the backend settings
   * @param home the remote user's home, to resolve a {@code ~/} work root
   */
  public SbatchRenderer(SlurmConfig config, String home) {
    this.config = Objects.requireNonNull(config, "config");
    this.home = Objects.requireNonNull(home, "home");
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
    validateIdentity(plan);
    Map<String, String> ann = slurmAnnotations(plan);

    Flavor flavor = null;
    String flavorName = ann.getOrDefault("flavor", config.defaultFlavor());
    if (flavorName != null) {
      flavor = config.flavors().get(flavorName);
      if (flavor == null) {
        throw invalid(
            "UnknownFlavor",
            "annotation "
                + SlurmConfig.PREFIX
                + "flavor: no flavor named '"
                + flavorName
                + "' (known: "
                + String.join(", ", config.flavors().keySet())
                + ")");
      }
    }
    ContainerRuntime runtime = config.runtime();
    List<String> runtimeOptions = config.options(runtime);
    if (flavor != null && flavor.runtime() != null) {
      runtime = flavor.runtime();
      runtimeOptions = config.options(runtime);
    }
    if (ann.containsKey("runtime")) {
      runtime =
          ContainerRuntime.parse(ann.get("runtime"))
              .orElseThrow(
                  () ->
                      invalid(
                          "UnknownRuntime",
                          "annotation "
                              + SlurmConfig.PREFIX
                              + "runtime: unknown runtime '"
                              + ann.get("runtime")
                              + "' (known: "
                              + ContainerRuntime.names()
                              + ")"));
      runtimeOptions = config.options(runtime);
    }
    if (flavor != null
        && flavor.options() != null
        && (flavor.runtime() == null || flavor.runtime() == runtime)) {
      runtimeOptions = flavor.options();
    }

    // Flags, lowest precedence first; later puts replace earlier ones.
    Map<String, String> flags = new LinkedHashMap<>();
    if (config.partition() != null) {
      flags.put("partition", config.partition());
    }
    if (flavor != null) {
      for (SbatchFlag f : flavor.flags().values()) {
        flags.put(f.name(), f.value());
      }
    }
    podSpecFlags(plan, flags);
    rawFlags(ann, flags);
    typedFlags(ann, flags);

    String uid = plan.pod().uid();
    String dir = podDir(uid);
    List<String> managed = new ArrayList<>();
    managed.add("#SBATCH --job-name=" + jobName(uid));
    managed.add(
        "#SBATCH --comment=hpc-bridge:"
            + plan.pod().namespace()
            + "/"
            + plan.pod().name()
            + "/"
            + uid);
    managed.add("#SBATCH --output=" + dir + "/slurm.out");
    managed.add("#SBATCH --chdir=" + dir);
    managed.add("#SBATCH --no-requeue");
    long grace = plan.terminationGracePeriod().toSeconds();
    if (grace > 0) {
      managed.add("#SBATCH --signal=B:TERM@" + Math.min(grace, 65535));
    }
    String cpus = flags.remove("cpus-per-task");
    String mem = flags.remove("mem");
    if (cpus != null) {
      managed.add("#SBATCH --cpus-per-task=" + cpus);
    }
    if (mem != null) {
      managed.add("#SBATCH --mem=" + mem);
    }

    List<RenderedJob.RemoteFile> files = new ArrayList<>();
    StringBuilder body = new StringBuilder();
    body.append("HPCB_DIR=").append(Shell.quote(dir)).append('\n');
    body.append("HPCB_POLICY=").append(plan.restartPolicy().toKubernetes()).append('\n');
    body.append("HPCB_BACKOFF=")
        .append(Math.max(1, config.restartBackoff().toSeconds()))
        .append('\n');
    body.append("HPCB_GRACE=").append(grace).append('\n');
    body.append("HPCB_INIT=(").append(names(plan.initContainers())).append(")\n");
    body.append("HPCB_MAIN=(").append(names(plan.containers())).append(")\n");
    List<String> mkdirs = new ArrayList<>();
    for (VolumePlan v : plan.volumes()) {
      mkdirs.add("vol/" + v.name());
      for (VolumePlan.FilePlan f : v.files()) {
        files.add(
            new RenderedJob.RemoteFile("vol/" + v.name() + "/" + f.path(), f.content(), f.mode()));
      }
    }
    body.append("HPCB_MKDIRS=(").append(Shell.quoteAll(mkdirs)).append(")\n");

    List<ContainerPlan> all = plan.allContainers().toList();
    List<String> envsrc = new ArrayList<>();
    List<String> cwd = new ArrayList<>();
    List<String> resolve = new ArrayList<>();
    StringBuilder argvs = new StringBuilder();
    StringBuilder manifest = new StringBuilder();
    for (int i = 0; i < all.size(); i++) {
      ContainerPlan c = all.get(i);
      boolean init = i < plan.initContainers().size();
      manifest.append(init ? "init " : "main ").append(c.name()).append('\n');
      String envPath = dir + "/env/" + c.name() + ".env";
      files.add(new RenderedJob.RemoteFile("env/" + c.name() + ".env", envFile(c), 0600));
      List<String> argv = runtimeArgv(plan, c, runtime, runtimeOptions, dir, envPath);
      argvs.append("HPCB_ARGV_").append(i).append("=(").append(Shell.quoteAll(argv)).append(")\n");
      envsrc.add(
          runtime == ContainerRuntime.APPTAINER || runtime == ContainerRuntime.SINGULARITY
              ? ""
              : envPath);
      cwd.add(runtime == ContainerRuntime.NONE && c.workingDir() != null ? c.workingDir() : "");
      resolve.add(runtime == ContainerRuntime.NONE ? "0" : "1");
    }
    body.append("HPCB_ENVSRC=(").append(Shell.quoteAll(envsrc)).append(")\n");
    body.append("HPCB_CWD=(").append(Shell.quoteAll(cwd)).append(")\n");
    body.append("HPCB_RESOLVE=(").append(String.join(" ", resolve)).append(")\n");
    body.append(argvs);
    files.add(
        new RenderedJob.RemoteFile(
            "manifest", manifest.toString().getBytes(StandardCharsets.UTF_8), 0644));

    StringBuilder s = new StringBuilder("#!/bin/bash\n");
    managed.forEach(l -> s.append(l).append('\n'));
    new java.util.TreeMap<>(flags)
        .forEach((k, v) -> s.append(new SbatchFlag(k, v).directive()).append('\n'));
    s.append("# Generated by hpc-bridge for pod ")
        .append(plan.pod().namespace())
        .append('/')
        .append(plan.pod().name())
        .append(" (uid ")
        .append(uid)
        .append("), runtime ")
        .append(runtime.configName())
        .append(".\n");
    s.append("set -u\n");
    s.append(body);
    s.append(WRAPPER);
    return new RenderedJob(dir, jobName(uid), s.toString(), files, runtime);
  }

  // ---- validation --------------------------------------------------------------------------

  private static void validateIdentity(PodPlan plan) throws BackendException.InvalidPod {
    if (!DNS_LABEL.matcher(plan.pod().namespace()).matches()) {
      throw invalid(
          "InvalidName", "namespace is not a DNS label: " + printable(plan.pod().namespace()));
    }
    if (plan.pod().name().length() > 253 || !DNS_SUBDOMAIN.matcher(plan.pod().name()).matches()) {
      throw invalid(
          "InvalidName", "pod name is not a DNS subdomain: " + printable(plan.pod().name()));
    }
    if (!UID.matcher(plan.pod().uid()).matches()) {
      throw invalid(
          "InvalidName",
          "pod uid must be letters, digits and dashes: " + printable(plan.pod().uid()));
    }
    List<String> seen = new ArrayList<>();
    for (ContainerPlan c : plan.allContainers().toList()) {
      if (!DNS_LABEL.matcher(c.name()).matches()) {
        throw invalid("InvalidName", "container name is not a DNS label: " + printable(c.name()));
      }
      if (seen.contains(c.name())) {
        throw invalid("InvalidName", "two containers are named " + c.name());
      }
      seen.add(c.name());
      for (var e : c.env().entrySet()) {
        if (!ENV_NAME.matcher(e.getKey()).matches()) {
          throw invalid(
              "UnsupportedEnvName",
              "container "
                  + c.name()
                  + ": env name "
                  + printable(e.getKey())
                  + " is not a shell identifier ([A-Za-z_][A-Za-z0-9_]*)");
        }
        if (!Shell.quotable(e.getValue())) {
          throw invalid(
              "InvalidEnv",
              "container " + c.name() + ": env " + e.getKey() + " contains a NUL character");
        }
      }
      for (String a : c.argv()) {
        if (!Shell.quotable(a)) {
          throw invalid(
              "InvalidCommand",
              "container " + c.name() + ": command or args contain a NUL character");
        }
      }
      if (c.workingDir() != null
          && (!c.workingDir().startsWith("/") || !Shell.quotable(c.workingDir()))) {
        throw invalid(
            "InvalidWorkingDir", "container " + c.name() + ": workingDir must be an absolute path");
      }
    }
    for (VolumePlan v : plan.volumes()) {
      if (!DNS_LABEL.matcher(v.name()).matches()) {
        throw invalid("InvalidName", "volume name is not a DNS label: " + printable(v.name()));
      }
    }
  }

  private static Map<String, String> slurmAnnotations(PodPlan plan)
      throws BackendException.InvalidPod {
    Map<String, String> out = new LinkedHashMap<>();
    for (var e : new java.util.TreeMap<>(plan.annotations()).entrySet()) {
      if (!e.getKey().startsWith(SlurmConfig.PREFIX)) {
        continue;
      }
      String key = e.getKey().substring(SlurmConfig.PREFIX.length());
      if (!ANNOTATIONS.contains(key)) {
        throw invalid(
            "UnknownAnnotation",
            "unknown annotation "
                + e.getKey()
                + " (known: "
                + String.join(", ", ANNOTATIONS.stream().map(a -> SlurmConfig.PREFIX + a).toList())
                + ")");
      }
      out.put(key, e.getValue() == null ? "" : e.getValue().trim());
    }
    return out;
  }

  private static void podSpecFlags(PodPlan plan, Map<String, String> flags) {
    long cpuInit = 0, memInit = 0, gpuInit = 0, cpu = 0, mem = 0, gpu = 0;
    for (ContainerPlan c : plan.initContainers()) {
      cpuInit = Math.max(cpuInit, cpu(c));
      memInit = Math.max(memInit, mem(c));
      gpuInit = Math.max(gpuInit, c.resources().gpus());
    }
    for (ContainerPlan c : plan.containers()) {
      cpu += cpu(c);
      mem += mem(c);
      gpu += c.resources().gpus();
    }
    cpu = Math.max(cpu, cpuInit);
    mem = Math.max(mem, memInit);
    gpu = Math.max(gpu, gpuInit);
    if (cpu > 0) {
      flags.put("cpus-per-task", String.valueOf((cpu + 999) / 1000));
    }
    if (mem > 0) {
      flags.put("mem", ((mem + (1 << 20) - 1) >> 20) + "M");
    }
    if (gpu > 0) {
      flags.put("gres", "gpu:" + gpu);
    }
    plan.activeDeadline().ifPresent(d -> flags.put("time", slurmTime(d)));
  }

  /** A container's CPU: the limit when set (a Slurm allocation is a hard cap), else the request. */
  private static long cpu(ContainerPlan c) {
    return c.resources().cpuLimitMillis() > 0
        ? c.resources().cpuLimitMillis()
        : c.resources().cpuRequestMillis();
  }

  /** A container's memory: the limit when set, else the request. */
  private static long mem(ContainerPlan c) {
    return c.resources().memoryLimitBytes() > 0
        ? c.resources().memoryLimitBytes()
        : c.resources().memoryRequestBytes();
  }

  /** {@code D-HH:MM:SS}, rounded up to whole seconds. */
  static String slurmTime(Duration d) {
    long s = Math.max(1, d.toSeconds() + (d.toNanosPart() > 0 ? 1 : 0));
    return String.format(
        Locale.ROOT, "%d-%02d:%02d:%02d", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
  }

  private void rawFlags(Map<String, String> ann, Map<String, String> flags)
      throws BackendException.InvalidPod {
    String raw = ann.get("flags");
    if (raw == null || raw.isBlank()) {
      return;
    }
    String key = SlurmConfig.PREFIX + "flags";
    for (String token : raw.trim().split("[ \\t]+")) {
      if (token.indexOf('\n') >= 0 || token.indexOf('\r') >= 0) {
        throw invalid("InvalidSlurmFlag", key + ": flags must be on one line");
      }
      SbatchFlag f =
          SbatchFlag.parse(token)
              .orElseThrow(
                  () ->
                      invalid(
                          "InvalidSlurmFlag",
                          key
                              + ": '"
                              + printable(token)
                              + "' is not --name or --name=value with a value of letters, digits"
                              + " and _.,:=+@%/[]&|*()!~^-"));
      if (SlurmConfig.MANAGED_FLAGS.contains(f.name())) {
        throw invalid(
            "ForbiddenSlurmFlag",
            key + ": --" + f.name() + " is set by the bridge and cannot be overridden");
      }
      if (ANNOTATIONS.contains(f.name())) {
        throw invalid(
            "ForbiddenSlurmFlag",
            key
                + ": use the annotation "
                + SlurmConfig.PREFIX
                + f.name()
                + " instead of --"
                + f.name());
      }
      if (!config.allows(f.name())) {
        throw invalid(
            "ForbiddenSlurmFlag",
            key
                + ": --"
                + f.name()
                + " is not allowed (allowed: "
                + String.join(", ", new java.util.TreeSet<>(config.allowedFlags().values()))
                + ")");
      }
      flags.put(f.name(), f.value());
    }
  }

  private static void typedFlags(Map<String, String> ann, Map<String, String> flags)
      throws BackendException.InvalidPod {
    for (String k : List.of("partition", "account", "qos", "reservation")) {
      if (ann.containsKey(k)) {
        flags.put(k, checked(k, ann.get(k), NAME_VALUE, "letters, digits and _ . + , -"));
      }
    }
    if (ann.containsKey("constraint")) {
      flags.put(
          "constraint",
          checked("constraint", ann.get("constraint"), CONSTRAINT, "a Slurm feature expression"));
    }
    if (ann.containsKey("time")) {
      flags.put(
          "time",
          checked(
              "time",
              ann.get("time"),
              TIME,
              "minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"));
    }
    if (ann.containsKey("nodes")) {
      flags.put("nodes", checked("nodes", ann.get("nodes"), NODES, "a count N or a range MIN-MAX"));
    }
    if (ann.containsKey("ntasks")) {
      flags.put("ntasks", checked("ntasks", ann.get("ntasks"), COUNT, "a positive whole number"));
    }
    if (ann.containsKey("exclusive")) {
      switch (ann.get("exclusive").toLowerCase(Locale.ROOT)) {
        case "true" -> flags.put("exclusive", null);
        case "false" -> flags.remove("exclusive");
        case "user", "mcs", "topo" ->
            flags.put("exclusive", ann.get("exclusive").toLowerCase(Locale.ROOT));
        default ->
            throw invalid(
                "InvalidAnnotation",
                SlurmConfig.PREFIX
                    + "exclusive: expected true, false, user, mcs"
                    + " or topo, got '"
                    + printable(ann.get("exclusive"))
                    + "'");
      }
    }
  }

  private static String checked(String key, String value, Pattern p, String expected)
      throws BackendException.InvalidPod {
    if (!p.matcher(value).matches()) {
      throw invalid(
          "InvalidAnnotation",
          SlurmConfig.PREFIX + key + ": expected " + expected + ", got '" + printable(value) + "'");
    }
    return value;
  }

  // ---- container command lines -------------------------------------------------------------

  private List<String> runtimeArgv(
      PodPlan plan,
      ContainerPlan c,
      ContainerRuntime rt,
      List<String> options,
      String dir,
      String envPath)
      throws BackendException.InvalidPod {
    List<String[]> binds = binds(plan, c, rt, dir);
    boolean gpu = c.resources().gpus() > 0;
    if (rt != ContainerRuntime.NONE) {
      if (c.image().isBlank()
          || c.image().startsWith("-")
          || c.image().chars().anyMatch(Character::isWhitespace)) {
        throw invalid(
            "InvalidImage",
            "container "
                + c.name()
                + ": image must be non-empty, without spaces, and not start with '-'");
      }
    }
    List<String> a = new ArrayList<>();
    switch (rt) {
      case NONE -> {
        if (c.argv().isEmpty()) {
          throw invalid(
              "MissingCommand",
              "container "
                  + c.name()
                  + ": runtime none runs the command directly, so the container needs a command or"
                  + " args");
        }
        a.addAll(c.argv());
      }
      case APPTAINER, SINGULARITY -> {
        a.add(config.binary(rt));
        a.add(c.command().isEmpty() ? "run" : "exec");
        a.addAll(options);
        if (gpu) {
          a.add("--nv");
        }
        a.add("--env-file");
        a.add(envPath);
        for (String[] b : binds) {
          a.add("--bind");
          a.add(b[0] + ":" + b[1] + (b[2] != null ? ":ro" : ""));
        }
        if (c.workingDir() != null) {
          a.add("--pwd");
          a.add(c.workingDir());
        }
        a.add(
            c.image().matches("^[a-z][a-z0-9+.-]*://.*") || c.image().startsWith("/")
                ? c.image()
                : "docker://" + c.image());
        a.addAll(c.command().isEmpty() ? c.args() : c.argv());
      }
      case PODMAN -> {
        a.add(config.binary(rt));
        a.add("run");
        a.add("--rm");
        a.add("--network=host");
        a.add(
            "--pull="
                + switch (c.imagePullPolicy()) {
                  case "Always" -> "always";
                  case "Never" -> "never";
                  default -> "missing";
                });
        a.addAll(options);
        if (gpu) {
          a.add("--device=nvidia.com/gpu=all");
        }
        for (String name : c.env().keySet()) {
          a.add("--env=" + name);
        }
        for (String[] b : binds) {
          a.add("--volume=" + b[0] + ":" + b[1] + (b[2] != null ? ":ro" : ""));
        }
        if (c.workingDir() != null) {
          a.add("--workdir=" + c.workingDir());
        }
        if (!c.command().isEmpty()) {
          a.add("--entrypoint=" + c.command().get(0));
        }
        a.add(c.image());
        if (!c.command().isEmpty()) {
          a.addAll(c.command().subList(1, c.command().size()));
        }
        a.addAll(c.args());
      }
      case PYXIS -> {
        if (c.argv().isEmpty()) {
          throw invalid(
              "MissingCommand",
              "container "
                  + c.name()
                  + ": the pyxis runtime needs a command or args (srun cannot start an image's"
                  + " entrypoint)");
        }
        if (c.argv().get(0).startsWith("-")) {
          throw invalid(
              "InvalidCommand", "container " + c.name() + ": the command must not start with '-'");
        }
        a.add(config.binary(rt));
        a.add("--overlap");
        a.add("--ntasks=1");
        a.add("--container-image=" + pyxisImage(c.image()));
        a.addAll(options);
        if (!binds.isEmpty()) {
          List<String> m = new ArrayList<>();
          for (String[] b : binds) {
            m.add(b[0] + ":" + b[1] + (b[2] != null ? ":ro" : ""));
          }
          a.add("--container-mounts=" + String.join(",", m));
        }
        if (c.workingDir() != null) {
          a.add("--container-workdir=" + c.workingDir());
        }
        a.addAll(c.argv());
      }
    }
    return a;
  }

  /** Bind mounts as {source, target, ro-or-null}. */
  private static List<String[]> binds(
      PodPlan plan, ContainerPlan c, ContainerRuntime rt, String dir)
      throws BackendException.InvalidPod {
    List<String[]> out = new ArrayList<>();
    for (ContainerPlan.Mount m : c.mounts()) {
      VolumePlan v =
          plan.volume(m.volume())
              .orElseThrow(
                  () ->
                      invalid(
                          "UnknownVolume",
                          "container "
                              + c.name()
                              + " mounts volume "
                              + m.volume()
                              + " which the pod does not define"));
      if (rt == ContainerRuntime.NONE) {
        throw invalid(
            "UnsupportedVolume",
            "container "
                + c.name()
                + " mounts volume "
                + m.volume()
                + " but runtime none cannot bind it at "
                + m.mountPath()
                + "; choose a container runtime (annotation "
                + SlurmConfig.PREFIX
                + "runtime)");
      }
      if (!m.mountPath().startsWith("/") || !safePath(m.mountPath())) {
        throw invalid(
            "InvalidMountPath",
            "container "
                + c.name()
                + ": mountPath must be absolute and free of"
                + " ':' ',' and control characters: "
                + printable(m.mountPath()));
      }
      String source;
      if (v.type() == VolumePlan.Type.HOST_PATH) {
        if (v.hostPath() == null || !v.hostPath().startsWith("/") || !safePath(v.hostPath())) {
          throw invalid(
              "InvalidMountPath",
              "volume " + v.name() + ": hostPath must be absolute and free of ':' ','");
        }
        source = v.hostPath();
      } else {
        source = dir + "/vol/" + v.name();
      }
      if (m.subPath() != null && !m.subPath().isEmpty()) {
        if (m.subPath().startsWith("/")
            || List.of(m.subPath().split("/")).contains("..")
            || !safePath(m.subPath())) {
          throw invalid(
              "InvalidMountPath",
              "container "
                  + c.name()
                  + ": subPath must be relative and stay inside"
                  + " the volume: "
                  + printable(m.subPath()));
        }
        source = source + "/" + m.subPath();
      }
      boolean ro =
          m.readOnly()
              || v.type() == VolumePlan.Type.CONFIG_MAP
              || v.type() == VolumePlan.Type.SECRET
              || v.type() == VolumePlan.Type.DOWNWARD_API
              || v.type() == VolumePlan.Type.PROJECTED;
      out.add(new String[] {source, m.mountPath(), ro ? "ro" : null});
    }
    return out;
  }

  private static boolean safePath(String p) {
    return p.chars().noneMatch(ch -> ch == ':' || ch == ',' || ch < 0x20 || ch == 0x7f);
  }

  /** {@code registry.io:5000/ns/img:tag} becomes pyxis' {@code registry.io:5000#ns/img:tag}. */
  static String pyxisImage(String image) {
    String i = image.startsWith("docker://") ? image.substring("docker://".length()) : image;
    if (i.startsWith("/")) {
      return i;
    }
    int slash = i.indexOf('/');
    if (slash > 0) {
      String first = i.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        return first + "#" + i.substring(slash + 1);
      }
    }
    return i;
  }

  /** {@code export NAME='value'} lines; sourced by bash, read by apptainer's {@code --env-file}. */
  static byte[] envFile(ContainerPlan c) {
    StringBuilder sb = new StringBuilder();
    c.env()
        .forEach(
            (k, v) ->
                sb.append("export ").append(k).append('=').append(Shell.quote(v)).append('\n'));
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String names(List<ContainerPlan> cs) {
    return Shell.quoteAll(cs.stream().map(ContainerPlan::name).toList());
  }

  static BackendException.InvalidPod invalid(String reason, String message) {
    return new BackendException.InvalidPod(reason, message);
  }

  /** A value safe to put in a message: control characters escaped, at most 80 characters. */
  static String printable(String s) {
    StringBuilder b = new StringBuilder();
    s.codePoints()
        .limit(80)
        .forEach(
            cp -> {
              if (cp < 0x20 || cp == 0x7f) {
                b.append(String.format("\\x%02x", cp));
              } else {
                b.appendCodePoint(cp);
              }
            });
    return s.codePointCount(0, s.length()) > 80 ? b + "…" : b.toString();
  }

  private static String loadWrapper() {
    try (InputStream in = SbatchRenderer.class.getResourceAsStream("wrapper.sh")) {
      return new String(
          Objects.requireNonNull(in, "wrapper.sh").readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
