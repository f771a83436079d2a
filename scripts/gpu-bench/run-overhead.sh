#!/usr/bin/env bash
# On the GPU machine, no export needed (~2 min): where decode time goes. CUDA launch/sync latency and
# a bf16 GEMV chain of the 2B text weights (overhead.py), Dawn submit/readback latency (overhead.mjs),
# and the tiny model's decode through onnxruntime-web on Dawn (webgpu_bench.mjs: 2 layers, so its
# step time is mostly fixed per-step cost).   bash scripts/gpu-bench/run-overhead.sh
set -uo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../.."
C=.gpubench/carry
L=/tmp/gpubench-lib
OUT="${OUT:-/tmp/gpubench-out}"
mkdir -p "$L/webgpu/dist/linux-x64" "$L/ort" "$OUT"
for f in "$C"/*.deb; do dpkg -x "$f" /; done
ldconfig
unxz() { python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$1" "$2"; }
cp -r "$C/lib/." "$L/"
unxz "$C/dawn.node.xz" "$L/webgpu/dist/linux-x64/dawn.node"
unxz "$C/asyncify.wasm.xz" "$L/ort/ort-wasm-simd-threaded.asyncify.wasm"
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then unxz "$C/node.xz" /tmp/node && chmod +x /tmp/node && NODE=/tmp/node; fi
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD" GB_LIB="$L"
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
echo "== overhead.py"
python3 scripts/gpu-bench/overhead.py 2>&1 | tee "$OUT/overhead-torch.json"
echo "== overhead.mjs"
timeout 60 "$NODE" scripts/gpu-bench/overhead.mjs 2>&1 | tee "$OUT/overhead-dawn.json"
echo "== tiny model through onnxruntime-web on Dawn"
W=/tmp/gbt-tiny
mkdir -p "$W"
python3 -c "
import numpy as np
r = np.random.default_rng(1)
r.standard_normal((9, 324, 1176), dtype=np.float32).tofile('$W/pixel_values.f32')
t = r.standard_normal((151936, 16), dtype=np.float32); t.tofile('$W/embed.f32')
t[r.integers(0, 150000, 850)].tofile('$W/prefill_embeds.f32')"
timeout 150 "$NODE" scripts/gpu-bench/webgpu_bench.mjs models/tiny-random-qwen2-vl "$W" 2>&1 | grep -v onnxruntime: | tee "$OUT/tiny-webgpu.log"
