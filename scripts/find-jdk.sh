#!/usr/bin/env bash
# Prints the home of a JDK new enough for Lipa (>= 22 to run, 25 to build), or fails with a message.
# Order: $JAVA_HOME if new enough, then JDKs installed beside the default one (/usr/lib/jvm, /opt),
# newest first. Usage: JAVA_HOME=$(scripts/find-jdk.sh [min-feature-version]) || exit 1
set -u
min=${1:-25}

feature() { # the feature release number of the JDK at $1, or nothing
  local rel="$1/release" v
  [ -x "$1/bin/java" ] || return 1
  if [ -f "$rel" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel")
  fi
  if [ -z "${v:-}" ]; then
    v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1)
  fi
  [ -n "$v" ] && echo "$v"
}

ok() { local v; v=$(feature "$1") && [ "$v" -ge "$min" ] && [ -x "$1/bin/javac" ]; }

if [ -n "${JAVA_HOME:-}" ] && ok "$JAVA_HOME"; then
  echo "$JAVA_HOME"; exit 0
fi
best= ; bestv=0
for d in /usr/lib/jvm/* /opt/java/* /opt/jdk* /usr/local/lib/jvm/* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*; do
  [ -d "$d" ] || continue
  v=$(feature "$d") || continue
  if [ "$v" -ge "$min" ] && [ "$v" -gt "$bestv" ] && [ -x "$d/bin/javac" ]; then best=$d; bestv=$v; fi
done
if [ -n "$best" ]; then
  echo "$best"; exit 0
fi
echo "lipa: no JDK >= $min found (JAVA_HOME=${JAVA_HOME:-unset}; looked in /usr/lib/jvm, /opt, ~/.sdkman, ~/.jdks)." >&2
echo "lipa: install one (for example Temurin 25) or point JAVA_HOME at it." >&2
exit 1
