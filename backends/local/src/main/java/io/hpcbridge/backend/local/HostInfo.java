package io.hpcbridge.backend.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Facts about this machine: address, memory, OS. */
final class HostInfo {

  private HostInfo() {}

  /** MemTotal from /proc/meminfo in bytes, or the JVM's view of physical memory. */
  static long memoryBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          String[] f = line.substring(9).trim().split("\\s+");
          long v = Long.parseLong(f[0]);
          return f.length > 1 && f[1].equalsIgnoreCase("kB") ? v * 1024 : v;
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return Runtime.getRuntime().maxMemory();
  }

  /** Kubernetes NodeSystemInfo facts: osImage, kernelVersion, architecture, operatingSystem. */
  static Map<String, String> nodeInfo() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("osImage", osImage());
    m.put("kernelVersion", kernelVersion());
    m.put("architecture", architecture(System.getProperty("os.arch", "")));
    m.put("operatingSystem", "linux");
    return m;
  }

  private static String osImage() {
    try {
      for (String line : Files.readAllLines(Path.of("/etc/os-release"))) {
        if (line.startsWith("PRETTY_NAME=")) {
          return line.substring(12).replaceAll("^\"|\"$", "");
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    return System.getProperty("os.name", "Linux");
  }

  private static String kernelVersion() {
    try {
      return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
    } catch (IOException | RuntimeException e) {
      return System.getProperty("os.version", "");
    }
  }

  /** Go's names, as Kubernetes uses them. */
  static String architecture(String javaArch) {
    return switch (javaArch) {
      case "amd64", "x86_64" -> "amd64";
      case "aarch64", "arm64" -> "arm64";
      case "x86", "i386", "i686" -> "386";
      case "ppc64le" -> "ppc64le";
      case "s390x" -> "s390x";
      case "riscv64" -> "riscv64";
      case "arm" -> "arm";
      default -> javaArch;
    };
  }

  static final List<String> NODE_INFO_KEYS =
      List.of("osImage", "kernelVersion", "architecture", "operatingSystem");
}
