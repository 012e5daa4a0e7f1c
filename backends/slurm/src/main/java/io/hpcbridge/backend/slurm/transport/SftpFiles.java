package io.hpcbridge.backend.slurm.transport;

import com.jcraft.jsch.ChannelSftp;
import com.jcraft.jsch.SftpATTRS;
import com.jcraft.jsch.SftpException;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.slurm.transport.Transport.FileWrite;
import java.io.ByteArrayInputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@link Transport#write} and {@link Transport#replace} over one SFTP channel. Modes are {@link
 * FileWrite#mode}, masked to 0777.
 */
final class SftpFiles {
  private SftpFiles() {}

  static void write(ChannelSftp sftp, List<FileWrite> files) throws SftpException {
    Set<String> made = new HashSet<>();
    for (FileWrite f : files) {
      String dir = f.path().substring(0, f.path().lastIndexOf('/'));
      mkdirs(sftp, dir, made);
      try {
        sftp.rm(f.path());
      } catch (SftpException ignored) {
        // not there yet
      }
      // Created empty and private first, so secrets are never readable by others.
      sftp.put(new ByteArrayInputStream(new byte[0]), f.path());
      sftp.chmod(0600, f.path());
      sftp.put(new ByteArrayInputStream(f.content()), f.path());
      sftp.chmod(f.mode() & 0777, f.path());
    }
  }

  static void replace(ChannelSftp sftp, String base, List<FileWrite> files)
      throws SftpException, BackendException.InvalidPod {
    for (FileWrite f : files) {
      String dir = f.path().substring(0, f.path().lastIndexOf('/'));
      realDirs(sftp, base, dir);
      String tmp = dir + "/.hpcb-" + Replace.randomName() + ".tmp";
      sftp.put(new ByteArrayInputStream(new byte[0]), tmp);
      sftp.chmod(0600, tmp);
      sftp.put(new ByteArrayInputStream(f.content()), tmp);
      sftp.chmod(f.mode() & 0777, tmp);
      sftp.rename(tmp, f.path()); // posix-rename@openssh.com: replaces the target at once
    }
  }

  /** Each directory from {@code base} down to {@code dir} is a real one; missing ones are made. */
  private static void realDirs(ChannelSftp sftp, String base, String dir)
      throws SftpException, BackendException.InvalidPod {
    String path = base;
    String rest = dir.equals(base) ? "" : dir.substring(base.length() + 1);
    List<String> parts = new ArrayList<>(List.of(""));
    if (!rest.isEmpty()) {
      parts.addAll(List.of(rest.split("/")));
    }
    for (String p : parts) {
      path = p.isEmpty() ? path : path + "/" + p;
      try {
        SftpATTRS a = sftp.lstat(path);
        if (a.isLink() || !a.isDir()) {
          throw Replace.unsafe(path);
        }
      } catch (SftpException e) {
        if (e.id != ChannelSftp.SSH_FX_NO_SUCH_FILE || p.isEmpty()) {
          throw e;
        }
        sftp.mkdir(path);
      }
    }
  }

  private static void mkdirs(ChannelSftp sftp, String dir, Set<String> made) throws SftpException {
    if (dir.isEmpty() || made.contains(dir)) {
      return;
    }
    try {
      if (sftp.stat(dir).isDir()) {
        made.add(dir);
        return;
      }
    } catch (SftpException e) {
      if (e.id != ChannelSftp.SSH_FX_NO_SUCH_FILE) {
        throw e;
      }
    }
    int slash = dir.lastIndexOf('/');
    if (slash > 0) {
      mkdirs(sftp, dir.substring(0, slash), made);
    }
    sftp.mkdir(dir);
    made.add(dir);
  }
}
