package io.hpcbridge.backend.slurm;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses what Slurm's commands print. Commands are always run with {@code SLURM_TIME_FORMAT=%s} so
 * times are epoch seconds, whatever the cluster's time zone.
 */
public final class SlurmOutput {
  private SlurmOutput() {}

  /**
   * The fixed {@code squeue --format}: id, name, state, nodes, submit, start, end, reason, user,
   * comment (last: the rest of the line, whatever it holds).
   */
  public static final String SQUEUE_FORMAT = "%i|%j|%T|%N|%V|%S|%e|%r|%u|%k";

  /** The fixed {@code sacct --format} (with {@code --parsable2}); the comment last. */
  public static final String SACCT_FORMAT =
      "JobID,JobName,State,NodeList,Submit,Start,End,ExitCode,Reason,User,Comment";

  /** The fixed {@code sinfo --format} (with {@code --Node}). */
  public static final String SINFO_FORMAT = "%N|%c|%m|%G";

  /**
   * One job as Slurm reports it.
   *
   * @param id job id
   * @param name job name
   * @param state base state, e.g. {@code PENDING}, {@code TIMEOUT} (qualifiers like "by 1000"
   *     dropped)
   * @param nodes node list, or empty
   * @param submit submit time, or null
   * @param start start time, or null (pending jobs' expected start is dropped)
   * @param end end time, or null
   * @param reason Slurm's reason, or null when {@code None}
   * @param exitCode the batch script's exit code when known, else null
   * @param signal the signal that ended it when known, else null
   * @param user the owner's user name, or null when not asked for
   * @param comment the job's {@code --comment}, or null when it has none or it was not asked for
   */
  public record Job(
      String id,
      String name,
      String state,
      String nodes,
      Instant submit,
      Instant start,
      Instant end,
      String reason,
      Integer exitCode,
      Integer signal,
      String user,
      String comment) {}

  /** Rows of {@code squeue -h -o SQUEUE_FORMAT}; lines of another shape are skipped. */
  public static List<Job> squeue(String out) {
    List<Job> jobs = new ArrayList<>();
    for (String line : out.split("\n")) {
      String[] f = line.split("\\|", 10);
      if (f.length < 8 || !f[0].trim().matches(ID)) {
        continue;
      }
      String state = baseState(f[2]);
      jobs.add(
          new Job(
              f[0].trim(),
              f[1].trim(),
              state,
              f[3].trim(),
              time(f[4]),
              state.equals("PENDING") ? null : time(f[5]),
              time(f[6]),
              reason(f[7]),
              null,
              null,
              f.length > 8 ? f[8].trim() : null,
              f.length > 9 ? comment(f[9]) : null));
    }
    return jobs;
  }

  /** Rows of {@code sacct -n -X -P -o SACCT_FORMAT}. */
  public static List<Job> sacct(String out) {
    List<Job> jobs = new ArrayList<>();
    for (String line : out.split("\n")) {
      String[] f = line.split("\\|", 11);
      if (f.length < 9 || !f[0].trim().matches(ID)) {
        continue;
      }
      int[] ec = exitCode(f[7]);
      String state = baseState(f[2]);
      jobs.add(
          new Job(
              f[0].trim(),
              f[1].trim(),
              state,
              none(f[3]),
              time(f[4]),
              state.equals("PENDING") ? null : time(f[5]),
              time(f[6]),
              reason(f[8]),
              ec == null ? null : ec[0],
              ec == null ? null : ec[1],
              f.length > 9 ? f[9].trim() : null,
              f.length > 10 ? comment(f[10]) : null));
    }
    return jobs;
  }

  private static final Pattern KV = Pattern.compile("(\\S+?)=(\\S*)");

  /** Records of {@code scontrol -o show job} (one job per line). */
  public static List<Job> scontrol(String out) {
    List<Job> jobs = new ArrayList<>();
    for (String line : out.split("\n")) {
      if (!line.startsWith("JobId=")) {
        continue;
      }
      Map<String, String> kv = new LinkedHashMap<>();
      Matcher m = KV.matcher(line);
      while (m.find()) {
        kv.putIfAbsent(m.group(1), m.group(2));
      }
      if (!kv.getOrDefault("JobId", "").matches(ID)) {
        continue;
      }
      int[] ec = exitCode(kv.getOrDefault("ExitCode", ""));
      String state = baseState(kv.getOrDefault("JobState", "UNKNOWN"));
      jobs.add(
          new Job(
              kv.get("JobId"),
              kv.getOrDefault("JobName", ""),
              state,
              none(kv.getOrDefault("NodeList", "")),
              time(kv.getOrDefault("SubmitTime", "")),
              state.equals("PENDING") ? null : time(kv.getOrDefault("StartTime", "")),
              time(kv.getOrDefault("EndTime", "")),
              reason(kv.getOrDefault("Reason", "None")),
              ec == null ? null : ec[0],
              ec == null ? null : ec[1],
              kv.getOrDefault("UserId", "").replaceFirst("\\(.*$", ""),
              comment(kv.getOrDefault("Comment", ""))));
    }
    return jobs;
  }

  /** Totals of {@code sinfo -h -N -o SINFO_FORMAT}, each node counted once. */
  public static long[] sinfoTotals(String out) {
    long cpus = 0, memMb = 0, gpus = 0;
    Set<String> seen = new LinkedHashSet<>();
    for (String line : out.split("\n")) {
      String[] f = line.split("\\|", 4);
      if (f.length < 4 || !seen.add(f[0].trim())) {
        continue;
      }
      cpus += number(f[1]);
      memMb += number(f[2]);
      gpus += gpus(f[3]);
    }
    return new long[] {cpus, memMb, gpus, seen.size()};
  }

  private static final Pattern GPU = Pattern.compile("gpu(?::[^:,()]+)?:(\\d+)");

  /** The GPU count of a GRES string like {@code gpu:a100:4(S:0-1),mps:100}. */
  static long gpus(String gres) {
    long n = 0;
    for (String part : gres.trim().split(",(?![^()]*\\))")) {
      Matcher m = GPU.matcher(part.trim());
      if (m.lookingAt()) {
        n += Long.parseLong(m.group(1));
      }
    }
    return n;
  }

  private static long number(String s) {
    String t = s.trim().replaceAll("[^0-9].*$", "");
    return t.isEmpty() ? 0 : Long.parseLong(t);
  }

  static String baseState(String s) {
    String t = s.trim();
    int sp = t.indexOf(' ');
    t = sp > 0 ? t.substring(0, sp) : t;
    return t.replace("+", "");
  }

  private static final String ID = "\\d{1,18}(_\\d{1,9})?";

  /** A job's comment as Slurm prints it; none for {@code (null)} or empty. */
  private static String comment(String s) {
    String t = s.strip();
    return t.isEmpty() || t.equals("(null)") ? null : t;
  }

  private static String reason(String s) {
    String t = s.trim();
    return t.isEmpty() || t.equals("None") || t.equals("(null)") ? null : t;
  }

  private static String none(String s) {
    String t = s.trim();
    return t.equals("(null)") || t.equals("None assigned") ? "" : t;
  }

  static Instant time(String s) {
    String t = s.trim();
    if (!t.matches("\\d{9,12}")) {
      return null;
    }
    return Instant.ofEpochSecond(Long.parseLong(t));
  }

  /** {@code 3:0} → {3, 0}. */
  static int[] exitCode(String s) {
    Matcher m = Pattern.compile("(\\d+):(\\d+)").matcher(s.trim());
    return m.matches()
        ? new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))}
        : null;
  }
}
