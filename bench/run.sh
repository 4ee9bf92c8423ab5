#!/usr/bin/env bash
# Builds Lipa and the C baselines (native/bench/build.sh) and runs the JMH benchmarks in bench/ with a
# JDK >= 25; arguments go to JMH. The whole suite with its results table: bench/suite.sh.
#   bench/run.sh MlpJacobianBench -f 1 -wi 3 -i 8
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
JAVA_HOME=$("$root/scripts/find-jdk.sh" 25) || exit 1
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
"$root/mvnw" -B -ntp -q -f "$root/pom.xml" -Dmaven.test.skip=true package >&2
cp="$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")"
# Machine loads oneDNN (extracting the library the C baselines link against) and says where it is
lib=$("$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$cp" org.lipa.bench.Machine | sed -n 's/.*"onednn_library":"\([^"]*\)".*/\1/p')
"$root/native/bench/build.sh" "$(dirname "$lib")"
cd "$root" # DowncallBench finds native/bench/build from the working directory
exec "$JAVA_HOME/bin/java" -cp "$cp" org.openjdk.jmh.Main "$@"
