#!/usr/bin/env bash
# The GPU checks, run on a GPU machine from the repository root with gpu-bundle/ (scripts/gpu-bundle.sh)
# beside it; builds nothing there. Writes logs and results under /tmp/lipa-gpu-check, packs them into
# results.tar.gz and copies that and summary.txt to $OUT when it is set (a device machine returns few files);
# prints a short summary last.
#
#   scripts/gpu-check.sh tests     the GPU tests (runtime and models), then the fuzz singly for seeds 1-4,
#                                  each in its own JVM under a hard timeout with a trace file of its cases
#   scripts/gpu-check.sh micro     GpuBench against bench/peers/pytorch/gpu.py, side by side (the HVP and
#                                  Adam-step rows measured longer)
#   scripts/gpu-check.sh report    lipa report --device gpu, then --device cpu, on MNIST from $MNIST_DIR
#                                  (IDX files, plain, .gz or .xz), and the report's figures compared; the GPU
#                                  image has no fonts for the plots: FONT_DEBS names a folder with Debian's
#                                  packages, fetched here by `apt-get download fonts-dejavu-core libfontconfig1
#                                  fontconfig-config libfreetype6 libpng16-16 libbrotli1 libexpat1`
#   scripts/gpu-check.sh analysis  GpuAnalysisBench against bench/peers/pytorch/gpu_analysis.py
# Several phases may be given; they run in the order given.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=/tmp/lipa-gpu-check
logs="$out/logs"
mkdir -p "$logs"
bundle="$root/gpu-bundle"
run="$bundle/run.sh"
summary="$logs/summary.txt"
note() { echo "$*" | tee -a "$summary"; }
[ -x "$run" ] || { echo "gpu-check: no $run: build it with scripts/gpu-bundle.sh and carry gpu-bundle" >&2; exit 2; }

elapsed() { # <label> <start seconds>
  note "$1: $(( $(date +%s) - $2 )) s"
}

tests() {
  local t0; t0=$(date +%s)
  # the suite once (its fuzz with the default seed), and the fuzz alone for seeds 1-4, all at once: 16 cores, one GPU
  JAVA_OPTS="-Dlipa.fuzz.trace=$logs/fuzz-default.trace" timeout -k 5 300 "$run" test \
    --select-class org.lipa.backend.gpu.GpuBackendTest --select-class org.lipa.backend.gpu.ViewTest \
    --select-class org.lipa.backend.gpu.KernelCacheTest --select-class org.lipa.models.train.GpuModelsTest \
    --reports-dir "$logs/junit" >"$logs/tests.log" 2>&1 &
  local suite=$!
  local pids=()
  for seed in 1 2 3 4; do
    JAVA_OPTS="-Dlipa.fuzz.seed=$seed -Dlipa.fuzz.trace=$logs/fuzz-$seed.trace" timeout -k 5 240 "$run" test \
      --select-method 'org.lipa.backend.gpu.GpuBackendTest#fuzzedCallsMatchTheReference' >"$logs/fuzz-$seed.log" 2>&1 &
    pids+=($!)
  done
  wait "$suite"; local rc=$?
  note "tests: exit $rc ($( [ $rc = 124 ] && echo 'TIMED OUT' || grep -E 'tests (successful|failed|skipped)' "$logs/tests.log" | tr -s ' ' | tr '\n' ' '))"
  grep -E '✘|MethodSource|AssertionFailed|Exception' "$logs/tests.log" | head -20 | tee -a "$summary"
  for i in 0 1 2 3; do
    wait "${pids[$i]}"; rc=$?
    local seed=$((i + 1))
    note "fuzz seed $seed: exit $rc $( [ $rc = 124 ] && echo "TIMED OUT at: $(tail -1 "$logs/fuzz-$seed.trace")" ) $(grep -o 'fuzz: [0-9]* cases.*hostile change): [^;]*' "$logs/fuzz-$seed.log" | head -1)"
    [ $rc = 0 ] || grep -E 'AssertionFailed|Exception|fuzz case' "$logs/fuzz-$seed.log" | head -5 | tee -a "$summary"
  done
  elapsed tests "$t0"
}

micro() {
  local t0; t0=$(date +%s)
  "$run" bench 'GpuBench\.(matmul4096F32|matmul4096Bf16|mlpForward|mlpJvp|mlpVjp|mlpPowerStep)$' -f 1 -wi 2 -i 5 \
    -rf json -rff "$logs/gpubench-rows.json" >"$logs/gpubench-rows.log" 2>&1
  # the rows whose error bars were wider than their difference from PyTorch: three times the measurements
  "$run" bench 'GpuBench\.(mlpHvp|trainMlp)$' -f 1 -wi 3 -i 15 -rf json -rff "$logs/gpubench-long.json" >"$logs/gpubench-long.log" 2>&1
  # the matmuls on the legacy cublasGemmStridedBatchedEx path, for the cuBLASLt path's gain
  JAVA_OPTS=-Dlipa.cuda.cublaslt=false "$run" bench 'GpuBench\.matmul4096(F32|Bf16)$' -f 1 -wi 2 -i 5 \
    -rf json -rff "$logs/gpubench-legacy.json" >"$logs/gpubench-legacy.log" 2>&1
  grep -E '^GpuBench\.' "$logs/gpubench-rows.log" "$logs/gpubench-long.log" | sed 's/^[^:]*://' | tee -a "$summary"
  grep -E '^GpuBench\.' "$logs/gpubench-legacy.log" | sed 's/^/legacy cuBLAS path: /' | tee -a "$summary"
  PYTHONUNBUFFERED=1 python3 bench/peers/pytorch/gpu.py --json --seconds 3 >"$logs/pytorch-gpu.jsonl" 2>"$logs/pytorch-gpu.err"
  note "pytorch gpu.py: exit $?"
  python3 - "$logs/pytorch-gpu.jsonl" <<'PY' | tee -a "$summary"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("figure") != "_info":
        print(f"pytorch {r['figure']}: {r['ms']:.4f} ms", {k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()
                                                           if k not in ('source', 'figure', 'ms')})
PY
  elapsed micro "$t0"
}

report() {
  local t0; t0=$(date +%s)
  local data=/tmp/lipa-mnist
  mkdir -p "$data"
  for f in "${MNIST_DIR:?set MNIST_DIR to a folder with the MNIST IDX files}"/*; do
    case "$f" in
      *.xz) xz -dc "$f" >"$data/$(basename "${f%.xz}")" ;;
      *) cp "$f" "$data/" ;;
    esac
  done
  # headless Java2D needs fontconfig and a font: unpack the carried Debian packages where the image has none
  if ! ldconfig -p | grep -q 'libfontconfig.so.1' || [ -z "$(find /usr/share/fonts -name '*.ttf' 2>/dev/null | head -1)" ]; then
    if [ -n "${FONT_DEBS:-}" ]; then
      for d in "$FONT_DEBS"/*.deb; do dpkg -x "$d" /; done
      ldconfig
      note "fonts: unpacked $(ls "$FONT_DEBS" | wc -l) packages ($(find /usr/share/fonts -name "*.ttf" 2>/dev/null | wc -l) TrueType fonts now)"
    else
      note "fonts: none found and FONT_DEBS not set: the plots may fail"
    fi
  fi
  for device in gpu cpu; do
    local r0; r0=$(date +%s)
    timeout -k 5 "${REPORT_TIMEOUT:-200}" "$run" lipa report --device "$device" --data-dir "$data" --out "$out/report-$device" \
      >"$logs/report-$device.log" 2>&1
    note "report --device $device: exit $? in $(( $(date +%s) - r0 )) s"
    grep -E 'took|wrote|on cuda|on cpu|Exception|Error' "$logs/report-$device.log" | grep -v '^\s*at ' | head -20 | tee -a "$summary"
  done
  python3 scripts/compare-reports.py "$out/report-cpu/report.json" "$out/report-gpu/report.json" | tee -a "$summary"
  elapsed report "$t0"
}

analysis() {
  local t0; t0=$(date +%s)
  if [ -f bench/peers/pytorch/gpu_analysis.py ]; then
    # shell words: ANALYSIS_JMH="-wi 1 -i 2" shortens the measurement, ANALYSIS_PY="--seconds 1" PyTorch's
    # shellcheck disable=SC2086
    timeout -k 5 "${ANALYSIS_TIMEOUT:-180}" "$run" bench 'GpuAnalysisBench' -f 1 -p device=gpu ${ANALYSIS_JMH:-} -rf json -rff "$logs/gpu-analysis.json" \
      >"$logs/gpu-analysis.log" 2>&1
    note "GpuAnalysisBench: exit $?"
    grep -E '^GpuAnalysisBench\.|^# GpuAnalysisBench|Exception' "$logs/gpu-analysis.log" | tail -40 | tee -a "$summary"
    # shellcheck disable=SC2086
    PYTHONUNBUFFERED=1 timeout -k 5 "${ANALYSIS_TIMEOUT:-180}" python3 bench/peers/pytorch/gpu_analysis.py --json ${ANALYSIS_PY:-} \
      >"$logs/pytorch-gpu-analysis.jsonl" 2>"$logs/pytorch-gpu-analysis.err"
    note "pytorch gpu_analysis.py: exit $?"
    tail -30 "$logs/pytorch-gpu-analysis.jsonl" | tee -a "$summary"
    tail -5 "$logs/pytorch-gpu-analysis.err" | tee -a "$summary"
  else
    note "analysis: bench/peers/pytorch/gpu_analysis.py is missing"
  fi
  elapsed analysis "$t0"
}

note "gpu-check $(date -u +%FT%TZ): $*"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,temperature.gpu --format=csv,noheader | tee -a "$summary"
note "host: $(nproc) cores; TrueType fonts: $(find /usr/share/fonts -name "*.ttf" 2>/dev/null | wc -l), libfontconfig: $(ldconfig -p | grep -c libfontconfig.so)"
"$run" java -version 2>&1 | head -1 | tee -a "$summary"
for phase in "$@"; do
  case "$phase" in
    tests|micro|report|analysis) "$phase" ;;
    *) echo "gpu-check: unknown phase '$phase' (tests, micro, report, analysis)" >&2; exit 2 ;;
  esac
done
# the files that come back from a device machine are few: one archive of everything, the summary beside it
tar -C "$out" -czf /tmp/lipa-gpu-check-results.tar.gz . 2>/dev/null
if [ -n "${OUT:-}" ]; then
  cp /tmp/lipa-gpu-check-results.tar.gz "$OUT/results.tar.gz"
  cp "$summary" "$OUT/summary.txt"
fi
echo "==== summary"; cat "$summary"
