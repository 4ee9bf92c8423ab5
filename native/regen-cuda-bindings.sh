#!/usr/bin/env bash
# Regenerates the committed CUDA bindings (bindings/src/main/java/org/lipa/bindings/{cudart,cublas,cublaslt,cudnn,nvrtc})
# from the argument files in native/jextract and rewrites the CUDA lines of native/VERSIONS. Called by
# `native/regen-bindings.sh cuda`; see there for where the headers come from.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v jextract >/dev/null 2>&1 || { echo "regen-cuda-bindings: 'jextract' is not on the PATH" >&2; exit 1; }

# The NVIDIA wheels whose headers the bindings were generated from (their libraries are what pip installs).
CUBLAS_WHEEL=nvidia-cublas==13.1.1.3
CUDNN_WHEEL=nvidia-cudnn-cu13==9.24.0.43
NVRTC_WHEEL=nvidia-cuda-nvrtc==13.0.88

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cuda_inc=${CUDA_INCLUDE:-}
if [ -z "$cuda_inc" ]; then
  for d in /usr/local/cuda/include $(ls -d /usr/local/cuda-*/include 2>/dev/null | sort -V -r); do
    [ -f "$d/cuda_runtime_api.h" ] && { cuda_inc=$d; break; }
  done
fi
[ -f "${cuda_inc:-}/cuda_runtime_api.h" ] || { echo "regen-cuda-bindings: no cuda_runtime_api.h: install the CUDA toolkit or set CUDA_INCLUDE" >&2; exit 1; }

# headers of one wheel: from $WHEELS, else pip download (prints the include folder; fails with a message)
wheel_include() { # <requirement> <folder inside the wheel>
  local req=$1 sub=$2 name=${1%%==*} whl
  whl=$(ls "${WHEELS:-/nonexistent}"/"${name//-/_}"-"${req##*==}"-*.whl 2>/dev/null | head -1 || true)
  if [ -z "$whl" ]; then
    if ! python3 -m pip --version >/dev/null 2>&1; then
      echo "regen-cuda-bindings: no $req wheel in WHEELS='${WHEELS:-}' and no pip to fetch it" >&2; return 1
    fi
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d "$work/wheels" "$req" >&2 || true
    whl=$(ls "$work/wheels/${name//-/_}"-*.whl 2>/dev/null | head -1 || true)
    [ -n "$whl" ] || { echo "regen-cuda-bindings: 'pip download $req' failed: set WHEELS to a folder with the wheel, or the *_INCLUDE variable" >&2; return 1; }
  fi
  unzip -q -o "$whl" "nvidia/*/include/*" -d "$work/h" || { echo "regen-cuda-bindings: cannot unzip the headers of $whl" >&2; return 1; }
  echo "$work/h/nvidia/$sub/include"
}
cublas_inc=${CUBLAS_INCLUDE:-$(wheel_include "$CUBLAS_WHEEL" cu13)}
nvrtc_inc=${NVRTC_INCLUDE:-$(wheel_include "$NVRTC_WHEEL" cu13)}
cudnn_inc=${CUDNN_INCLUDE:-$(wheel_include "$CUDNN_WHEEL" cudnn)}
need() { # <folder> <header> <what sets it>
  [ -f "$1/$2" ] || { echo "regen-cuda-bindings: no $2 in '$1': set $3 to the folder holding it (or WHEELS to a folder with the wheels)" >&2; exit 1; }
}
need "$cublas_inc" cublas_v2.h CUBLAS_INCLUDE
need "$cublas_inc" cublas_api.h CUBLAS_INCLUDE
need "$cublas_inc" cublasLt.h CUBLAS_INCLUDE
need "$nvrtc_inc" nvrtc.h NVRTC_INCLUDE
need "$cudnn_inc" cudnn.h CUDNN_INCLUDE
need "$cudnn_inc" cudnn_version.h CUDNN_INCLUDE

out="$root/bindings/src/main/java"
gen() { # <lib> <header>
  jextract -I "$cuda_inc" -I "$cublas_inc" -I "$cudnn_inc" -I "$nvrtc_inc" --output "$work/out" \
    @"$root/native/jextract/$1.args" "$2" 2>&1 | grep -v "warning: Skipping" || true
  [ -f "$work/out/org/lipa/bindings/$1/$1_h.java" ] || { echo "regen-cuda-bindings: jextract produced no $1_h.java" >&2; exit 1; }
}
gen cudart "$cuda_inc/cuda_runtime_api.h"
gen cublas "$cublas_inc/cublas_v2.h"
gen cublaslt "$cublas_inc/cublasLt.h"
gen cudnn "$cudnn_inc/cudnn.h"
gen nvrtc "$nvrtc_inc/nvrtc.h"
for lib in cudart cublas cublaslt cudnn nvrtc; do
  rm -rf "${out:?}/org/lipa/bindings/$lib"
  mkdir -p "$out/org/lipa/bindings/$lib"
  cp "$work/out/org/lipa/bindings/$lib"/*.java "$out/org/lipa/bindings/$lib/"
done

def() { sed -n "s/^#define $2 *\([0-9]*\).*/\1/p" "$1" | head -1; }
cudart=$(def "$cuda_inc/cuda_runtime_api.h" CUDART_VERSION)
{
  grep -v '^cuda\.\|^cublas\.\|^cublaslt\.\|^cudnn\.\|^nvrtc\.' "$root/native/VERSIONS" || true
  echo "cuda.runtime.version=$((cudart / 1000)).$(((cudart % 1000) / 10)) (cuda_runtime_api.h from $cuda_inc)"
  cublas_version=$(def "$cublas_inc/cublas_api.h" CUBLAS_VER_MAJOR).$(def "$cublas_inc/cublas_api.h" CUBLAS_VER_MINOR).$(def "$cublas_inc/cublas_api.h" CUBLAS_VER_PATCH)
  echo "cublas.version=$cublas_version (wheel $CUBLAS_WHEEL)"
  # cublasLt.h has no version macros of its own: it ships in the cuBLAS wheel and is versioned with it
  echo "cublaslt.version=$cublas_version (cublasLt.h from wheel $CUBLAS_WHEEL)"
  echo "cudnn.version=$(def "$cudnn_inc/cudnn_version.h" CUDNN_MAJOR).$(def "$cudnn_inc/cudnn_version.h" CUDNN_MINOR).$(def "$cudnn_inc/cudnn_version.h" CUDNN_PATCHLEVEL) (wheel $CUDNN_WHEEL)"
  echo "nvrtc.version=${NVRTC_WHEEL##*==} (wheel $NVRTC_WHEEL)"
  echo "cuda.generated.date=$(date -u +%Y-%m-%d)"
} > "$work/VERSIONS"
cp "$work/VERSIONS" "$root/native/VERSIONS"
echo "regen-cuda-bindings: wrote $(find "$out/org/lipa/bindings"/{cudart,cublas,cublaslt,cudnn,nvrtc} -name '*.java' | wc -l) files and native/VERSIONS"
