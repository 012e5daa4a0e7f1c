package io.hpcbridge.backend.slurm;

import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.slurm.transport.Transport;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One container's log file on the shared file system, read in bounded chunks by one remote command
 * each: the file is read only when it is a regular file, never through a symlink (none of {@code
 * c}, {@code c/NAME} and the file is one; the file is opened from inside {@code c/NAME} once the
 * shell's real directory is checked, with {@code dd iflag=nofollow,nonblock}), and never more than
 * the chunk asked for. Each read also says whether the container has ended (its exit file, or the
 * pod's done file, exists, or Slurm says the job is over), so a follower knows when what it read is
 * all there will be.
 */
final class RemoteLog {
  /** What a read found. */
  enum State {
    OK,
    MISSING,
    NOT_REGULAR,
    POD_GONE
  }

  /**
   * One read.
   *
   * @param ended the container had ended before the file was read: nothing more will come
   * @param size the file's size when it was read (0 unless {@link State#OK})
   * @param bytes the bytes from the offset asked for, at most the chunk size
   */
  record Chunk(State state, boolean ended, long size, byte[] bytes) {}

  private final LoginNode login;
  private final String podDir;
  private final String container;
  private final boolean previous;
  private final String jobId;

  RemoteLog(LoginNode login, String podDir, String container, boolean previous, String jobId) {
    this.login = login;
    this.podDir = podDir;
    this.container = container;
    this.previous = previous;
    this.jobId = jobId;
  }

  /**
   * Reads at most {@code max} bytes from {@code offset}. With {@code askSlurm} the job's state is
   * checked too (a job killed outright leaves no exit file).
   */
  Chunk read(long offset, int max, boolean askSlurm) throws BackendException.Transient {
    int slash = podDir.lastIndexOf('/');
    StringBuilder s = new StringBuilder();
    s.append("r=").append(Shell.quote(podDir.substring(0, Math.max(0, slash))));
    s.append(" u=").append(Shell.quote(podDir.substring(slash + 1)));
    s.append(" k=").append(Shell.quote(container)).append('\n');
    s.append("d=$r/$u c=$r/$u/c/$k f=").append(previous ? "previous.log" : "log").append('\n');
    s.append("if [ -L \"$d\" ] || [ ! -d \"$d\" ]; then echo gone; exit 0; fi\n");
    s.append("x=0; { [ -e \"$c/exit\" ] || [ -e \"$d/done\" ]; } && x=1\n");
    if (askSlurm) {
      s.append("if [ $x = 0 ]; then\n")
          .append("  s=$(squeue -h -o %T -j ")
          .append(jobId)
          .append(',')
          .append(jobId)
          .append(" 2>&1)\n")
          .append("  case $s in *'Invalid job id'*|COMPLETED|FAILED|CANCELLED*|TIMEOUT|")
          .append("OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE) x=1 ;; esac\n")
          .append("fi\n");
    }
    // No symlink on the way: not c, not c/NAME, not the file. The log is opened from inside its
    // directory, entered and then checked to be this pod's own (pwd -P is where the shell really
    // is), so a link swapped in after the tests still leads nowhere else.
    s.append("if [ -L \"$d/c\" ] || [ -L \"$c\" ]; then echo \"notregular $x\"; exit 0; fi\n");
    s.append("if [ ! -d \"$c\" ]; then echo \"missing $x\"; exit 0; fi\n");
    s.append("p=$(cd -P -- \"${r:-/}\" && pwd -P) && p=${p%/} && cd -P -- \"$c\" 2>/dev/null")
        .append(" && [ \"$(pwd -P)\" = \"$p/$u/c/$k\" ] || { echo \"notregular $x\"; exit 0; }\n");
    s.append("if [ -L \"$f\" ]; then echo \"notregular $x\"; exit 0; fi\n");
    s.append("if [ ! -e \"$f\" ]; then echo \"missing $x\"; exit 0; fi\n");
    s.append("if [ ! -f \"$f\" ]; then echo \"notregular $x\"; exit 0; fi\n");
    s.append("n=$(stat -c %s -- \"$f\" 2>/dev/null) || { echo \"missing $x\"; exit 0; }\n");
    s.append("echo \"ok $x $n\"\n");
    if (max > 0) {
      s.append("dd if=\"$f\" iflag=nofollow,nonblock,skip_bytes,count_bytes skip=")
          .append(offset)
          .append(" count=")
          .append(max)
          .append(" bs=65536 status=none 2>/dev/null\n");
    }
    s.append("exit 0\n");
    Transport.Result r = login.execLogs(s.toString());
    byte[] out = r.out();
    int nl = 0;
    while (nl < out.length && out[nl] != '\n') {
      nl++;
    }
    String[] head = new String(out, 0, nl, StandardCharsets.US_ASCII).trim().split(" ");
    if (!r.ok() || head[0].isEmpty()) {
      throw new BackendException.Transient(
          "reading the log of " + container + " failed: " + r.stderr().strip());
    }
    boolean ended = head.length > 1 && head[1].equals("1");
    return switch (head[0]) {
      case "gone" -> new Chunk(State.POD_GONE, true, 0, new byte[0]);
      case "missing" -> new Chunk(State.MISSING, ended, 0, new byte[0]);
      case "notregular" -> new Chunk(State.NOT_REGULAR, ended, 0, new byte[0]);
      case "ok" -> {
        long size = head.length > 2 && head[2].matches("\\d{1,18}") ? Long.parseLong(head[2]) : 0;
        byte[] data = Arrays.copyOfRange(out, Math.min(out.length, nl + 1), out.length);
        yield new Chunk(State.OK, ended, size, data.length > max ? Arrays.copyOf(data, max) : data);
      }
      default ->
          throw new BackendException.Transient(
              "reading the log of " + container + ": unexpected answer " + head[0]);
    };
  }
}
