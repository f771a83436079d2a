#!/usr/bin/env bash
# On the GPU machine, after ../shared/gpu-chromium's parts were staged and set up (/opt/chromium/chromium),
# carrying .gpubench/fast/p0 (pack.sh): the whole fast-engine benchmark in one call, < 9 min.
#   bash scripts/gpu-bench/fast/run.sh        -> $OUT/gpu-h200.json, bench.log, chromium.log
set -uo pipefail
cd "$(dirname "$0")/../../.."
OUT="${OUT:-/tmp/fastbench-out}"
mkdir -p "$OUT"
[ -x /opt/chromium/chromium ] || { echo "no /opt/chromium/chromium: run .gpu/s/setup.sh first (same warm machine)"; exit 3; }
export PYTHONUNBUFFERED=1 LD_LIBRARY_PATH="/opt/crlibs:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
nvidia-smi -L
/opt/chromium/chromium --version 2>/dev/null || true
timeout 560 python3 scripts/gpu-bench/fast/bench.py --payload .gpubench/fast/p0 --out "$OUT" --deadline 500 "$@" \
  > "$OUT/bench.log" 2>&1
echo "bench exit $?"
grep -v -E "matmul_nbits|^\s*$" "$OUT/bench.log" | tail -90
