package io.hpcbridge.backend.local;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Facts about this machine: address, memory, OS. */
final class HostInfo {

  private HostInfo() {}

  /**
   * The machine's primary IPv4 address: the one of the interface holding the default route, else
   * the first non-loopback IPv4 address of an interface that is up, else {@code 127.0.0.1}.
   */
  static String primaryIPv4() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/route"))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 2 && f[1].equals("00000000") && !f[0].equals("Iface")) {
          String a = ipv4Of(NetworkInterface.getByName(f[0]));
          if (a != null) {
            return a;
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // fall through
    }
    try {
      for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (ni.isUp() && !ni.isLoopback()) {
          String a = ipv4Of(ni);
          if (a != null) {
            return a;
          }
        }
      }
    } catch (SocketException | RuntimeException e) {
      // fall through
    }
    return "127.0.0.1";
  }

  private static String ipv4Of(NetworkInterface ni) {
    if (ni == null) {
      return null;
    }
    for (InetAddress a : Collections.list(ni.getInetAddresses())) {
      if (a instanceof Inet4Address && !a.isLoopbackAddress()) {
        return a.getHostAddress();
      }
    }
    return null;
  }

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
