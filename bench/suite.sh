#!/usr/bin/env bash
# Runs the whole benchmark suite and writes its tables into bench/RESULTS.md (between the markers; the rest
# of the file is kept). Run it on an idle machine; it takes about 17 minutes with the peers here.
#
#   bench/suite.sh [--quick] [--peers] [--skip-jmh] [-- JMH options]
#
#   --quick     one short iteration of everything: checks that the suite works, measures nothing worth quoting
#   --peers     also PyTorch (/usr/bin/python3 with Debian's python3-torch) and the JVM peers ND4J and DJL
#               (Maven profile `peers`, which downloads them from Maven Central the first time)
#   --skip-jmh  only the C programs, the peers and the writer (reuses nothing: JMH rows stay empty)
#
# Steps: build Lipa (mvn package) -> describe the machine (org.lipa.bench.Machine, which also extracts the
# libdnnl.so.3 Lipa loads) -> build native/bench against that library -> peak, C floor and C-direct programs
# -> JMH (DowncallBench OpBench PrimitiveCreationBench MlpJacobianBench TrainStepBench) -> peers -> the writer
# (org.lipa.bench.Results). Raw outputs stay in bench/target/results/.
# Threads: OMP_NUM_THREADS (default: every processor) is exported to all of them alike. OMP_WAIT_POLICY or
# GOMP_SPINCOUNT (default 10000, Lipa's own default) apply to Lipa, the C programs and the JVM peers; PyTorch runs with PYTORCH_OMP_WAIT_POLICY (default
# PASSIVE, its best setting here), quoted in the results.
# Env: MVN_FLAGS (e.g. -o for an offline build), BENCH_SECONDS (C programs' seconds per figure, default 2).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0 peers=0 jmh=1
jmh_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --peers) peers=1 ;;
    --skip-jmh) jmh=0 ;;
    --) shift; jmh_extra=("$@"); break ;;
    *) echo "suite.sh: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done

JAVA_HOME=$("$root/scripts/find-jdk.sh" 25) || exit 1
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
# Lipa sets GOMP_SPINCOUNT=10000 for itself when neither OpenMP wait setting is given (see OpenMp.java);
# export it so the C programs and the JVM peers wait the same way
if [ -z "${OMP_WAIT_POLICY:-}" ] && [ -z "${GOMP_SPINCOUNT:-}" ]; then export GOMP_SPINCOUNT=10000; fi
out="$root/bench/target/results"
rm -rf "$out"
mkdir -p "$out"
say() { echo "suite.sh: $*" >&2; }

say "building Lipa"
# shellcheck disable=SC2086
"$root/mvnw" -B -ntp -q -f "$root/pom.xml" ${MVN_FLAGS:-} -Dmaven.test.skip=true package >&2
cp="$root/bench/target/classes:$(cat "$root/bench/target/classpath.txt")"
java --enable-native-access=ALL-UNNAMED -cp "$cp" org.lipa.bench.Machine > "$out/machine.json"
lib=$(sed -n 's/.*"onednn_library":"\([^"]*\)".*/\1/p' "$out/machine.json")
"$root/native/bench/build.sh" "$(dirname "$lib")"
nb="$root/native/bench/build"

if [ "$quick" = 1 ]; then
  export BENCH_SECONDS=${BENCH_SECONDS:-0.2}
  jmh_opts=(-f 1 -wi 1 -i 1 -w 1 -r 1)
  py_seconds=0.5
else
  jmh_opts=()
  py_seconds=10
fi

say "C programs: peak, downcall floor, C-direct ops"
"$nb/peak" > "$out/peak.jsonl"
"$nb/downcall" > "$out/c-downcall.jsonl"
"$nb/ops" > "$out/c-ops.jsonl"

if [ "$jmh" = 1 ]; then
  say "JMH"
  java -cp "$cp" org.openjdk.jmh.Main 'org\.lipa\.bench\.(DowncallBench|OpBench|PrimitiveCreationBench|MlpJacobianBench|TrainStepBench)\.' \
    "${jmh_opts[@]}" -rf json -rff "$out/jmh.json" \
    -jvmArgsAppend "--enable-native-access=ALL-UNNAMED -Dlipa.bench.native=$nb" "${jmh_extra[@]}" >&2
fi

if [ "$peers" = 1 ]; then
  py_wait=${PYTORCH_OMP_WAIT_POLICY:-PASSIVE}
  say "PyTorch (OMP_NUM_THREADS=$OMP_NUM_THREADS OMP_WAIT_POLICY=$py_wait)"
  for script in ops.py mlp.py train_step.py; do
    OMP_WAIT_POLICY=$py_wait /usr/bin/python3 "$root/bench/peers/pytorch/$script" --json --seconds "$py_seconds" >> "$out/pytorch.jsonl"
  done
  say "JVM peers (Maven profile peers: ND4J, DJL)"
  # built into bench/target/peers (see the profile in bench/pom.xml); bench/target stays the normal build's
  # shellcheck disable=SC2086
  "$root/mvnw" -B -ntp -q -f "$root/pom.xml" ${MVN_FLAGS:-} -P peers -pl bench -Dmaven.test.skip=true package >&2
  cp_peers="$root/bench/target/peers/classes:$(cat "$root/bench/target/peers/classpath.txt")"
  java -cp "$cp_peers" org.openjdk.jmh.Main 'org\.lipa\.bench\.peers\.' "${jmh_opts[@]}" -rf json -rff "$out/jmh-peers.json" \
    -jvmArgsAppend "--enable-native-access=ALL-UNNAMED -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=$OMP_NUM_THREADS -Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2" \
    "${jmh_extra[@]}" >&2
fi

java -cp "$cp" org.lipa.bench.Results "$out" "$root/bench/RESULTS.md"
say "wrote bench/RESULTS.md (raw results in $out)"
