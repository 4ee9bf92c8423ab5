#!/usr/bin/env bash
# Regenerates the committed jextract bindings from the headers of the exact native artifacts we use.
# Needs `jextract` on the PATH (build it from openjdk/jextract; it is not committed here) and Maven.
#   native/regen-bindings.sh            regenerate every library with an args file
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v jextract >/dev/null || { echo "regen-bindings: jextract is not on the PATH" >&2; exit 1; }

dnnl_version=$(sed -n 's:.*<dnnl.version>\(.*\)</dnnl.version>.*:\1:p' "$root/pom.xml")
jar="$HOME/.m2/repository/org/bytedeco/dnnl/$dnnl_version/dnnl-$dnnl_version-linux-x86_64.jar"
if [ ! -f "$jar" ]; then
  mvn -q dependency:get -Dartifact="org.bytedeco:dnnl:$dnnl_version:jar:linux-x86_64" -Dtransitive=false
fi
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
unzip -q "$jar" 'org/bytedeco/dnnl/linux-x86_64/include/*' -d "$work"
inc="$work/org/bytedeco/dnnl/linux-x86_64/include"

out="$root/bindings/src/main/java"
rm -rf "$out/org/lipa/bindings/dnnl"
# No --library: the generated code resolves symbols with SymbolLookup.loaderLookup(), and the runtime
# (DnnlLibrary) loads the verified library it extracted, so the bindings never search the system.
# --dump-includes lists every symbol; the args file keeps the ones we use. Warnings about opaque
# structs (dnnl_engine, ...) are expected: they are only ever handled through pointers.
jextract -I "$inc" --output "$out" @"$root/native/jextract/dnnl.args" "$inc/oneapi/dnnl/dnnl.h"

v() { sed -n "s/#define DNNL_VERSION_$1 \([0-9]*\).*/\1/p" "$inc/oneapi/dnnl/dnnl_version.h"; }
hash=$(sed -n 's/^#define DNNL_VERSION_HASH *"\(.*\)".*/\1/p' "$inc/oneapi/dnnl/dnnl_version_hash.h")
{
  echo "# Versions the committed bindings were generated from (written by native/regen-bindings.sh)"
  echo "oneDNN $(v MAJOR).$(v MINOR).$(v PATCH) (git $hash)"
  echo "artifact org.bytedeco:dnnl:$dnnl_version:linux-x86_64"
  echo "jextract source openjdk/jextract (commit ${JEXTRACT_COMMIT:-unrecorded}); libclang from Debian"
  echo "$(jextract --version 2>&1 | tr '\n' ';' | sed 's/;$//')"
  echo "generated $(date -u +%Y-%m-%d)"
} > "$root/native/VERSIONS"
echo "regenerated $(find "$out/org/lipa/bindings/dnnl" -name '*.java' | wc -l) files into bindings/"
