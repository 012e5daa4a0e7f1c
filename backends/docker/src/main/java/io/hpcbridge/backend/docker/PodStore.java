package io.hpcbridge.backend.docker;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.hpcbridge.backend.PodPlan;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What the backend must remember across bridge restarts, per pod, in its data directory: the plan
 * (containers are created from it, possibly after a restart; mode 0600 because it holds secret
 * values), the host the pod was placed on (written before anything is created there, so a pod is
 * never placed twice) and whether it was cancelled.
 */
final class PodStore {
  private final Path root;
  private final ObjectMapper json =
      new ObjectMapper()
          .registerModule(new Jdk8Module())
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  PodStore(Path dataDir) {
    this.root = dataDir.resolve("docker-pods");
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + root, e);
    }
  }

  private Path dir(String uid) {
    return root.resolve(Names.clean(uid));
  }

  void savePlan(PodPlan plan) {
    try {
      write(plan.pod().uid(), "plan.json", json.writeValueAsBytes(plan));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Optional<PodPlan> plan(String uid) {
    Path f = dir(uid).resolve("plan.json");
    if (!Files.exists(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(json.readValue(f.toFile(), PodPlan.class));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f, e);
    }
  }

  void saveHost(String uid, String host) {
    write(uid, "host", host.getBytes(StandardCharsets.UTF_8));
  }

  Optional<String> host(String uid) {
    return read(uid, "host");
  }

  /** The version of a volume's files now in place (after an update), see {@link PodVolumes}. */
  void saveVolumeVersion(String uid, String volume, String version) {
    write(uid, "version." + Names.clean(volume), version.getBytes(StandardCharsets.UTF_8));
  }

  Optional<String> volumeVersion(String uid, String volume) {
    return read(uid, "version." + Names.clean(volume));
  }

  void markCancelled(String uid) {
    write(uid, "cancelled", new byte[0]);
  }

  boolean cancelled(String uid) {
    return Files.exists(dir(uid).resolve("cancelled"));
  }

  void markDeadlineExceeded(String uid) {
    write(uid, "deadline-exceeded", new byte[0]);
  }

  boolean deadlineExceeded(String uid) {
    return Files.exists(dir(uid).resolve("deadline-exceeded"));
  }

  /** The pods this store knows, by uid (after a restart: the pods to resume). */
  java.util.List<String> uids() {
    try (Stream<Path> s = Files.list(root)) {
      return s.filter(Files::isDirectory)
          .filter(d -> Files.exists(d.resolve("host")))
          .map(d -> d.getFileName().toString())
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + root, e);
    }
  }

  void forget(String uid) {
    Path d = dir(uid);
    if (!Files.exists(d)) {
      return;
    }
    try (Stream<Path> s = Files.walk(d)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + d, e);
    }
  }

  private Optional<String> read(String uid, String name) {
    Path f = dir(uid).resolve(name);
    try {
      return Files.exists(f)
          ? Optional.of(Files.readString(f, StandardCharsets.UTF_8).trim())
          : Optional.empty();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f, e);
    }
  }

  /** Write to a temp file (0600) and rename, so a crash never leaves half a file. */
  private void write(String uid, String name, byte[] content) {
    Path d = dir(uid);
    try {
      Files.createDirectories(d);
      Path tmp = d.resolve(name + ".tmp");
      Files.deleteIfExists(tmp);
      try {
        Files.createFile(
            tmp,
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException e) {
        Files.createFile(tmp);
      }
      Files.write(tmp, content);
      Files.move(
          tmp,
          d.resolve(name),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + d.resolve(name), e);
    }
  }
}
