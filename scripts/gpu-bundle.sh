#!/usr/bin/env bash
# Builds gpu-bundle/: what a GPU machine without a JDK needs to run Lipa's GPU tests, benchmarks and the
# command line (lipa report --device gpu).
#   jdk.tar.xz      a jlink-trimmed Java runtime (the modules the jars use, see MODULES), native libraries
#                   stripped and xz-compressed (24 MB instead of 48): run.sh unpacks it on first use
#   lib/            the bindings, runtime, models, app and bench jars and their dependencies, JMH, and JUnit's
#                   console launcher; oneDNN's jar is left out (28 MB) ...
#   native/         ... for its libdnnl.so.3 alone, xz-compressed (16 MB), and the libgomp it needs: run.sh
#                   unpacks it and points LIPA_DNNL_LIBRARY at it
#   test-classes/   the runtime's and the models' test classes (test-classes/runtime, test-classes/models; the
#                   GPU tests are there, none in app)
#   run.sh          gpu-bundle/run.sh test <junit console options> | bench <JMH options> | lipa <command> | java <args>
# Everything together stays under the 64 MiB a GPU machine is sent (about 50 MB), leaving room for data.
#
#   scripts/gpu-bundle.sh            # then carry gpu-bundle (ignored by git) to the machine
#
# Needs JDK 25 (found by scripts/find-jdk.sh), xz, and Maven with the dependencies already fetched
# (including org.junit.platform:junit-platform-console-standalone).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JAVA_HOME=$("$root/scripts/find-jdk.sh" 25) || exit 1
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
# java.management and jdk.management for JMH, jdk.jfr for the runtime's events, jdk.unsupported for
# JMH's Unsafe use, java.logging and java.xml for JUnit's launcher and reports
# java.desktop for the report's PNG plots (XChart draws with Java2D, headless)
MODULES=java.base,java.logging,java.management,jdk.management,jdk.jfr,jdk.unsupported,java.xml,java.desktop

mvn -o -q -B ${MVN_FLAGS:-} -pl bindings,runtime,models,app,bench -am install -DskipTests
out="$root/gpu-bundle"
# the two slow parts (xz of the Java runtime and of oneDNN: minutes on 2 cores) are kept in a cache keyed by
# what they are made of, so a rebuild after a code change takes the Maven build and a copy
cache="${XDG_CACHE_HOME:-$HOME/.cache}/lipa/gpu-bundle"
mkdir -p "$cache"
m2=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
dnnl_jar=$(find "$m2/org/bytedeco/dnnl" -name 'dnnl-*-linux-x86_64.jar' | sort -V | tail -1)
[ -n "$dnnl_jar" ] || { echo "gpu-bundle: oneDNN's linux-x86_64 jar is not in the local Maven repository" >&2; exit 1; }
jdk_key=$(echo "$("$JAVA_HOME/bin/java" -version 2>&1 | head -2) $MODULES" | sha256sum | cut -c1-16)
dnnl_key=$(basename "$dnnl_jar" .jar)
rm -rf "$out"
mkdir -p "$out/lib" "$out/native"
if [ ! -f "$cache/jdk-$jdk_key.tar.xz" ]; then
  work=$(mktemp -d)
  # uncompressed modules, then xz over the whole image: 20 MB where zip-6 inside and xz outside gave 23
  jlink --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files --compress=zip-0 --output "$work/jdk"
  find "$work/jdk" -name '*.so' -exec strip --strip-unneeded {} +
  tar -C "$work" -cf - jdk | xz -T0 -9 > "$cache/jdk-$jdk_key.tar.xz.tmp"
  mv "$cache/jdk-$jdk_key.tar.xz.tmp" "$cache/jdk-$jdk_key.tar.xz"
  rm -rf "$work"
fi
cp "$cache/jdk-$jdk_key.tar.xz" "$out/jdk.tar.xz"
if [ ! -f "$cache/$dnnl_key/libdnnl.so.3.xz" ]; then
  mkdir -p "$cache/$dnnl_key"
  unzip -q -j -o "$dnnl_jar" 'org/bytedeco/dnnl/linux-x86_64/libdnnl.so.3' 'org/bytedeco/dnnl/linux-x86_64/libgomp.so.1' \
    -d "$cache/$dnnl_key"
  xz -T0 -9 "$cache/$dnnl_key/libdnnl.so.3"
fi
cp "$cache/$dnnl_key/libdnnl.so.3.xz" "$cache/$dnnl_key/libgomp.so.1" "$out/native/"
# the app's runtime dependencies include the models' and the runtime's; oneDNN travels as its library alone
# (below); XChart's PDF and SVG writers (pdfbox, fontbox, graphics2d, VectorGraphics2D: 3.9 MB) are left out,
# since Lipa writes PNG
mvn -o -q -B ${MVN_FLAGS:-} -f app/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
  -DexcludeArtifactIds=dnnl,pdfbox,pdfbox-io,fontbox,graphics2d,VectorGraphics2D \
  -DoutputDirectory="$out/lib"
cp models/target/lipa-models-*.jar app/target/lipa-app-*.jar bench/target/lipa-bench-*.jar "$out/lib/"
for jar in org/openjdk/jmh/jmh-core net/sf/jopt-simple/jopt-simple org/apache/commons/commons-math3; do
  found=$(find "$m2/$jar" -name '*.jar' ! -name '*sources*' | sort -V | tail -1)
  [ -n "$found" ] || { echo "gpu-bundle: $jar is not in the local Maven repository" >&2; exit 1; }
  cp "$found" "$out/lib/"
done
mkdir -p "$out/test-classes/runtime" "$out/test-classes/models"
cp -r runtime/target/test-classes/. "$out/test-classes/runtime/"
cp -r models/target/test-classes/. "$out/test-classes/models/"
junit=$(find "$m2/org/junit/platform/junit-platform-console-standalone" -name '*.jar' 2>/dev/null | sort -V | tail -1 || true)
[ -n "$junit" ] || { echo "gpu-bundle: junit-platform-console-standalone is not in the local Maven repository" \
  "(mvn dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.11.4)" >&2; exit 1; }
cp "$junit" "$out/lib/"
cat > "$out/run.sh" <<'RUN'
#!/usr/bin/env bash
# gpu-bundle/run.sh test [junit console options]   e.g. test --select-class org.lipa.backend.gpu.GpuBackendTest
# gpu-bundle/run.sh bench [JMH options]            e.g. bench GpuBench -f 1
# gpu-bundle/run.sh lipa [command and options]     e.g. lipa report --device gpu --out /tmp/report
# gpu-bundle/run.sh java [java arguments]          the bundled java with the jars on the class path
# JAVA_OPTS (for example -Dlipa.gpu.fuzz.cases=5000) is passed to the JVM.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# unpacked outside the bundle (which stays small enough to carry again), once per bundle contents
rt=/tmp/lipa-gpu-bundle-$(cat "$here/jdk.tar.xz" "$here/native/libdnnl.so.3.xz" | cksum | cut -d' ' -f1)
if [ ! -f "$rt/ready" ]; then
  mkdir -p "$rt"
  tar -C "$rt" -xJf "$here/jdk.tar.xz"
  xz -dc "$here/native/libdnnl.so.3.xz" >"$rt/libdnnl.so.3"
  cp "$here/native/libgomp.so.1" "$rt/"
  touch "$rt/ready"
fi
export LIPA_DNNL_LIBRARY="$rt/libdnnl.so.3" LD_LIBRARY_PATH="$rt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cp=$(ls "$here"/lib/*.jar | grep -v console-standalone | tr '\n' ':')
java=("$rt/jdk/bin/java" --enable-native-access=ALL-UNNAMED -Xss8m -Djava.awt.headless=true ${JAVA_OPTS:-})
cmd=${1:-}; shift || true
case "$cmd" in
  test) exec "${java[@]}" -jar "$here"/lib/junit-platform-console-standalone-*.jar execute \
          --class-path "$here/test-classes/runtime:$here/test-classes/models:$cp" --details=tree --disable-banner "$@" ;;
  bench) exec "${java[@]}" -cp "$cp" org.openjdk.jmh.Main -jvm "$rt/jdk/bin/java" \
          -jvmArgsAppend "--enable-native-access=ALL-UNNAMED ${JAVA_OPTS:-}" "$@" ;;
  lipa) exec "${java[@]}" -cp "$cp" org.lipa.app.cli.Main "$@" ;;
  java) exec "${java[@]}" -cp "$cp" "$@" ;;
  *) echo "usage: run.sh test|bench|lipa|java ..." >&2; exit 2 ;;
esac
RUN
chmod +x "$out/run.sh"
du -sh "$out" "$out/jdk.tar.xz" "$out/lib" "$out/native"
