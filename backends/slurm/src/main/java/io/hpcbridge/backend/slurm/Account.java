package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The Unix account every pod runs as: the SSH user on the login node (or the bridge's own user with
 * the local transport). Learnt once with {@code id} and {@code $HOME}.
 *
 * @param uid {@code id -u}
 * @param gid {@code id -g}
 * @param groups {@code id -G}: every group the account's processes have
 * @param name {@code id -un}, for {@code sacct --user}
 * @param home the account's home directory (a {@code ~/} work root is under it)
 */
record Account(long uid, long gid, List<Long> groups, String name, String home) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\\$?");

  Account {
    groups = List.copyOf(groups);
  }

  /** One command that prints what {@link #parse} reads. */
  static final String COMMAND = "id -u; id -g; id -G; id -un; printf '%s\\n' \"$HOME\"";

  static Account parse(String out, String where) throws BackendException.Transient {
    String[] l = out.split("\n");
    try {
      if (l.length < 5) {
        throw new IllegalArgumentException("too few lines");
      }
      List<Long> groups = new ArrayList<>();
      for (String g : l[2].trim().split("\\s+")) {
        groups.add(Long.parseLong(g));
      }
      String name = l[3].trim();
      String home = l[4].trim();
      if (!NAME.matcher(name).matches() || !home.startsWith("/")) {
        throw new IllegalArgumentException("unexpected user name or home");
      }
      return new Account(
          Long.parseLong(l[0].trim()), Long.parseLong(l[1].trim()), groups, name, home);
    } catch (IllegalArgumentException e) {
      throw new BackendException.Transient(
          "cannot learn the account on " + where + " (id, $HOME): " + e.getMessage());
    }
  }

  boolean root() {
    return uid == 0;
  }
}
