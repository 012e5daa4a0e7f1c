package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.PodPlan;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Renders a pod for runtime none under a local work root and runs the script with bash, no Slurm.
 */
final class LocalJob {
  final RenderedJob job;
  final Path dir;
  Process process;

  LocalJob(Path root, PodPlan plan, Map<String, Object> extraSettings) throws Exception {
    var s = new java.util.LinkedHashMap<String, Object>();
    s.put("workRoot", root.toString());
    s.put("runtime", "none");
    s.put("restartBackoff", "1s");
    s.putAll(extraSettings);
    job = new SbatchRenderer(SlurmConfig.parse(s), "/nonexistent").prepare(plan);
    dir = Path.of(job.podDir());
    for (RenderedJob.RemoteFile f : job.files()) {
      Path p = dir.resolve(f.path());
      Files.createDirectories(p.getParent());
      Files.write(p, f.content());
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(perms(f.mode())));
    }
    Files.writeString(dir.resolve("job.sh"), job.script());
  }

  static String perms(int mode) {
    String all = "rwxrwxrwx";
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 9; i++) {
      b.append((mode & (1 << (8 - i))) != 0 ? all.charAt(i) : '-');
    }
    return b.toString();
  }

  LocalJob start() throws Exception {
    process =
        new ProcessBuilder("bash", dir.resolve("job.sh").toString())
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("slurm.out").toFile())
            .start();
    return this;
  }

  int await() throws Exception {
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("job did not finish in 60 s; output: " + read("slurm.out"));
    }
    return process.exitValue();
  }

  String read(String rel) throws Exception {
    Path p = dir.resolve(rel);
    return Files.exists(p) ? Files.readString(p, StandardCharsets.UTF_8) : null;
  }

  /** The log's lines without their timestamps. */
  String log(String container) throws Exception {
    String raw = read("c/" + container + "/log");
    if (raw == null) {
      return null;
    }
    StringBuilder b = new StringBuilder();
    for (String line : raw.split("\n", -1)) {
      if (!line.isEmpty()) {
        b.append(line.substring(line.indexOf(' ') + 1)).append('\n');
      }
    }
    return b.toString();
  }
}
