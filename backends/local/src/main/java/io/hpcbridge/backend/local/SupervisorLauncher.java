package io.hpcbridge.backend.local;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.supervisor.Supervisor;
import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Starts a pod's {@link Supervisor}: {@code setsid --fork java -cp ... Supervisor <pod dir>}, a
 * small JVM in its own session that outlives the bridge. Its output goes to {@code supervisor.log}.
 */
final class SupervisorLauncher {

  private final String setsid;

  SupervisorLauncher(String setsid) {
    this.setsid = setsid;
  }

  void launch(PodLayout l) throws IOException, BackendException {
    String classpath =
        List.of(System.getProperty("java.class.path").split(File.pathSeparator)).stream()
            .filter(s -> !s.isEmpty())
            .map(s -> Path.of(s).toAbsolutePath().toString())
            .collect(Collectors.joining(File.pathSeparator));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        List.of(
            setsid,
            "--fork",
            java,
            "-Xmx48m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            classpath,
            Supervisor.class.getName(),
            l.dir().toString());
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(l.dir().toFile());
    Map<String, String> env = pb.environment();
    env.remove("JAVA_TOOL_OPTIONS");
    env.remove("JDK_JAVA_OPTIONS");
    env.remove("_JAVA_OPTIONS");
    env.remove("CLASSPATH");
    // Arguments, env and paths of pods are Unicode: the supervisor must not run in an ASCII locale.
    env.put("LC_ALL", "C.UTF-8");
    env.put("LANG", "C.UTF-8");
    pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.redirectErrorStream(true);
    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(l.supervisorLog().toFile()));
    Process p = pb.start();
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new BackendException.Transient("local: starting the supervisor timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BackendException.Transient("local: interrupted while starting the supervisor", e);
    }
    if (p.exitValue() != 0) {
      throw new BackendException.Transient(
          "local: cannot start the supervisor (exit "
              + p.exitValue()
              + "), see "
              + l.supervisorLog());
    }
  }
}
