package io.hpcbridge.backend.slurm;

import java.util.Collection;
import java.util.stream.Collectors;

/**
 * The one quoting helper. Everything that comes from a pod and ends up in a shell line, a script or
 * an env file goes through {@link #quote}; nothing from a pod is ever spliced in unquoted.
 *
 * <p>POSIX single quotes: inside them no character is special, so {@code $}, backticks, double
 * quotes, backslashes, newlines and any unicode pass through verbatim. A single quote is written as
 * {@code '\''}. The only value that cannot be represented is one containing NUL, which no argv or
 * environment entry can hold; {@link #quote} rejects it.
 */
public final class Shell {
  private Shell() {}

  /** The word {@code value} as one shell word, always single-quoted. */
  public static String quote(String value) {
    if (value.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("a NUL character cannot be passed to a process");
    }
    return "'" + value.replace("'", "'\\''") + "'";
  }

  /** Each value quoted, separated by single spaces. */
  public static String quoteAll(Collection<String> values) {
    return values.stream().map(Shell::quote).collect(Collectors.joining(" "));
  }

  /** True when {@code value} can be quoted (contains no NUL). */
  public static boolean quotable(String value) {
    return value.indexOf('\0') < 0;
  }
}
