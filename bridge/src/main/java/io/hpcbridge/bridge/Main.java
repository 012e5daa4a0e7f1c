package io.hpcbridge.bridge;

import io.hpcbridge.bridge.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bridge}: the daemon and its CLI. */
@Command(
    name = "bridge",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description =
        "A Kubernetes node that runs its pods as Slurm jobs, Docker containers or local processes.",
    subcommands = {ServeCommand.class, RunCommand.class, RenderCommand.class, StateCommand.class})
public final class Main {

  public static void main(String[] args) {
    // Only the daemon logs at INFO; the one-shot commands keep stderr for their own output.
    if (args.length == 0 || !args[0].equals("serve")) {
      System.setProperty("hpc.bridge.defaultLevel", "WARN");
    }
    System.exit(execute(args));
  }

  /** Runs the CLI and returns the exit code; a config error prints one line and returns 2. */
  public static int execute(String... args) {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          if (ex instanceof ConfigException) {
            cmd.getErr().println(ex.getMessage());
            return 2;
          }
          cmd.getErr().println("error: " + ex.getMessage());
          if (System.getenv("HPC_BRIDGE_DEBUG") != null) {
            ex.printStackTrace(cmd.getErr());
          }
          return 1;
        });
    return cl.execute(args);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"hpc-bridge " + (v == null ? "dev" : v)};
    }
  }
}
