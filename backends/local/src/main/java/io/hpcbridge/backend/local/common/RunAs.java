package io.hpcbridge.backend.local.common;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Who one container runs as, decided at submit from its securityContext and the backend's defaults,
 * and applied by the supervisor with util-linux {@code setpriv} in the container's argv chain.
 *
 * @param uid the user id
 * @param gid the primary group id
 * @param groups the supplementary groups ({@code supplementalGroups}, then {@code fsGroup})
 * @param switchUser whether to switch to {@code uid}/{@code gid}/{@code groups} (only a root bridge
 *     can; otherwise the container runs as the bridge's user, which is then {@code uid})
 * @param noNewPrivileges whether the process gets {@code no_new_privs} (setuid programs and file
 *     capabilities give nothing)
 * @param capabilities the capabilities a uid 0 container keeps (its bounding set), lower case
 *     without {@code cap_}; a container of any other uid has none
 * @param nonRoot whether {@code runAsNonRoot} was asked for (checked again before each start)
 */
public record RunAs(
    long uid,
    long gid,
    List<Long> groups,
    boolean switchUser,
    boolean noNewPrivileges,
    List<String> capabilities,
    boolean nonRoot) {

  public RunAs {
    groups = List.copyOf(groups == null ? List.of() : groups);
    capabilities = List.copyOf(capabilities == null ? List.of() : capabilities);
  }

  /**
   * setpriv's option for the supplementary groups: {@code --groups=1,2} or {@code --clear-groups}.
   */
  public static String groupsOption(List<Long> groups) {
    return groups.isEmpty()
        ? "--clear-groups"
        : "--groups=" + groups.stream().map(String::valueOf).collect(Collectors.joining(","));
  }

  /**
   * The {@code setpriv ... --} argv prefix that makes a process this identity before it executes
   * the next word, or an empty list when nothing is to change. Only numbers and fixed capability
   * names appear in it, never a pod's text.
   */
  public List<String> setpriv(String setpriv) {
    List<String> a = new ArrayList<>();
    if (switchUser) {
      a.add("--reuid=" + uid);
      a.add("--regid=" + gid);
      a.add(groupsOption(groups));
      a.add("--inh-caps=-all");
      a.add(
          "--bounding-set=-all"
              + (uid == 0
                  ? capabilities.stream().map(c -> ",+" + c).collect(Collectors.joining())
                  : ""));
    }
    if (noNewPrivileges) {
      a.add("--no-new-privs");
    }
    if (a.isEmpty()) {
      return List.of();
    }
    a.add(0, setpriv);
    a.add("--");
    return a;
  }
}
