package io.hpcbridge.bridge;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Collections;

/** The machine's address to advertise when the config names none. */
public final class Net {
  private Net() {}

  public static String primaryIPv4() {
    try {
      for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nif.isUp()
            || nif.isLoopback()
            || nif.isVirtual()
            || nif.getName().startsWith("docker")
            || nif.getName().startsWith("br-")
            || nif.getName().startsWith("veth")) {
          continue;
        }
        for (InetAddress a : Collections.list(nif.getInetAddresses())) {
          if (a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
            return a.getHostAddress();
          }
        }
      }
    } catch (SocketException e) {
      // fall back to loopback
    }
    return "127.0.0.1";
  }
}
