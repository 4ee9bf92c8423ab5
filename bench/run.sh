#!/usr/bin/env bash
# Builds Lipa and runs the JMH benchmarks in bench/ with a JDK >= 25; arguments go to JMH.
#   bench/run.sh MlpJacobianBench -f 1 -wi 3 -i 8
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
JAVA_HOME=$("$root/scripts/find-jdk.sh" 25) || exit 1
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
mvn -B -ntp -q -f "$root/pom.xml" -Dmaven.test.skip=true package >&2
exec "$JAVA_HOME/bin/java" -cp "$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")" org.openjdk.jmh.Main "$@"
