package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.Observed;
import io.hpcbridge.backend.PodPlan.RestartPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What the job wrapper wrote in one pod's directory, read by {@code status.sh} (bounded, never
 * following a symlink) and checked here value by value. A pod can write its own directory (runtime
 * {@code none}), so nothing is trusted: a file that is not a regular file, too large, or not
 * exactly what the wrapper writes sets {@link #problem()} and the pod is reported failed with
 * reason {@code InvalidJobState}; the other pods are unaffected.
 *
 * @param policy the restart policy from the manifest, or null (written by an older bridge)
 * @param problem the first file that is not what the wrapper writes, or null
 */
public record PodFiles(
    RestartPolicy policy,
    List<String> initNames,
    List<String> mainNames,
    String jobId,
    String submittedJobId,
    String node,
    String nodeIp,
    Instant started,
    Integer doneCode,
    Instant doneAt,
    Map<String, ContainerFiles> containers,
    String problem) {

  /** One container's files. */
  public record ContainerFiles(
      Instant start, Integer exitCode, Instant finished, int restarts, Observed.Termination last) {}

  /** The reader, run in the work root; append {@code hpcb_pods BUDGET UID...}. */
  static final String READER = load("status.sh");

  /**
   * The most the reader prints for one pod ({@code HPCB_POD_MAX}); a pod whose files would print
   * more is reported as {@code files (toolarge)}. What the wrapper writes for the 128 containers
   * the reader reads, with 63-character names and a 64-character UID, prints about 100 KiB.
   */
  static final int MAX_POD_OUTPUT = 128 << 10;

  /**
   * How long the reader may take over one pod's files before it is killed and the pod reported
   * unread ({@code HPCB_READ_WAIT}): opened read-only, a FIFO swapped in after the checks blocks.
   */
  static final int READ_WAIT_SECONDS = 5;

  private static final String UNREAD = "@@unread ";
  private static final String DEFERRED = "@@deferred ";

  static final PodFiles NONE = of(Map.of(), Map.of());

  private static final Pattern MANIFEST =
      Pattern.compile(
          "(init|main) [a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|policy (Always|OnFailure|Never)");
  private static final Pattern JOB_ID = Pattern.compile("\\d{1,18}");
  private static final Pattern EPOCH = Pattern.compile("\\d{1,12}");
  private static final Pattern CODE_TIME = Pattern.compile("\\d{1,3} \\d{1,12}");
  private static final Pattern COUNT = Pattern.compile("\\d{1,9}");
  private static final Pattern LAST = Pattern.compile("\\d{1,3} \\d{1,12} \\d{1,12}");
  private static final Pattern NODE =
      Pattern.compile("[A-Za-z0-9._-]{1,253}( [0-9A-Fa-f:.]{0,45})?");

  public PodFiles {
    initNames = List.copyOf(initNames);
    mainNames = List.copyOf(mainNames);
    containers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(containers));
  }

  public boolean exists() {
    return !initNames.isEmpty()
        || !mainNames.isEmpty()
        || jobId != null
        || submittedJobId != null
        || problem != null;
  }

  /** The pods whose files the reader could not read in time: they have no files this time. */
  static Set<String> unread(String out) {
    return marked(out, UNREAD);
  }

  /** The pods the reader did not read because its output budget was spent. */
  static Set<String> deferred(String out) {
    return marked(out, DEFERRED);
  }

  /**
   * The UIDs of the reader's own marker lines. A pod cannot print one: every line of a pod's
   * content starts with its UID and a file name.
   */
  private static Set<String> marked(String out, String marker) {
    Set<String> uids = new LinkedHashSet<>();
    for (String line : out.split("\n")) {
      if (line.startsWith(marker)) {
        uids.add(line.substring(marker.length()));
      }
    }
    return uids;
  }

  /** The files per pod UID from the reader's output; pods it could not read are left out. */
  public static Map<String, PodFiles> parse(String out) {
    Set<String> unread = unread(out);
    unread.addAll(deferred(out));
    Map<String, Map<String, String>> values = new LinkedHashMap<>();
    Map<String, Map<String, String>> problems = new LinkedHashMap<>();
    for (String line : out.split("\n")) {
      int slash = line.indexOf('/');
      int colon = line.indexOf(':');
      int bang = line.indexOf('!');
      int end = colon < 0 ? bang : bang < 0 ? colon : Math.min(colon, bang);
      if (slash <= 0 || end < slash) {
        continue;
      }
      String uid = line.substring(0, slash);
      if (unread.contains(uid)) {
        continue;
      }
      String file = line.substring(slash + 1, end);
      if (end == bang) {
        problems
            .computeIfAbsent(uid, k -> new LinkedHashMap<>())
            .put(file, line.substring(end + 1));
      } else {
        values
            .computeIfAbsent(uid, k -> new LinkedHashMap<>())
            .merge(file, line.substring(end + 1), (a, b) -> a + "\n" + b);
      }
    }
    Set<String> uids = new LinkedHashSet<>(values.keySet());
    uids.addAll(problems.keySet());
    Map<String, PodFiles> result = new LinkedHashMap<>();
    for (String uid : uids) {
      result.put(uid, of(values.getOrDefault(uid, Map.of()), problems.getOrDefault(uid, Map.of())));
    }
    return result;
  }

  /** One pod's files: contents by path relative to the pod directory, and the reader's refusals. */
  static PodFiles of(Map<String, String> files, Map<String, String> refused) {
    List<String> bad = new ArrayList<>();
    refused.forEach((f, why) -> bad.add(f + " (" + why + ")"));
    files.forEach(
        (f, v) -> {
          if (!valid(f, v)) {
            bad.add(f);
          }
        });
    List<String> init = new ArrayList<>();
    List<String> main = new ArrayList<>();
    RestartPolicy policy = null;
    for (String l : files.getOrDefault("manifest", "").split("\n")) {
      String[] f = l.split(" ");
      if (f.length != 2 || !MANIFEST.matcher(l).matches()) {
        continue;
      }
      switch (f[0]) {
        case "init" -> init.add(f[1]);
        case "main" -> main.add(f[1]);
        default -> policy = RestartPolicy.fromKubernetes(f[1]);
      }
    }
    String[] node = files.getOrDefault("node", "").trim().split(" ");
    String[] done = files.getOrDefault("done", "").trim().split(" ");
    Map<String, ContainerFiles> cs = new LinkedHashMap<>();
    Set<String> names = new LinkedHashSet<>(init);
    names.addAll(main);
    for (String n : names) {
      String[] exit = files.getOrDefault("c/" + n + "/exit", "").trim().split(" ");
      String[] last = files.getOrDefault("c/" + n + "/last", "").trim().split(" ");
      Integer restarts = integer(files.getOrDefault("c/" + n + "/restarts", ""));
      Integer lastCode = last.length == 3 ? integer(last[0]) : null;
      cs.put(
          n,
          new ContainerFiles(
              SlurmOutput.time(files.getOrDefault("c/" + n + "/start", "")),
              integer(exit[0]),
              exit.length > 1 ? SlurmOutput.time(exit[1]) : null,
              restarts == null ? 0 : restarts,
              lastCode == null
                  ? null
                  : new Observed.Termination(
                      lastCode,
                      lastCode == 0 ? "Completed" : "Error",
                      null,
                      SlurmOutput.time(last[1]),
                      SlurmOutput.time(last[2]))));
    }
    String jobId = files.getOrDefault("jobid", "").trim();
    String submitted = files.getOrDefault("submitted", "").trim();
    return new PodFiles(
        policy,
        init,
        main,
        jobId.isEmpty() ? null : jobId,
        submitted.isEmpty() ? null : submitted,
        !node[0].isEmpty() ? node[0] : null,
        node.length > 1 ? node[1] : null,
        SlurmOutput.time(files.getOrDefault("started", "")),
        integer(done[0]),
        done.length > 1 ? SlurmOutput.time(done[1]) : null,
        cs,
        bad.isEmpty() ? null : String.join(", ", bad));
  }

  /** Whether {@code content} is exactly what the wrapper (or the bridge) writes to {@code file}. */
  static boolean valid(String file, String content) {
    String v = content.trim();
    if (file.equals("manifest")) {
      return content.lines().allMatch(l -> MANIFEST.matcher(l).matches());
    }
    Pattern p =
        switch (file) {
          case "jobid", "submitted" -> JOB_ID;
          case "started" -> EPOCH;
          case "done" -> CODE_TIME;
          case "node" -> NODE;
          default ->
              file.endsWith("/start")
                  ? EPOCH
                  : file.endsWith("/exit")
                      ? CODE_TIME
                      : file.endsWith("/restarts") ? COUNT : file.endsWith("/last") ? LAST : null;
        };
    if (p == null) {
      return false;
    }
    // An empty job id: the wrapper outside Slurm (tests), or the bridge writing it right now.
    boolean id = file.equals("jobid") || file.equals("submitted");
    return id && v.isEmpty() || p.matcher(v).matches();
  }

  private static Integer integer(String s) {
    String t = s.trim();
    return t.matches("\\d{1,9}") ? Integer.parseInt(t) : null;
  }

  static String load(String name) {
    try (InputStream in = PodFiles.class.getResourceAsStream(name)) {
      return new String(Objects.requireNonNull(in, name).readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
