#!/usr/bin/env bash
# GPU machine, device call 1 (~6 min): the export's self-check on the tiny checkpoint and on a
# Qwen2-VL-7B-shaped random one. Carries models/tiny-random-qwen2-vl/tokenizer.json (git-ignored).
#   OUT=... bash scripts/export/gpu/selfcheck.sh     -> $OUT/selfcheck-{tiny,7b}.json, selfcheck.log
# The 7B export skips the fast graphs (33 GB more on a 64 GiB disk); the tiny one checks them.
# Leaves /tmp/ckpt-7b (16.6 GB) for call 2 (browser-7b.sh) while the machine stays warm.
set -uo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../../.."
OUT="${OUT:-/tmp/selfcheck-out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/selfcheck.log") 2>&1
T0=$(date +%s)
step() { echo "== $1 (t=$(( $(date +%s) - T0 )) s)"; }
python3 -c 'import torch, transformers, onnxruntime, numpy; print("torch", torch.__version__, "transformers", transformers.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)'
df -h /tmp | tail -1; free -g | head -2
status=0

step "tiny: checkpoint (model_def, seed 0), export fp32+q4 (reference and fast graphs), self-check"
python3 scripts/export/make_random_checkpoint.py --size tiny --out /tmp/ckpt-tiny || status=1
python3 scripts/export/convert.py --from /tmp/ckpt-tiny --out /tmp/export-tiny --dtypes fp32,q4 || status=1
python3 scripts/export/selfcheck.py --ckpt /tmp/ckpt-tiny --model /tmp/export-tiny --dtype fp32 --out "$OUT/selfcheck-tiny.json" || status=1
python3 scripts/export/selfcheck.py --ckpt /tmp/ckpt-tiny --model /tmp/export-tiny --dtype q4 --out "$OUT/selfcheck-tiny-q4.json" || true

step "7b: random checkpoint (Qwen2-VL-7B-Instruct config, seed 0, bf16)"
[ -f /tmp/ckpt-7b/config.json ] || python3 scripts/export/make_random_checkpoint.py --size 7b --out /tmp/ckpt-7b || status=1
step "7b: export fp32"
rm -rf /tmp/export-7b-fp32
python3 scripts/export/convert.py --from /tmp/ckpt-7b --out /tmp/export-7b-fp32 --dtypes fp32 --no-fast || status=1
du -sh /tmp/export-7b-fp32; ls -l /tmp/export-7b-fp32/onnx
step "7b: self-check fp32 (PyTorch on the GPU, onnxruntime CPU), 16 greedy tokens"
python3 scripts/export/selfcheck.py --ckpt /tmp/ckpt-7b --model /tmp/export-7b-fp32 --dtype fp32 --tokens 16 --out "$OUT/selfcheck-7b.json" || status=1
rm -rf /tmp/export-7b-fp32   # 33 GB: the disk is 64 GiB
step "done, status $status"
exit $status
