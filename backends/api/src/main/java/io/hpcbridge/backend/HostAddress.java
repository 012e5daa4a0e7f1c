package io.hpcbridge.backend;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;

/** This machine's address, for a node that is not told which one to advertise. */
public final class HostAddress {

  private HostAddress() {}

  /**
   * The machine's primary IPv4 address: the one of the interface holding the default route, else
   * the first non-loopback IPv4 address of an interface that is up, else {@code 127.0.0.1}.
   */
  public static String primaryIPv4() {
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
}
