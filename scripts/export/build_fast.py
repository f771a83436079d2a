"""Write the fast graphs (scripts/export/fast) of a model folder from its own traced ONNX export.

    python3 scripts/export/build_fast.py models/tiny-random-qwen2-vl [--dtypes fp32,q4,q8] [--vision-groups N]

Reads config.json and onnx/{embed_tokens,decoder_model_merged,vision_encoder}.onnx, rebuilds the hub
checkpoint's weight dict (tiny_weights.py), and writes onnx/*_fast*.onnx + onnx/fast.json.
Small models share the embedding with embed_tokens.onnx (no second copy), and q8's uint8 embedding and int8
lm_head with embed_tokens_quantized.onnx / decoder_model_merged_quantized.onnx. numpy + onnx only.

A Qwen2.5-VL folder (models/tiny-random-qwen2_5-vl) gets only the decoder graphs and a manifest that lists
its reference vision graph (fast/build.py). The tiny Qwen2.5-VL's text graphs are the tiny Qwen2-VL's, so its
decoder_fast*.onnx come out byte-identical to the Qwen2-VL's, which is why they are not committed there but
linked by `npm run prepare:test-data` (scripts/copy-tokenizer.ts); only its fast.json is committed:

    npm run prepare:test-data && python3 scripts/export/build_fast.py models/tiny-random-qwen2_5-vl --dtypes fp32
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fast import build  # noqa: E402
from fast.build import VISION_GROUPS, vision_kind  # noqa: E402
from tiny_weights import load_tiny_weights  # noqa: E402

SHARE_LIMIT = 64 * 1024 * 1024  # below this the embedding is shared with embed_tokens.onnx's bytes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--dtypes", default="fp32,q4,q8")
    ap.add_argument("--vision-groups", type=int, default=VISION_GROUPS,
                    help="the fast vision graph's heads and MLP columns in up to this many groups (1: whole)")
    args = ap.parse_args()
    model = Path(args.model_dir)
    onnx_dir = model / "onnx"
    config = json.loads((model / "config.json").read_text())
    t0 = time.time()
    vision = vision_kind(config)
    weights = load_tiny_weights(model, vision=vision == "fast")
    print(f"weights: {len(weights)} tensors from {onnx_dir} in {time.time() - t0:.1f}s")
    embed = weights["model.embed_tokens.weight"]
    dtypes = args.dtypes.split(",")
    share = {}
    if embed.nbytes < SHARE_LIMIT:
        share["model.embed_tokens.weight"] = "embed_tokens.onnx"
        if "q8" in dtypes:  # the reference q8 graphs' bytes (q8.py quantises exactly as they were made)
            share["model.embed_tokens.weight@q8"] = "embed_tokens_quantized.onnx"
            share["lm_head.weight@q8"] = "decoder_model_merged_quantized.onnx"
    build(config, weights, model, dtypes=dtypes, share=share or None, vision=vision, vision_groups=args.vision_groups)
    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
