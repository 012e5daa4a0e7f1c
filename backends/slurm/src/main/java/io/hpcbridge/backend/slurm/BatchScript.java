package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one remote command that submits several pods: a bash script, fed on stdin to {@link
 * JobSubmitter#RUN_STDIN}, that for each pod removes whatever its directory held (so nothing is
 * written through a link planted there), makes it afresh (0700), writes its files with their modes
 * (created with the final mode, so a secret is never readable by others, even for a moment) and its
 * {@code job.sh}, runs {@code sbatch --parsable} on it and keeps the id in {@code submitted}, as a
 * single submit does. A pod that fails leaves no directory behind.
 *
 * <p>The script prints one result line per pod, {@code NONCE INDEX KIND CODE VALUE}: {@code ok 0
 * JOBID}, or {@code err}/{@code prep}/{@code noid}/{@code late} with sbatch's exit code and its
 * words base64-encoded (cut at {@link #MAX_MESSAGE} bytes). Nothing a pod controls is printed
 * unencoded, and the nonce is fresh per script, so no pod can forge a line; {@link #parse} refuses
 * anything else. File contents are written by bash's own {@code printf} (octal escapes, no process
 * per file), and the directories of all pods are made by two {@code mkdir}: a pod costs one
 * process, {@code sbatch}, like a plain loop of sbatch.
 */
final class BatchScript {
  /** What is kept of a failing pod's messages (sbatch's stderr and stdout). */
  static final int MAX_MESSAGE = 8192;

  /** The longest result line {@link #parse} accepts. */
  static final int MAX_LINE = 64 + (MAX_MESSAGE + 2) / 3 * 4 + 64;

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Pattern LINE =
      Pattern.compile(
          "([0-9a-f]{32}) (\\d{1,5}) (?:(ok) 0 (\\d{1,18})|(err|prep|noid|late) (\\d{1,3})"
              + " ([A-Za-z0-9+/]*={0,2}))");

  /** One pod's result, as the script reported it. */
  record Outcome(String kind, int code, String value) {
    boolean ok() {
      return kind.equals("ok");
    }
  }

  private static final String HEAD =
      """
      set -u
      hpcb_umask=$(umask)
      hpcb_t=$(mktemp -d) || exit 1
      trap 'rm -rf -- "$hpcb_t"' EXIT
      # One result line per pod; a message is cut and base64-encoded, so it cannot forge a line.
      hpcb_say() {
        printf '%s %s %s %s %s\\n' "$hpcb_n" "$1" "$2" "$3" \\
          "$(printf '%s' "$4" | head -c MAXMSG | base64 -w 0)"
      }
      # Whatever is at these paths goes (rm only when there is something).
      hpcb_clear() {
        local d
        for d; do if [[ -e $d || -L $d ]]; then rm -rf -- "$d"; fi; done
      }
      # INDEX DIR: hpcb_files (defined just before) writes the pod's files; then sbatch.
      hpcb_pod() {
        local i=$1 d=$2 out rc id
        # Late in the command's time: not started, so the caller knows it was not submitted.
        if (( SECONDS >= hpcb_deadline )); then
          rm -rf -- "$d"
          hpcb_say "$i" late 0 ''
          return
        fi
        hpcb_files 2>"$hpcb_t/err"
        rc=$?
        umask "$hpcb_umask"
        if (( rc != 0 )); then
          rm -rf -- "$d" 2>/dev/null
          hpcb_say "$i" prep "$rc" "$(<"$hpcb_t/err")"
          return
        fi
        out=$(sbatch --parsable <"$d/job.sh" 2>"$hpcb_t/err")
        rc=$?
        if (( rc != 0 )); then
          # Nothing was submitted: the pod's files (env, secrets) are not left behind.
          rm -rf -- "$d"
          hpcb_say "$i" err "$rc" "$(<"$hpcb_t/err")"$'\\n'"$out"
          return
        fi
        id=${out%%;*}
        case $id in
          ''|*[!0-9]*|???????????????????*) hpcb_say "$i" noid 0 "$out" ;;
          *)
            # The id is in the pod's directory before it is reported (resume finds it): one
            # write of a few bytes to the fresh directory, no rename (a process per pod).
            printf '%s\\n' "$id" >"$d/submitted"
            printf '%s %s ok 0 %s\\n' "$hpcb_n" "$i" "$id" ;;
        esac
      }
      """
          .replace("MAXMSG", String.valueOf(MAX_MESSAGE));

  private BatchScript() {}

  /** A fresh nonce for one script. */
  static String nonce() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  /**
   * The script for these jobs, in order (result index = position).
   *
   * @param workRoot made first if missing
   * @param deadlineSeconds no pod is started once the script has run this long
   */
  static String build(List<RenderedJob> jobs, String workRoot, String nonce, long deadlineSeconds) {
    StringBuilder b = new StringBuilder(4096);
    // One group, parsed whole before anything runs: a script cut short runs nothing, and no
    // command can read the rest of the script from stdin.
    b.append("{\nhpcb_n=").append(nonce).append('\n');
    b.append("hpcb_deadline=").append(Math.max(1, deadlineSeconds)).append('\n');
    b.append(HEAD);
    b.append("mkdir -p -- ").append(Shell.quote(workRoot)).append(" 2>/dev/null\n");
    // Every pod's directory and subdirectories in two mkdir for the batch, not two per pod. A
    // pod whose directory could not be made fails in its hpcb_files.
    List<String> podDirs = jobs.stream().map(RenderedJob::podDir).toList();
    b.append("hpcb_clear ").append(Shell.quoteAll(podDirs)).append('\n');
    b.append("mkdir -m 0700 -- ").append(Shell.quoteAll(podDirs));
    b.append(" 2>\"$hpcb_t/mkdir\"\n");
    List<String> subdirs = new ArrayList<>();
    for (RenderedJob j : jobs) {
      subdirs.addAll(subdirs(j));
    }
    // Subdirectories get the session's default mode, as SFTP gave them; a few in each mkdir so
    // its arguments stay far below the system's limit.
    for (int from = 0; from < subdirs.size(); ) {
      int to = from;
      int len = 0;
      while (to < subdirs.size() && (to == from || len < MAX_ARGS)) {
        len += subdirs.get(to++).length() + 3;
      }
      b.append("mkdir -- ").append(Shell.quoteAll(subdirs.subList(from, to)));
      b.append(" 2>/dev/null\n");
      from = to;
    }
    for (int i = 0; i < jobs.size(); i++) {
      RenderedJob j = jobs.get(i);
      b.append("hpcb_files() {\n");
      pod(b, j);
      b.append("}\nhpcb_pod ").append(i).append(' ').append(Shell.quote(j.podDir())).append('\n');
    }
    b.append("exit 0\n} </dev/null\n");
    return b.toString();
  }

  /** Bytes of arguments per {@code mkdir}. */
  private static final int MAX_ARGS = 64 << 10;

  private static List<RenderedJob.RemoteFile> files(RenderedJob j) {
    List<RenderedJob.RemoteFile> files = new ArrayList<>(j.files());
    files.add(
        new RenderedJob.RemoteFile("job.sh", j.script().getBytes(StandardCharsets.UTF_8), 0600));
    return files;
  }

  /** The directories below the pod's that its files need, each after the one it is in. */
  private static Set<String> subdirs(RenderedJob j) {
    Set<String> dirs = new LinkedHashSet<>();
    for (RenderedJob.RemoteFile f : files(j)) {
      String rel = normalize(f.path());
      for (int s = rel.indexOf('/'); s > 0; s = rel.indexOf('/', s + 1)) {
        dirs.add(j.podDir() + "/" + rel.substring(0, s));
      }
    }
    return dirs;
  }

  /** The body of one pod's {@code hpcb_files}: each file with its mode. */
  private static void pod(StringBuilder b, RenderedJob j) {
    String dir = Shell.quote(j.podDir());
    List<RenderedJob.RemoteFile> files = files(j);
    // The directory this script made, not something else that took its place.
    b.append("[[ -d ").append(dir).append(" && ! -L ").append(dir).append(" ]] || ");
    b.append("{ grep -F -e ").append(dir).append(" -- \"$hpcb_t/mkdir\" >&2 ||");
    b.append(" echo 'not the directory this command made' >&2; return 1; }\n");
    Map<Integer, List<String>> chmods = new LinkedHashMap<>();
    for (int k = 0; k < files.size(); k++) {
      RenderedJob.RemoteFile f = files.get(k);
      int mode = f.mode() & 0777;
      String path = Shell.quote(j.podDir() + "/" + normalize(f.path()));
      // Created with the final mode where the umask can give it (no execute bits), else 0600
      // and chmod afterwards.
      int create = (mode & 0111) == 0 ? mode : 0600;
      b.append("umask 0").append(Integer.toOctalString(0777 & ~create));
      b.append("; printf -- ").append(printfFormat(f.content())).append(" >").append(path);
      b.append(" || return\n");
      if (create != mode) {
        chmods.computeIfAbsent(mode, m -> new ArrayList<>()).add(path);
      }
    }
    chmods.forEach(
        (mode, ps) ->
            b.append("chmod 0")
                .append(Integer.toOctalString(mode))
                .append(" -- ")
                .append(String.join(" ", ps))
                .append(" || return\n"));
  }

  /** Refuses a job whose files {@link #build} could not write inside its directory. */
  static void check(RenderedJob job) throws BackendException.InvalidPod {
    try {
      Shell.quote(job.podDir());
      job.files().forEach(f -> normalize(f.path()));
    } catch (IllegalArgumentException e) {
      throw new BackendException.InvalidPod("InvalidVolumePath", e.getMessage());
    }
  }

  /** A path relative to the pod's directory, without empty or {@code .} segments. */
  static String normalize(String rel) {
    List<String> parts = new ArrayList<>();
    for (String p : rel.split("/")) {
      if (p.equals("..") || !Shell.quotable(p)) {
        throw new IllegalArgumentException("not a path inside the pod's directory: " + rel);
      }
      if (!p.isEmpty() && !p.equals(".")) {
        parts.add(p);
      }
    }
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("not a file path: " + rel);
    }
    return String.join("/", parts);
  }

  /**
   * {@code content} as a single-quoted printf format that prints exactly those bytes: printable
   * ASCII as itself ({@code %} and {@code \} doubled), every other byte as a three-digit octal
   * escape, a single quote as {@code '\''}.
   */
  static String printfFormat(byte[] content) {
    StringBuilder b = new StringBuilder(content.length + 16).append('\'');
    for (byte x : content) {
      int c = x & 0xff;
      if (c == '\'') {
        b.append("'\\''");
      } else if (c == '%') {
        b.append("%%");
      } else if (c == '\\') {
        b.append("\\\\");
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c >= 0x20 && c < 0x7f) {
        b.append((char) c);
      } else {
        b.append('\\').append((char) ('0' + (c >> 6))).append((char) ('0' + ((c >> 3) & 7)));
        b.append((char) ('0' + (c & 7)));
      }
    }
    return b.append('\'').toString();
  }

  /**
   * The results the script printed, by index. Lines not of this script (another nonce, a malformed
   * line, an index out of range) are ignored; an index reported twice counts as not reported.
   */
  static Map<Integer, Outcome> parse(String stdout, String nonce, int count) {
    Map<Integer, Outcome> out = new LinkedHashMap<>();
    Set<Integer> twice = new LinkedHashSet<>();
    for (String line : stdout.split("\n")) {
      if (line.length() > MAX_LINE) {
        continue;
      }
      Matcher m = LINE.matcher(line);
      if (!m.matches() || !m.group(1).equals(nonce)) {
        continue;
      }
      int i = Integer.parseInt(m.group(2));
      if (i >= count) {
        continue;
      }
      Outcome o;
      if (m.group(3) != null) {
        o = new Outcome("ok", 0, m.group(4));
      } else {
        byte[] msg;
        try {
          msg = Base64.getDecoder().decode(m.group(7));
        } catch (IllegalArgumentException e) {
          continue;
        }
        o =
            new Outcome(
                m.group(5), Integer.parseInt(m.group(6)), new String(msg, StandardCharsets.UTF_8));
      }
      if (out.putIfAbsent(i, o) != null) {
        twice.add(i);
      }
    }
    twice.forEach(out::remove);
    return out;
  }
}
