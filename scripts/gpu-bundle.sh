#!/usr/bin/env bash
# Builds gpu-bundle/: what a GPU machine without a JDK needs to run Lipa's GPU tests and benchmarks.
#   jdk.tar.xz     a jlink-trimmed Java runtime (the modules the jars use, see MODULES), native libraries
#                  stripped and xz-compressed (24 MB instead of 48): run.sh unpacks it on first use
#   lib/           the bindings, runtime, models and bench jars, oneDNN's jar, JMH, and JUnit's console launcher
#                  (not the models' plotting and JSON libraries: nothing on the GPU needs them; the models jar
#                  itself is for GpuAnalysisBench, which runs models' Hessian, Evaluation and Landscape)
# Everything together stays under the 64 MiB a GPU machine is sent (about 60 MB).
#   test-classes/  the runtime's test classes (GpuBackendTest and what it reuses)
#   run.sh         gpu-bundle/run.sh test <junit console options> | bench <JMH options> | java <args>
#
#   scripts/gpu-bundle.sh            # then carry gpu-bundle (ignored by git) to the machine
#
# Needs JDK 25 (found by scripts/find-jdk.sh) and Maven with the dependencies already fetched.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JAVA_HOME=$("$root/scripts/find-jdk.sh" 25) || exit 1
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
# java.management and jdk.management for JMH, jdk.jfr for the runtime's events, jdk.unsupported for
# JMH's Unsafe use, java.logging and java.xml for JUnit's launcher and reports
MODULES=java.base,java.logging,java.management,jdk.management,jdk.jfr,jdk.unsupported,java.xml

mvn -o -q -B ${MVN_FLAGS:-} -pl bindings,runtime,models,bench -am install -DskipTests
out="$root/gpu-bundle"
rm -rf "$out"
mkdir -p "$out/lib" "$out/test-classes"
jlink --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files --compress=zip-6 --output "$out/jdk"
find "$out/jdk" -name '*.so' -exec strip --strip-unneeded {} +
tar -C "$out" -cJf "$out/jdk.tar.xz" jdk
rm -rf "$out/jdk"
mvn -o -q -B ${MVN_FLAGS:-} -f runtime/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out/lib"
cp runtime/target/lipa-runtime-*.jar models/target/lipa-models-*.jar bench/target/lipa-bench-*.jar "$out/lib/"
m2=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
for jar in org/openjdk/jmh/jmh-core net/sf/jopt-simple/jopt-simple org/apache/commons/commons-math3; do
  found=$(find "$m2/$jar" -name '*.jar' ! -name '*sources*' | sort -V | tail -1)
  [ -n "$found" ] || { echo "gpu-bundle: $jar is not in the local Maven repository" >&2; exit 1; }
  cp "$found" "$out/lib/"
done
cp -r runtime/target/test-classes/. "$out/test-classes/"
junit=$(find "$m2/org/junit/platform/junit-platform-console-standalone" -name '*.jar' | sort -V | tail -1)
[ -n "$junit" ] || { echo "gpu-bundle: junit-platform-console-standalone is not in the local Maven repository" >&2; exit 1; }
cp "$junit" "$out/lib/"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# gpu-bundle/run.sh test [junit console options]   e.g. test --select-class org.lipa.backend.gpu.GpuBackendTest
# gpu-bundle/run.sh bench [JMH options]            e.g. bench GpuBench -f 1
# gpu-bundle/run.sh java [java arguments]          the bundled java with the jars on the class path
# JAVA_OPTS (for example -Dlipa.gpu.fuzz.cases=5000) is passed to the JVM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ -x "$here/jdk/bin/java" ] || tar -C "$here" -xJf "$here/jdk.tar.xz"
cp=$(ls "$here"/lib/*.jar | grep -v console-standalone | tr '\n' ':')
java=("$here/jdk/bin/java" --enable-native-access=ALL-UNNAMED -Xss8m ${JAVA_OPTS:-})
cmd=${1:-}; shift || true
case "$cmd" in
  test) exec "${java[@]}" -jar "$here"/lib/junit-platform-console-standalone-*.jar execute \
          --class-path "$here/test-classes:$cp" --details=tree --disable-banner "$@" ;;
  bench) exec "${java[@]}" -cp "$cp" org.openjdk.jmh.Main -jvm "$here/jdk/bin/java" "$@" ;;
  java) exec "${java[@]}" -cp "$cp" "$@" ;;
  *) echo "usage: run.sh test|bench|java ..." >&2; exit 2 ;;
esac
RUN
chmod +x "$out/run.sh"
du -sh "$out" "$out/jdk.tar.xz" "$out/lib"
