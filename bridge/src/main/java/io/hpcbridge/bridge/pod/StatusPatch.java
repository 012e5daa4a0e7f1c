package io.hpcbridge.bridge.pod;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/**
 * A JSON merge patch (RFC 7386) that turns one object into another: changed and new fields are set,
 * fields that vanished are set to {@code null} (which removes them), nested objects are patched
 * field by field and arrays are replaced whole. A plain merge patch of the new status alone would
 * leave a vanished {@code reason}, {@code message} or {@code podIP} in place.
 */
final class StatusPatch {
  private StatusPatch() {}

  /** The patch from {@code from} to {@code to}; empty when they are equal. */
  static ObjectNode diff(JsonNode from, JsonNode to) {
    ObjectNode patch = JsonNodeFactory.instance.objectNode();
    if (from != null && from.isObject()) {
      Iterator<String> names = from.fieldNames();
      while (names.hasNext()) {
        String name = names.next();
        if (!to.has(name) || to.get(name).isNull()) {
          if (!from.get(name).isNull()) {
            patch.putNull(name);
          }
        }
      }
    }
    Iterator<Map.Entry<String, JsonNode>> fields = to.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> f = fields.next();
      JsonNode old = from == null ? null : from.get(f.getKey());
      JsonNode now = f.getValue();
      if (now.isNull()) {
        continue;
      }
      if (old != null && old.isObject() && now.isObject()) {
        ObjectNode inner = diff(old, now);
        if (!inner.isEmpty()) {
          patch.set(f.getKey(), inner);
        }
      } else if (!now.equals(old)) {
        patch.set(f.getKey(), now);
      }
    }
    return patch;
  }
}
