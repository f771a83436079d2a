"""Export the tiny random Qwen2.5-VL in the transformers.js layout, sharing the Qwen2-VL text graphs.

    python3 scripts/export/export_qwen25.py --out models/tiny-random-qwen2_5-vl --tokenizer-dir .device

Writes config.json (Qwen2_5_VLForConditionalGeneration, model_type qwen2_5_vl, text fields also at
the top level), generation_config.json, preprocessor_config.json (Qwen2_5_VLProcessor),
tokenizer_config.json, and onnx/vision_encoder{,_fp16,_quantized,_q4,_q4f16}.onnx (one temporal
slice: pixel_values [h*w, 1176], image_grid_thw [[1, h, w]] -> image_features [h*w/4, 16]). The text
graphs (embed_tokens, decoder_model_merged) are NOT exported: they are the committed tiny Qwen2-VL's
files, copied here (`--link-text`) so that reference_qwen25.py runs the very files the app will load.
"""

import argparse
import shutil
import time
from pathlib import Path

import torch

from export_onnx import export_graph, make_variants, write_configs
from qwen25 import VISION_SEED, VisionSlice25, build_model25

Q2 = Path("models/tiny-random-qwen2-vl")
# transformers.js's Qwen2_5_VLForConditionalGeneration feeds the vision encoder `image_grid_thw`
# (its Qwen2-VL class: `grid_thw`), so that is the public Qwen2.5-VL exports' input name.
GRID_INPUT = "image_grid_thw"
TEXT_FILES = ["embed_tokens.onnx", "embed_tokens_quantized.onnx", "decoder_model_merged.onnx",
              "decoder_model_merged_quantized.onnx", "decoder_model_merged_q4.onnx"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/tiny-random-qwen2_5-vl")
    ap.add_argument("--tokenizer-dir", default=".device")
    ap.add_argument("--link-text", action="store_true", help="copy the Qwen2-VL text graphs beside the vision graph")
    a = ap.parse_args()
    out = Path(a.out)
    onnx_dir = out / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    torch.manual_seed(0)
    model, _ = build_model25("tiny", 0)
    write_configs(model, out, Path(a.tokenizer_dir), "tiny", 0, architecture="Qwen2_5_VLForConditionalGeneration",
                  model_type="qwen2_5_vl", processor_class="Qwen2_5_VLProcessor",
                  comment=(f"Random weights made by scripts/export/export_qwen25.py; not a trained model. Text model = "
                           f"models/tiny-random-qwen2-vl's (size tiny, seed 0), vision tower seed {VISION_SEED}."))
    # Example slice 1 x 12 x 20: h != w and several windows, so no row/column or window mix-up traces by accident.
    pv = torch.randn(240, 1176)
    grid = torch.tensor([[1, 12, 20]], dtype=torch.int64)
    export_graph(VisionSlice25(model), (pv, grid), onnx_dir / "vision_encoder.onnx", ["pixel_values", GRID_INPUT],
                 ["image_features"], {"pixel_values": {0: "num_patches"}, "image_features": {0: "num_features"}}, False)
    make_variants(onnx_dir, "vision_encoder", ["fp32", "fp16", "q8", "q4", "q4f16"], False)
    if a.link_text:
        for f in TEXT_FILES:
            shutil.copy(Q2 / "onnx" / f, onnx_dir / f)
    print(f"export done in {time.time() - t0:.1f}s", flush=True)
    for f in sorted(out.rglob("*")):
        if f.is_file():
            print(f"{f.stat().st_size:>14,d}  {f.relative_to(out)}")


if __name__ == "__main__":
    main()
