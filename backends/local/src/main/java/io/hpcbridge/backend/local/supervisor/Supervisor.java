package io.hpcbridge.backend.local.supervisor;

import io.hpcbridge.backend.PodPlan;
import io.hpcbridge.backend.TimestampedLog;
import io.hpcbridge.backend.local.common.Json;
import io.hpcbridge.backend.local.common.PodLayout;
import io.hpcbridge.backend.local.common.ProcFs;
import io.hpcbridge.backend.local.common.Records.SupervisorOptions;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The detached per-pod process: {@code java ... Supervisor <podDir>}. Started by the backend in its
 * own session, it outlives the bridge. It runs the init containers in order, then the containers in
 * parallel ({@link ContainerRunner}), obeys stop requests and the deadline ({@link StopWatcher}),
 * and records everything in {@code status.json} ({@link StatusFile}), so a restarted bridge reads
 * exit codes and logs from the directory alone.
 *
 * <p>It never prints env values or file contents, only names, pids and exit codes.
 */
public final class Supervisor {

  private final PodLayout layout;

  private Supervisor(Path podDir) {
    this.layout = new PodLayout(podDir.toAbsolutePath());
  }

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: Supervisor POD_DIR");
      System.exit(2);
    }
    int code;
    try {
      code = new Supervisor(Path.of(args[0])).run();
    } catch (Throwable t) {
      log("supervisor failed: " + t);
      t.printStackTrace();
      code = 1;
    }
    System.exit(code);
  }

  /** One line in {@code supervisor.log}. */
  static void log(String message) {
    System.err.println(TimestampedLog.timestamp(Instant.now()) + " " + message);
  }

  private int run() throws Exception {
    try (FileChannel lockChannel =
            FileChannel.open(
                layout.supervisorLock(), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock lock = lockChannel.tryLock()) {
      if (lock == null) {
        log("another supervisor runs this pod; exiting");
        return 0;
      }
      if (Files.exists(layout.status())) {
        log("this pod was supervised before (status.json exists); not starting it again");
        return 0;
      }
      PodPlan plan = Json.read(layout.plan(), PodPlan.class);
      SupervisorOptions opts = Json.read(layout.options(), SupervisorOptions.class);
      long pid = ProcessHandle.current().pid();
      PodState pod =
          new PodState(
              plan, new StatusFile(layout.status()), pid, ProcFs.startTicks(pid), Instant.now());
      pod.update();
      log("supervising pod " + plan.pod() + " uid " + plan.pod().uid() + " (pid " + pid + ")");
      StopWatcher stopper = new StopWatcher(layout, pod);
      stopper.checkEarlyCancel();
      stopper.start();
      Cgroups cgroups = Cgroups.detect();
      boolean limits =
          plan.allContainers()
              .anyMatch(
                  c -> c.resources().memoryLimitBytes() > 0 || c.resources().cpuLimitMillis() > 0);
      log(
          "cgroups: "
              + cgroups.describe()
              + (limits && cgroups.problem().isPresent()
                  ? "; the pod's memory and CPU limits are NOT enforced"
                  : ""));
      ContainerRunner runner = new ContainerRunner(layout, opts, pod, cgroups);
      try {
        supervise(pod, runner);
      } catch (Throwable t) {
        log("supervisor error, stopping the pod: " + t);
        synchronized (pod) {
          pod.reason("SupervisorError", "the local supervisor failed: " + t);
          pod.cancelled = true;
          for (ContainerRun r : pod.running) {
            r.signal("KILL");
          }
        }
        throw t;
      } finally {
        pod.finish();
        log("pod finished: " + pod.phase());
      }
    }
    return 0;
  }

  /** Init containers one after the other, then the containers in parallel. */
  private static void supervise(PodState pod, ContainerRunner runner) throws InterruptedException {
    for (ContainerState c : pod.init) {
      runner.runToEnd(c);
      synchronized (pod) {
        if (pod.cancelled) {
          return;
        }
        if (c.exitCode == null || c.exitCode != 0) {
          pod.reason(
              "InitContainerFailed",
              "init container " + c.name() + " exited with code " + c.exitCode);
          pod.update();
          return;
        }
      }
    }
    List<Thread> threads = new ArrayList<>();
    for (ContainerState c : pod.main) {
      Thread t =
          new Thread(
              null,
              () -> {
                try {
                  runner.runToEnd(c);
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "container-" + c.name(),
              256 * 1024);
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
  }
}
