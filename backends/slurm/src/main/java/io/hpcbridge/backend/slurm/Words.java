package io.hpcbridge.backend.slurm;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A setting that is a list of words: a YAML list, or one string split on whitespace ({@code
 * allowedFlags: "begin nice"}, {@code runtimeOptions: {apptainer: [--cleanenv]}}).
 *
 * @param values the words, in order
 */
public record Words(List<String> values) {
  public Words {
    values = List.copyOf(values);
  }

  public static final Words NONE = new Words(List.of());

  /** Binds a YAML scalar or list of scalars. */
  @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
  public static Words of(Object raw) {
    List<String> out = new ArrayList<>();
    if (raw instanceof List<?> l) {
      for (Object o : l) {
        if (o == null || o instanceof Map || o instanceof List) {
          throw new IllegalArgumentException("must be a list of words");
        }
        out.add(String.valueOf(o));
      }
    } else if (raw instanceof Map) {
      throw new IllegalArgumentException("must be a list of words");
    } else if (raw != null) {
      for (String s : String.valueOf(raw).trim().split("\\s+")) {
        if (!s.isEmpty()) {
          out.add(s);
        }
      }
    }
    return new Words(out);
  }
}
