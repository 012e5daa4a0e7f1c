#!/usr/bin/env bash
# Formats every Java source with google-java-format (fetched once from Maven Central).
#   scripts/format.sh          rewrite files in place
#   scripts/format.sh --check  list files that are not formatted, exit 1 if any
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
V=1.28.0
JAR=${HOME}/.m2/repository/com/google/googlejavaformat/google-java-format/$V/google-java-format-$V-all-deps.jar
[ -f "$JAR" ] || "$ROOT/mvnw" -q -B dependency:get -Dartifact=com.google.googlejavaformat:google-java-format:$V:jar:all-deps >&2
mapfile -t files < <(cd "$ROOT" && git ls-files '*.java')
cd "$ROOT"
opens=(--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.code=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED
  --add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED)
if [ "${1:-}" = --check ]; then
  out=$(java "${opens[@]}" -jar "$JAR" --dry-run "${files[@]}")
  [ -z "$out" ] || { echo "$out"; exit 1; }
else
  java "${opens[@]}" -jar "$JAR" --replace "${files[@]}"
fi
