package io.hpcbridge.backend.local.common;

import java.util.List;
import java.util.Set;

/**
 * Which of a pod's environment variables must not reach the helpers that run as root before a
 * container's user is set ({@code flock} at the cgroup gate, {@code setsid}, {@code unshare},
 * {@code setpriv}): those that change what a dynamically linked C program does before or besides
 * its own code. That is what the C library ignores for setuid programs (the dynamic loader's {@code
 * LD_*}, {@code GLIBC_TUNABLES}, {@code MALLOC_*}, {@code GCONV_PATH}, {@code LOCPATH}, {@code
 * NLSPATH}, ...), the locale and time zone (a locale or zone name may be a path to a file the pod
 * wrote), and util-linux's and getopt's knobs. {@code LD_PRELOAD=/tmp/x.so} would otherwise run the
 * pod's code as root. These variables are set again after the switch to the pod's user, by {@code
 * env}.
 */
public final class RootHelperEnv {

  private RootHelperEnv() {}

  private static final Set<String> NAMES =
      Set.of(
          "GLIBC_TUNABLES",
          "GCONV_PATH",
          "GETCONF_DIR",
          "HOSTALIASES",
          "LOCALDOMAIN",
          "LOCPATH",
          "NIS_PATH",
          "NLSPATH",
          "RESOLV_HOST_CONF",
          "RES_OPTIONS",
          "TMPDIR",
          "TZ",
          "TZDIR",
          "LANG",
          "LANGUAGE",
          "POSIXLY_CORRECT",
          "LIBC_FATAL_STDERR_",
          "MSGVERB",
          "SEV_LEVEL",
          "DATEMSK");

  private static final List<String> PREFIXES =
      List.of("LD_", "MALLOC_", "LC_", "GLIBC_", "LIBMOUNT_", "LIBBLKID_", "LIBSMARTCOLS_");

  /** Whether {@code name} must be kept from the root helpers. */
  public static boolean unsafe(String name) {
    if (NAMES.contains(name) || name.endsWith("_DEBUG")) {
      return true;
    }
    for (String p : PREFIXES) {
      if (name.startsWith(p)) {
        return true;
      }
    }
    return false;
  }
}
