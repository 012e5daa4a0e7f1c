package io.hpcbridge.backend.local.common;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/** Facts about processes from {@code /proc}. */
public final class ProcFs {

  private ProcFs() {}

  /** Fields of {@code /proc/PID/stat} after the command name: index 0 is field 3 (state). */
  private static String[] stat(long pid) {
    try {
      String s =
          Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
      int close = s.lastIndexOf(')');
      if (close < 0) {
        return null;
      }
      return s.substring(close + 2).trim().split(" ");
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** The process's start time in clock ticks since boot (field 22), or -1 when it is gone. */
  public static long startTicks(long pid) {
    String[] f = stat(pid);
    return f == null || f.length < 20 ? -1 : Long.parseLong(f[19]);
  }

  /** The process group id (field 5), or -1 when the process is gone. */
  public static long pgid(long pid) {
    String[] f = stat(pid);
    return f == null || f.length < 3 ? -1 : Long.parseLong(f[2]);
  }

  /**
   * True when {@code pid} runs (not a zombie) and is the same process as recorded: its start time
   * equals {@code startTicks}, so a recycled pid never counts.
   */
  public static boolean alive(long pid, long startTicks) {
    if (pid <= 0) {
      return false;
    }
    String[] f = stat(pid);
    if (f == null || f.length < 20) {
      return false;
    }
    if (f[0].equals("Z") || f[0].equals("X")) {
      return false;
    }
    return startTicks <= 0 || Long.parseLong(f[19]) == startTicks;
  }

  /** The mount namespace link of a process ({@code mnt:[4026531841]}), or null. */
  public static String mountNamespace(String pid) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", pid, "ns", "mnt")).toString();
    } catch (IOException e) {
      return null;
    }
  }

  /** The executable of a process ({@code /proc/PID/exe}), or null when it is gone. */
  public static String exe(long pid) {
    try {
      return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "exe")).toString();
    } catch (IOException e) {
      return null;
    }
  }

  /** The effective uid of this process, or -1 when unknown. */
  public static long effectiveUid() {
    String[] f = status("Uid:");
    return f.length > 1 ? Long.parseLong(f[1]) : -1;
  }

  /** The effective gid of this process, or -1 when unknown. */
  public static long effectiveGid() {
    String[] f = status("Gid:");
    return f.length > 1 ? Long.parseLong(f[1]) : -1;
  }

  /** The supplementary groups of this process. */
  public static Set<Long> groups() {
    Set<Long> out = new LinkedHashSet<>();
    for (String g : status("Groups:")) {
      out.add(Long.parseLong(g));
    }
    return out;
  }

  /** The fields of one line of {@code /proc/self/status}, without its name. */
  private static String[] status(String name) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(name)) {
          String v = line.substring(name.length()).trim();
          return v.isEmpty() ? new String[0] : v.split("\\s+");
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return new String[0];
  }
}
