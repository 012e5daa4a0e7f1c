package io.hpcbridge.backend;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One container of a {@link PodPlan}.
 *
 * @param name the container name
 * @param image the image reference (recorded by backends that cannot pull)
 * @param imagePullPolicy {@code Always}, {@code IfNotPresent} or {@code Never}
 * @param command the entrypoint override; empty means the image's entrypoint
 * @param args the arguments; empty means the image's default command
 * @param workingDir the working directory, or null
 * @param env resolved environment, in declaration order, {@code $(VAR)} already expanded
 * @param secretEnv names of {@code env} entries whose value came from a Secret
 * @param resources requests and limits
 * @param mounts volume mounts
 * @param ports declared ports
 * @param security the container's securityContext, pod defaults applied
 */
public record ContainerPlan(
    String name,
    String image,
    String imagePullPolicy,
    List<String> command,
    List<String> args,
    String workingDir,
    Map<String, String> env,
    Set<String> secretEnv,
    Resources resources,
    List<Mount> mounts,
    List<Port> ports,
    SecurityPlan security) {

  static final String REDACTED = "<redacted>";

  /** A container without a securityContext. */
  public ContainerPlan(
      String name,
      String image,
      String imagePullPolicy,
      List<String> command,
      List<String> args,
      String workingDir,
      Map<String, String> env,
      Set<String> secretEnv,
      Resources resources,
      List<Mount> mounts,
      List<Port> ports) {
    this(
        name,
        image,
        imagePullPolicy,
        command,
        args,
        workingDir,
        env,
        secretEnv,
        resources,
        mounts,
        ports,
        SecurityPlan.NONE);
  }

  public ContainerPlan {
    Objects.requireNonNull(name, "name");
    image = image == null ? "" : image;
    imagePullPolicy = imagePullPolicy == null ? "IfNotPresent" : imagePullPolicy;
    command = List.copyOf(command == null ? List.of() : command);
    args = List.copyOf(args == null ? List.of() : args);
    env = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(env == null ? Map.of() : env));
    secretEnv = Set.copyOf(secretEnv == null ? Set.of() : secretEnv);
    resources = resources == null ? Resources.NONE : resources;
    mounts = List.copyOf(mounts == null ? List.of() : mounts);
    ports = List.copyOf(ports == null ? List.of() : ports);
    security = security == null ? SecurityPlan.NONE : security;
  }

  /** A copy with another securityContext. */
  public ContainerPlan withSecurity(SecurityPlan s) {
    return new ContainerPlan(
        name,
        image,
        imagePullPolicy,
        command,
        args,
        workingDir,
        env,
        secretEnv,
        resources,
        mounts,
        ports,
        s);
  }

  /** Command followed by args: what to execute when the image is not used. */
  public List<String> argv() {
    var out = new java.util.ArrayList<String>(command);
    out.addAll(args);
    return out;
  }

  /**
   * A copy with secret env values replaced by {@code <redacted>}, also where they were expanded
   * into the command or args ({@code --password=$(PASSWORD)}).
   */
  ContainerPlan redacted() {
    Map<String, String> e = new LinkedHashMap<>(env);
    List<String> secrets = new java.util.ArrayList<>();
    for (String k : secretEnv) {
      String v = e.get(k);
      if (v != null) {
        e.put(k, REDACTED);
        if (!v.isEmpty()) {
          secrets.add(v);
        }
      }
    }
    // Longest first, so a secret that contains another is hidden as a whole.
    secrets.sort(java.util.Comparator.comparingInt(String::length).reversed());
    return new ContainerPlan(
        name,
        image,
        imagePullPolicy,
        scrub(command, secrets),
        scrub(args, secrets),
        workingDir,
        e,
        secretEnv,
        resources,
        mounts.stream()
            .map(
                m ->
                    m.subPath() == null
                        ? m
                        : new Mount(
                            m.volume(),
                            m.mountPath(),
                            scrub(List.of(m.subPath()), secrets).get(0),
                            m.readOnly()))
            .toList(),
        ports,
        security);
  }

  private static List<String> scrub(List<String> words, List<String> secrets) {
    if (secrets.isEmpty()) {
      return words;
    }
    return words.stream()
        .map(
            w -> {
              for (String s : secrets) {
                w = w.replace(s, REDACTED);
              }
              return w;
            })
        .toList();
  }

  /** A volume mounted into the container. {@code subPath} may be null. */
  public record Mount(String volume, String mountPath, String subPath, boolean readOnly) {
    public Mount {
      Objects.requireNonNull(volume, "volume");
      Objects.requireNonNull(mountPath, "mountPath");
    }
  }

  /** A declared container port; {@code hostPort} 0 means none. */
  public record Port(String name, int containerPort, int hostPort, String protocol) {}
}
