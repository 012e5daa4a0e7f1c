package io.hpcbridge.backend.slurm;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One sbatch option in long form: {@code --name} or {@code --name=value}.
 *
 * @param name the option name without dashes, e.g. {@code partition}
 * @param value its value, or null for a bare switch
 */
public record SbatchFlag(String name, String value) {
  static final Pattern NAME = Pattern.compile("[a-z][a-z0-9-]*");

  /**
   * What a value may contain: no whitespace, quotes, backslash, $, backtick, #, ; or redirections.
   */
  static final Pattern VALUE = Pattern.compile("[A-Za-z0-9_.,:=+@%/\\[\\]&|*()!~^-]+");

  public SbatchFlag {
    Objects.requireNonNull(name, "name");
  }

  /**
   * Parses {@code --name[=value]}; empty when the text is not of that shape or the value is unsafe.
   */
  public static Optional<SbatchFlag> parse(String text) {
    if (!text.startsWith("--")) {
      return Optional.empty();
    }
    String body = text.substring(2);
    int eq = body.indexOf('=');
    String name = eq < 0 ? body : body.substring(0, eq);
    String value = eq < 0 ? null : body.substring(eq + 1);
    if (!NAME.matcher(name).matches() || (value != null && !VALUE.matcher(value).matches())) {
      return Optional.empty();
    }
    return Optional.of(new SbatchFlag(name, value));
  }

  /** The {@code #SBATCH} line for this flag. */
  public String directive() {
    return "#SBATCH --" + name + (value == null ? "" : "=" + value);
  }

  @Override
  public String toString() {
    return "--" + name + (value == null ? "" : "=" + value);
  }
}
