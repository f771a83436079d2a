#!/usr/bin/env bash
# On the GPU machine (device `run`, carrying .gpubench/carry): unpacks Node, Dawn, onnxruntime-web and
# the Vulkan loader, checks that Dawn sees the NVIDIA GPU, then gpu_bench.py exports the 2b graphs
# (fp32 + q4) and times PyTorch bf16, WebGPU (Dawn) and checks WebGPU against onnxruntime CPU.
#   bash scripts/gpu-bench/run.sh        (results: $OUT/gpu-bench.json and the log)
set -uo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/../.."
C=.gpubench/carry
L=/tmp/gpubench-lib
OUT="${OUT:-/tmp/gpubench-out}"
mkdir -p "$L/webgpu/dist/linux-x64" "$L/ort" "$OUT"
exec > >(tee "$OUT/setup.log") 2>&1
for f in "$C"/*.deb; do dpkg -x "$f" /; done
ldconfig
unxz() { python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],'wb'))" "$1" "$2"; }
cp -r "$C/lib/." "$L/"
unxz "$C/dawn.node.xz" "$L/webgpu/dist/linux-x64/dawn.node"
unxz "$C/asyncify.wasm.xz" "$L/ort/ort-wasm-simd-threaded.asyncify.wasm"
NODE=$(command -v node || true)
if [ -z "$NODE" ]; then unxz "$C/node.xz" /tmp/node && chmod +x /tmp/node && NODE=/tmp/node; fi
echo "node: $NODE $($NODE -v)"
nvidia-smi -L
ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$ICD" ] || ICD=$(ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1)
echo "vulkan ICD: ${ICD:-none found}"
cat "$ICD" 2>/dev/null
ls /usr/local/nvidia/lib64 2>/dev/null | grep -i -E "glx|vulkan|egl" | head
export VK_DRIVER_FILES="$ICD" VK_ICD_FILENAMES="$ICD" GB_LIB="$L"
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
"$NODE" --input-type=module -e "
import { create } from '$L/webgpu/index.js';
const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
console.log('Dawn adapter:', a ? [a.info.vendor, a.info.architecture, a.info.description, a.info.isFallbackAdapter] : null);
process.exit(a && !a.info.isFallbackAdapter ? 0 : 3);" || { echo "no real GPU adapter under Dawn: stopping before the export"; exit 3; }
python3 scripts/gpu-bench/gpu_bench.py --node "$NODE" --out "$OUT" > "$OUT/gpu-bench.log" 2>&1
grep -v -E "matmul_nbits_quantizer|^\s*$" "$OUT/gpu-bench.log" | tail -80
