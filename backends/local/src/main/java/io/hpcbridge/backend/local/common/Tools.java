package io.hpcbridge.backend.local.common;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Finds the host tools the backend runs (util-linux, coreutils) as absolute paths. */
public final class Tools {

  private Tools() {}

  /**
   * The absolute path of {@code name}: {@code override} when set (a path or a name), else the first
   * executable found in {@code PATH} and the usual system directories; null when there is none.
   */
  public static String find(String name, String override) {
    String want = override == null || override.isBlank() ? name : override;
    if (want.contains("/")) {
      Path p = Path.of(want);
      return Files.isExecutable(p) && !Files.isDirectory(p) ? p.toAbsolutePath().toString() : null;
    }
    Set<String> dirs = new LinkedHashSet<>();
    String path = System.getenv("PATH");
    if (path != null) {
      for (String d : path.split(":")) {
        if (!d.isEmpty()) {
          dirs.add(d);
        }
      }
    }
    dirs.addAll(
        List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
    for (String d : dirs) {
      Path p = Path.of(d, want);
      if (Files.isExecutable(p) && !Files.isDirectory(p)) {
        return p.toString();
      }
    }
    return null;
  }

  /** Runs a short helper command and returns its exit code with its output (for messages). */
  public static Result run(List<String> argv, long timeoutMillis) {
    return run(argv, timeoutMillis, null);
  }

  /** Like {@link #run(List, long)}, in the working directory {@code cwd} (null: this one's). */
  public static Result run(List<String> argv, long timeoutMillis, Path cwd) {
    List<String> cmd = new ArrayList<>(argv);
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    if (cwd != null) {
      pb.directory(cwd.toFile());
    }
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> !k.equals("PATH"));
    env.put("LC_ALL", "C.UTF-8");
    try {
      Process p = pb.start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return new Result(-1, String.join(" ", cmd) + ": timed out");
      }
      return new Result(
          p.exitValue(), new String(out, java.nio.charset.StandardCharsets.UTF_8).strip());
    } catch (java.io.IOException e) {
      return new Result(-1, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }

  public record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** Sends {@code signal} (e.g. {@code TERM}) to the process group {@code pgid}. */
  public static boolean killGroup(String killTool, long pgid, String signal) {
    if (pgid <= 1) {
      return false;
    }
    return run(List.of(killTool, "-s", signal, "--", "-" + pgid), 5000).ok();
  }
}
