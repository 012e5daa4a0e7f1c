package io.hpcbridge.backend.local.common;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

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

  /**
   * Runs a short helper command and returns its exit code with its output (for messages). After
   * {@code timeoutMillis} it is killed with what it started, whatever it does with its output.
   */
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
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Map<String, String> env = pb.environment();
    env.keySet().removeIf(k -> !k.equals("PATH"));
    env.put("LC_ALL", "C.UTF-8");
    Process p;
    try {
      p = pb.start();
    } catch (IOException e) {
      return new Result(-1, e.getMessage());
    }
    // Read on another thread: a child that keeps the output open must not outlast the timeout.
    Output out = new Output(p.getInputStream());
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    try {
      if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
        destroyTree(p);
        return new Result(
            -1,
            String.join(" ", cmd) + ": timed out after " + timeoutMillis + " ms: " + out.text());
      }
      // Output a daemon it left behind still holds is not waited for beyond the deadline.
      out.await(Math.max(0, deadline - System.nanoTime()));
      return new Result(p.exitValue(), out.text());
    } catch (InterruptedException e) {
      destroyTree(p);
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }

  /** SIGKILL to a process and everything it started that is still its descendant. */
  private static void destroyTree(Process p) {
    List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
    p.destroyForcibly();
    tree.forEach(ProcessHandle::destroyForcibly);
  }

  /** A helper's output, read by a daemon thread; the first {@value #MAX_OUTPUT} bytes are kept. */
  private static final class Output {
    private static final int MAX_OUTPUT = 64 * 1024;
    private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
    private final Thread reader;

    Output(InputStream in) {
      reader =
          new Thread(
              () -> {
                byte[] buf = new byte[8192];
                try (in) {
                  int n;
                  while ((n = in.read(buf)) >= 0) {
                    synchronized (kept) {
                      kept.write(buf, 0, Math.max(0, Math.min(n, MAX_OUTPUT - kept.size())));
                    }
                  }
                } catch (IOException e) {
                  // closed: what was read is kept
                }
              },
              "helper-output");
      reader.setDaemon(true);
      reader.start();
    }

    void await(long nanos) throws InterruptedException {
      reader.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos)));
    }

    String text() {
      synchronized (kept) {
        return kept.toString(StandardCharsets.UTF_8).strip();
      }
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
