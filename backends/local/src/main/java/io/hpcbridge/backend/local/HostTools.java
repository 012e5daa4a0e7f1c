package io.hpcbridge.backend.local;

import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Tools;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host tools the backend and its supervisors run, as absolute paths found once, and whether
 * private mount namespaces work here (probed once, on first need).
 */
final class HostTools {

  private static final Logger LOG = LoggerFactory.getLogger(HostTools.class);

  final String setsid;
  final String kill;
  final String sleep;
  final String unshare;
  final String mount;
  final String setpriv;
  final String env;
  final String mkdir;
  final String touch;
  final String flock;
  final String cat;
  private volatile Optional<String> mountNamespaceProblem;

  HostTools(LocalSettings settings) {
    this.setsid = require("setsid", null, "util-linux");
    this.kill = require("kill", null, "procps");
    this.sleep = require("sleep", null, "coreutils");
    this.unshare = Tools.find("unshare", settings.unshare());
    this.mount = Tools.find("mount", null);
    this.setpriv = require("setpriv", null, "util-linux");
    this.env = require("env", null, "coreutils");
    this.mkdir = require("mkdir", null, "coreutils");
    this.touch = require("touch", null, "coreutils");
    this.flock = require("flock", null, "util-linux");
    this.cat = require("cat", null, "coreutils");
  }

  /** The tools the supervisor runs, by name, for {@code options.json}. */
  Map<String, String> forSupervisor() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("setsid", setsid);
    m.put("kill", kill);
    m.put("sleep", sleep);
    m.put("setpriv", setpriv);
    m.put("env", env);
    m.put("mkdir", mkdir);
    m.put("touch", touch);
    m.put("flock", flock);
    m.put("cat", cat);
    if (unshare != null) {
      m.put("unshare", unshare);
    }
    if (mount != null) {
      m.put("mount", mount);
    }
    return m;
  }

  private static String require(String tool, String override, String pkg) {
    String p = Tools.find(tool, override);
    if (p == null) {
      throw new IllegalArgumentException(
          "backend local: the '"
              + tool
              + "' command ("
              + pkg
              + ") is not installed or not in PATH");
    }
    return p;
  }

  /** Why volume mounts cannot work here (not root, no unshare, ...), or empty when they can. */
  Optional<String> mountNamespaceProblem() {
    Optional<String> p = mountNamespaceProblem;
    if (p == null) {
      synchronized (this) {
        p = mountNamespaceProblem;
        if (p == null) {
          p = probeMountNamespace();
          mountNamespaceProblem = p;
          p.ifPresent(
              s -> LOG.warn("local backend: pods with volume mounts will be refused: {}", s));
        }
      }
    }
    return p;
  }

  private Optional<String> probeMountNamespace() {
    long uid = ProcFs.effectiveUid();
    if (uid != 0) {
      return Optional.of("the bridge does not run as root (uid " + uid + ")");
    }
    if (unshare == null) {
      return Optional.of("the 'unshare' command (util-linux) is not available");
    }
    if (mount == null) {
      return Optional.of("the 'mount' command (util-linux) is not available");
    }
    Tools.Result r =
        Tools.run(
            List.of(unshare, "--mount", "--propagation", "private", "--", sleep, "0"), 10_000);
    if (!r.ok()) {
      return Optional.of("'unshare --mount' fails: " + r.output());
    }
    return Optional.empty();
  }
}
