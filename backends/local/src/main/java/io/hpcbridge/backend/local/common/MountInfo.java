package io.hpcbridge.backend.local.common;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Lines of {@code /proc/PID/mountinfo}, parsed. */
public final class MountInfo {

  private MountInfo() {}

  /**
   * One mount.
   *
   * @param point where it is mounted
   * @param root the directory of its file system that is mounted there
   * @param type the file system type ({@code cgroup}, {@code cgroup2}, {@code ext4}, ...)
   * @param mountOptions per-mount options ({@code ro}, {@code nosuid}, ...)
   * @param superOptions the file system's options (for cgroup v1: its controllers)
   */
  public record Entry(
      Path point, String root, String type, List<String> mountOptions, List<String> superOptions) {}

  public static List<Entry> parse(String mountinfo) {
    List<Entry> out = new ArrayList<>();
    for (String line : mountinfo.split("\n")) {
      String[] f = line.split(" ");
      int dash = List.of(f).indexOf("-");
      if (dash < 6 || f.length < dash + 4) {
        continue;
      }
      out.add(
          new Entry(
              Path.of(unescape(f[4])),
              unescape(f[3]),
              f[dash + 1],
              List.of(f[5].split(",")),
              List.of(f[dash + 3].split(","))));
    }
    return out;
  }

  /** mountinfo escapes spaces, tabs, newlines and backslashes as octal. */
  static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
