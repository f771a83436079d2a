#!/usr/bin/env bash
# GPU machine, device call 2 (~5 min), right after call 1 and after Chromium was staged and set up
# (../shared/gpu-chromium/README.md: parts p0..pN, then .gpu/s/setup.sh): export the 7B-shaped
# checkpoint at q4 (+ an fp16 embed_tokens; no fast graphs: the hub layout, as a user downloads it) and load it in real Chromium on the H200 through the
# app's harness. Carries .device/site.tar.xz, .device/runargs.json (scripts/export/gpu/pack.sh) and
# models/tiny-random-qwen2-vl/tokenizer.json.
#   OUT=... bash scripts/export/gpu/browser-7b.sh     -> $OUT/browser-7b.json, browser-7b.log
set -uo pipefail
export PYTHONUNBUFFERED=1 LD_LIBRARY_PATH="/opt/crlibs:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"  # the set-up script's libraries, as run.sh
cd "$(dirname "$0")/../../.."
OUT="${OUT:-/tmp/browser-out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/browser-7b.log") 2>&1
T0=$(date +%s)
step() { echo "== $1 (t=$(( $(date +%s) - T0 )) s)"; }
[ -f /tmp/ckpt-7b/config.json ] || { step "7b checkpoint (call 1's is gone: remade)"; python3 scripts/export/make_random_checkpoint.py --size 7b --out /tmp/ckpt-7b; }
step "7b: export q4 + embed_tokens fp16"
M=/tmp/models/qwen2-vl-7b-random
rm -rf "$M"
python3 scripts/export/convert.py --from /tmp/ckpt-7b --out "$M" --dtypes q4 --also embed_tokens:fp16 --no-fast || exit 1
du -sh "$M"; ls -l "$M/onnx"
step "site"
rm -rf /tmp/site && mkdir -p /tmp/site && tar -xJf .device/site.tar.xz -C /tmp/site
step "Chromium on the H200: three load configurations"
python3 scripts/export/gpu/browser_load.py --chromium "${CHROMIUM:-/opt/chromium/chromium}" --site /tmp/site \
  --models /tmp/models --model qwen2-vl-7b-random --runargs .device/runargs.json --out "$OUT/browser-7b.json"
step "done"
