#!/usr/bin/env bash
# Builds the C baselines of the benchmark suite into native/bench/build/ (never committed):
#   ops       C-direct oneDNN for the op-throughput figures (OpBench)
#   downcall  the C floor of the downcall figures (DowncallBench)
#   peak      fp32 FMA GFLOP/s and memory bandwidth on 1 and 2 threads
#   libbench_native.so  an empty function, the downcall helpers and their JNI wrappers (JniBaseline)
# They link the very libdnnl.so.3 file Lipa loads (DnnlLibrary's cache) and compile against the headers in
# the same Maven artifact. bench/suite.sh calls this; by hand:
#   native/bench/build.sh [DIR_OF_LIBDNNL]      (default: ~/.cache/lipa/native/dnnl-<dnnl.version>)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/build"
mkdir -p "$out"

version=$(sed -n 's:.*<dnnl.version>\(.*\)</dnnl.version>.*:\1:p' "$root/pom.xml" | head -1)
libdir=${1:-${LIPA_DNNL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lipa/native/dnnl-$version}}
if [ ! -f "$libdir/libdnnl.so.3" ]; then
  echo "build.sh: no libdnnl.so.3 in $libdir; run Lipa once (or bench/suite.sh, which does) to extract it" >&2
  exit 1
fi

jar="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}/org/bytedeco/dnnl/$version/dnnl-$version-linux-x86_64.jar"
inc="$out/include"
if [ ! -f "$inc/oneapi/dnnl/dnnl.h" ] || [ "$jar" -nt "$inc/oneapi/dnnl/dnnl.h" ]; then
  [ -f "$jar" ] || { echo "build.sh: $jar missing (build Lipa once to fetch it)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  unzip -q "$jar" 'org/bytedeco/dnnl/linux-x86_64/include/*' -d "$tmp"
  rm -rf "$inc"
  mv "$tmp/org/bytedeco/dnnl/linux-x86_64/include" "$inc"
fi

java_home=${JAVA_HOME:-$("$root/scripts/find-jdk.sh" 25)}
CC=${CC:-gcc}
flags=(-O2 -march=native -std=gnu11 -Wall -Wextra -Wno-unused-function -Wno-missing-field-initializers -I"$inc" -I"$here")
link=(-L"$libdir" -l:libdnnl.so.3 -Wl,-rpath,"$libdir")

$CC "${flags[@]}" -fPIC -shared -fvisibility=hidden -I"$java_home/include" -I"$java_home/include/linux" \
  -o "$out/libbench_native.so" "$here/bench_native.c" "${link[@]}"
$CC "${flags[@]}" -o "$out/downcall" "$here/downcall.c" -L"$out" -l:libbench_native.so -Wl,-rpath,"$out" "${link[@]}"
$CC "${flags[@]}" -o "$out/ops" "$here/ops.c" "${link[@]}"
$CC "${flags[@]}" -pthread -o "$out/peak" "$here/peak.c"
echo "$libdir" > "$out/dnnl-dir.txt"
echo "build.sh: built ops, downcall, peak and libbench_native.so in $out against $libdir/libdnnl.so.3" >&2
