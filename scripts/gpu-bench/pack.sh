#!/usr/bin/env bash
# Here (the development machine): gathers what the GPU machine lacks into .gpubench/carry/ (git-ignored
# via .git/info/exclude), compressed to fit the 64 MiB a device call may carry: a Node binary, Dawn's
# Node binding (npm webgpu, linux-x64 dawn.node), onnxruntime-web's WebGPU build from node_modules
# (the one the app uses) and the Vulkan loader (Debian libvulkan1).
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpubench/' .git/info/exclude || echo '/.gpubench/' >> .git/info/exclude
C=.gpubench/carry
rm -rf "$C" && mkdir -p "$C/lib/webgpu" "$C/lib/ort" /tmp/gpubench-pack
(cd /tmp/gpubench-pack && npm pack --silent webgpu@0.6.2 >/dev/null && tar xzf webgpu-0.6.2.tgz)
cp /tmp/gpubench-pack/package/index.js /tmp/gpubench-pack/package/package.json "$C/lib/webgpu/"
xz -T0 -6 -c /tmp/gpubench-pack/package/dist/linux-x64/dawn.node > "$C/dawn.node.xz"
ORT=node_modules/onnxruntime-web/dist
cp "$ORT/ort.webgpu.min.mjs" "$ORT/ort-wasm-simd-threaded.asyncify.mjs" "$C/lib/ort/"
xz -T0 -6 -c "$ORT/ort-wasm-simd-threaded.asyncify.wasm" > "$C/asyncify.wasm.xz"
xz -T0 -9e -c "$(readlink -f "$(command -v node)")" > "$C/node.xz"
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
apt-get $o update >/dev/null
# The NVIDIA Vulkan ICD (libGLX_nvidia) needs libglvnd beside the loader.
(cd "$C" && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 2>/dev/null)
du -sh "$C"
