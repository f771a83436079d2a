#!/usr/bin/env bash
# Here (the development machine): what scripts/gpu-bench/fast/bench.py needs on the GPU machine besides
# the checkout, in .gpubench/fast/p0 (git-ignored), one device call's worth (the checkout's tracked files
# travel with every call too):
#   site/         the production build (vite build), without its copies of models/ and benchmarks/
#   frames/       the 12 example questions' model-ready frames as the app's video stage made them
#                 (npm run eval --dump-frames, 252 x 252, official uint8 rounding; as lossless WebP) and
#   results.jsonl the app's official prompts for them (bench.py renders the same prompt for the official run)
#   examples.jsonl the annotations; tokenizer/ the tokenizer files for the 2B model folder
# ~1 min. Then, on the GPU machine, in a call right after Chromium's parts: carry [".gpubench/fast/p0"],
#   mkdir -p /opt/stage/fast && cp -r .gpubench/fast/p0/. /opt/stage/fast/
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=.gpubench/fast/p0
EX=../shared/seedbench/egoplan-bench2-examples
rm -rf "$OUT" .gpubench/fast/frames-run && mkdir -p "$OUT/tokenizer"
npm run --silent prepare:test-data >/dev/null
npm run --silent eval -- --model models/tiny-random-qwen2-vl --benchmark egoplan-bench2-examples-L3 \
  --videos "$EX" --device wasm --max-new-tokens 1 --scoring official --dump-frames --out .gpubench/fast/frames-run >/dev/null
mv .gpubench/fast/frames-run/frames "$OUT/frames"
# Lossless WebP (half of PNG's bytes): each frame checked to decode to the same RGB bytes.
for png in "$OUT"/frames/*/*.png; do
  webp="${png%.png}.webp"
  ffmpeg -v error -y -i "$png" -c:v libwebp -lossless 1 -compression_level 6 "$webp"
  a=$(ffmpeg -v error -i "$png" -f rawvideo -pix_fmt rgb24 - | md5sum); b=$(ffmpeg -v error -i "$webp" -f rawvideo -pix_fmt rgb24 - | md5sum)
  [ "$a" = "$b" ] || { echo "$webp does not decode to $png's pixels"; exit 1; }
  rm "$png"
done
for j in "$OUT"/frames/*/frames.json; do sed -i 's/\.png"/.webp"/g' "$j"; done
cp .gpubench/fast/frames-run/results.jsonl "$EX/examples.jsonl" "$OUT/"
npx vite build --outDir .gpubench/fast/dist >/dev/null 2>&1
mkdir -p "$OUT/site"
cp -r .gpubench/fast/dist/assets .gpubench/fast/dist/e2e .gpubench/fast/dist/index.html "$OUT/site/"
cp models/tiny-random-qwen2-vl/tokenizer_config.json "$OUT/tokenizer/"
# The two big files travel xz-compressed (bench.py unpacks them).
xz -T0 -9 -c models/tiny-random-qwen2-vl/tokenizer.json > "$OUT/tokenizer/tokenizer.json.xz"
for w in "$OUT"/site/assets/*.wasm; do xz -T0 -9 "$w"; done
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
size=$(du -sb "$OUT" | cut -f1)
echo "payload $OUT: $size bytes; tracked files $tracked; total $((size + tracked)) of 67108864 a call may carry"
[ $((size + tracked)) -lt 67108864 ] || { echo "too big for one call"; exit 1; }
