#!/usr/bin/env bash
# Regenerates the committed oneDNN bindings (bindings/src/main/java/org/lipa/bindings/dnnl) from the
# headers inside the exact Maven artifact whose libdnnl.so.3 the runtime loads, and rewrites
# native/VERSIONS. Needs `jextract` on the PATH (see native/README.md) and unzip; Maven only when the
# artifact is not in the local repository yet.
#
#   native/regen-bindings.sh          # oneDNN (the default)
#   native/regen-bindings.sh cuda     # the CUDA runtime, cuBLAS, cuBLASLt, cuDNN and NVRTC (org.lipa.bindings.cu*, nvrtc)
#
# The CUDA headers: CUDA_INCLUDE (default /usr/local/cuda/include, else the newest /usr/local/cuda-*/include)
# holds cuda_runtime_api.h; CUBLAS_INCLUDE, CUDNN_INCLUDE and NVRTC_INCLUDE hold cublas_v2.h (and cublasLt.h),
# cudnn.h and nvrtc.h. Any of the last three left unset comes from the NVIDIA wheels named in native/VERSIONS, taken
# from WHEELS (a folder of .whl files) or fetched with `pip download` into a temporary folder.
#
# Env: JEXTRACT_COMMIT  the openjdk/jextract commit your jextract was built from (recorded in
#                       VERSIONS; found automatically when jextract's install has a COMMIT file).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

what=${1:-dnnl}
case "$what" in dnnl|cuda) ;; *) echo "usage: native/regen-bindings.sh [dnnl|cuda]" >&2; exit 2 ;; esac

if ! command -v jextract >/dev/null 2>&1; then
  echo "regen-bindings: 'jextract' is not on the PATH." >&2
  echo "  Build it from https://github.com/openjdk/jextract (see native/README.md) and retry." >&2
  echo "  The committed bindings stay as they are; building Lipa does not need jextract." >&2
  exit 1
fi
command -v unzip >/dev/null 2>&1 || { echo "regen-bindings: 'unzip' is needed" >&2; exit 1; }

if [ "$what" = cuda ]; then
  exec "$root/native/regen-cuda-bindings.sh"
fi

# The artifact version is the one the build uses, read from the root pom so they cannot drift.
dnnl_version=$(sed -n 's:.*<dnnl.version>\(.*\)</dnnl.version>.*:\1:p' "$root/pom.xml" | head -1)
[ -n "$dnnl_version" ] || { echo "regen-bindings: no <dnnl.version> in $root/pom.xml" >&2; exit 1; }
artifact="org.bytedeco:dnnl:$dnnl_version:jar:linux-x86_64"
m2=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
jar="$m2/org/bytedeco/dnnl/$dnnl_version/dnnl-$dnnl_version-linux-x86_64.jar"
if [ ! -f "$jar" ]; then
  echo "regen-bindings: fetching $artifact with Maven" >&2
  mvn -q dependency:get -Dartifact="$artifact" -Dtransitive=false -Dmaven.repo.local="$m2"
fi
[ -f "$jar" ] || { echo "regen-bindings: $jar not found after mvn dependency:get" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unzip -q "$jar" 'org/bytedeco/dnnl/linux-x86_64/include/*' -d "$work"
inc="$work/org/bytedeco/dnnl/linux-x86_64/include"

# Generate into a scratch dir first, so a failing jextract leaves the committed bindings untouched.
# jextract warns "Skipping dnnl_engine (type Declared(dnnl_engine) is not supported)" and the like for
# the opaque handle structs: expected, they are only ever handled through pointers.
jextract -I "$inc" --output "$work/out" @"$root/native/jextract/dnnl.args" "$inc/oneapi/dnnl/dnnl.h"
pkg=org/lipa/bindings/dnnl
out="$root/bindings/src/main/java"
[ -f "$work/out/$pkg/dnnl_h.java" ] || { echo "regen-bindings: jextract produced no dnnl_h.java" >&2; exit 1; }
rm -rf "${out:?}/$pkg"
mkdir -p "$out/$pkg"
cp "$work/out/$pkg"/*.java "$out/$pkg/"

# Record where the bindings came from.
v() { sed -n "s/^#define DNNL_VERSION_$1 \([0-9]*\).*/\1/p" "$inc/oneapi/dnnl/dnnl_version.h"; }
hash=$(sed -n 's/^#define DNNL_VERSION_HASH *"\(.*\)".*/\1/p' "$inc/oneapi/dnnl/dnnl_version_hash.h")
jx_home=$(dirname "$(readlink -f "$(command -v jextract)")")/..
jx_commit=${JEXTRACT_COMMIT:-$(cat "$jx_home/COMMIT" 2>/dev/null || echo "unrecorded (set JEXTRACT_COMMIT)")}
jx_version=$(jextract --version 2>&1)
{
  echo "# Versions the committed bindings in bindings/src/main/java/$pkg were generated from."
  echo "# Written by native/regen-bindings.sh; do not edit by hand."
  echo "onednn.version=$(v MAJOR).$(v MINOR).$(v PATCH)"
  echo "onednn.git.hash=$hash"
  echo "onednn.headers=oneapi/dnnl/dnnl.h from the artifact below"
  echo "maven.artifact=$artifact"
  echo "jextract.source=https://github.com/openjdk/jextract"
  echo "jextract.commit=$jx_commit"
  echo "jextract.version=$(echo "$jx_version" | sed -n 's/^jextract //p')"
  echo "jextract.jdk=$(echo "$jx_version" | sed -n 's/^JDK version //p')"
  echo "libclang.version=$(echo "$jx_version" | sed -n 's/^LibClang version //p')"
  echo "generated.date=$(date -u +%Y-%m-%d)"
  # the CUDA lines belong to native/regen-cuda-bindings.sh: kept as they are
  grep '^cuda\.\|^cublas\.\|^cublaslt\.\|^cudnn\.\|^nvrtc\.' "$root/native/VERSIONS" || true
} > "$work/VERSIONS"
cp "$work/VERSIONS" "$root/native/VERSIONS"

n=$(find "$out/$pkg" -name '*.java' | wc -l)
kib=$(du -sk "$out/$pkg" | cut -f1)
echo "regen-bindings: wrote $n files ($kib KiB) to bindings/src/main/java/$pkg and native/VERSIONS"
