#!/usr/bin/env bash
# GPU machine: the export's self-check for Qwen2.5-VL checkpoints (transformers 5.17's
# Qwen2_5_VLForConditionalGeneration vs onnxruntime on the converted graphs, positions as the app
# computes them). Carries models/tiny-random-qwen2-vl/tokenizer.json (git-ignored).
#   OUT=... bash scripts/export/gpu/selfcheck25.sh tiny  (~2 min) -> $OUT/selfcheck25-tiny-*.json, selfcheck25-tiny.log
#   OUT=... bash scripts/export/gpu/selfcheck25.sh 7b    (~7 min) -> $OUT/selfcheck25-7b.json, selfcheck25-7b.log
# tiny: the committed tiny Qwen2.5-VL as a checkpoint (make_random_checkpoint.py --size tiny25, its
# exact weights), exported fp32 + q4, self-checked on the still-only case and two clips (6 and 16
# frames: second_per_grid_ts 1.1 and 1.229 s). 7b: a Qwen2.5-VL-7B-Instruct-shaped random checkpoint
# (--size 7b25, bf16, ~16.6 GB), fp32 export (~33 GB, removed after), self-check fp32, 16 tokens.
set -uo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
WHAT="${1:-tiny}"
OUT="${OUT:-/tmp/selfcheck25-out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/selfcheck25-$WHAT.log") 2>&1
T0=$(date +%s)
step() { echo "== $1 (t=$(( $(date +%s) - T0 )) s)"; }
python3 -c 'import torch, transformers, onnxruntime, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)'
status=0
case "$WHAT" in
tiny)
  step "tiny25: checkpoint (the committed weights), export fp32+q4"
  python3 scripts/export/make_random_checkpoint.py --size tiny25 --out /tmp/ckpt-tiny25 || status=1
  python3 scripts/export/convert.py --from /tmp/ckpt-tiny25 --out /tmp/export-tiny25 --dtypes fp32,q4 || status=1
  # the cases whose frames are committed (e2e/fixtures/reference keeps only the still of the 16-frame clips)
  for c in still-sample5 clip-f71fb12c; do
    step "tiny25: self-check fp32, $c"
    python3 scripts/export/selfcheck.py --ckpt /tmp/ckpt-tiny25 --model /tmp/export-tiny25 --dtype fp32 --case "$c" \
      --out "$OUT/selfcheck25-tiny-$c.json" || status=1
  done
  step "tiny25: self-check q4 (reported), clip-f71fb12c"
  python3 scripts/export/selfcheck.py --ckpt /tmp/ckpt-tiny25 --model /tmp/export-tiny25 --dtype q4 \
    --out "$OUT/selfcheck25-tiny-q4.json" || true
  ;;
7b)
  step "7b25: random checkpoint (Qwen2.5-VL-7B-Instruct config, seed 0, bf16)"
  [ -f /tmp/ckpt-7b25/config.json ] || python3 scripts/export/make_random_checkpoint.py --size 7b25 --out /tmp/ckpt-7b25 || status=1
  step "7b25: export fp32"
  rm -rf /tmp/export-7b25-fp32
  python3 scripts/export/convert.py --from /tmp/ckpt-7b25 --out /tmp/export-7b25-fp32 --dtypes fp32 || status=1
  du -sh /tmp/export-7b25-fp32
  step "7b25: self-check fp32 (PyTorch on the GPU, onnxruntime CPU), 16 greedy tokens"
  python3 scripts/export/selfcheck.py --ckpt /tmp/ckpt-7b25 --model /tmp/export-7b25-fp32 --dtype fp32 --tokens 16 \
    --out "$OUT/selfcheck25-7b.json" || status=1
  rm -rf /tmp/export-7b25-fp32 # 33 GB: the disk is 64 GiB
  ;;
*) echo "usage: selfcheck25.sh tiny|7b"; exit 2 ;;
esac
step "done, status $status"
exit $status
