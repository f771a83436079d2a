"""The hub-interface twins of the committed tiny model, built from its own weights (so "same
weights" holds by construction) by the same converter `npm run export` uses. Run by
`npm run prepare:test-data`; writes git-ignored folders, skipped when already up to date.

    python3 scripts/export/make_twin.py [--tiny models/tiny-random-qwen2-vl] [--models models]

- models/tiny-random-qwen2-vl-hub/: the public onnx-community/Qwen2-VL-2B-Instruct interface and
  layout: fp32, fp16, q4, q4f16 of every graph (embed_tokens at 4 bits as the copies the public
  repo ships), a NAME.onnx_data beside the three graphs that have one there, float32 inputs and
  outputs, no num_logits_to_keep, Conv3d patch embedding taking grid_thw.
- models/tiny-random-qwen2-vl-hub-f16io/: fp16 and q4f16 graphs that DECLARE float16 inputs and
  outputs (pixel_values, inputs_embeds, the KV cache, logits), so the app's casts are exercised.
- models/tiny-random-qwen2-vl-hub-chunked/: fp32, with a per-tensor limit of 3.5 MB, so embed_tokens
  is written as 3 row chunks (one .onnx_data each), as a 7B's 2.18 GB table is at the default limit.

Why generated and not committed: the twin holds the 151,936 x 16 embedding four more times
(~9.7 MB per fp32 copy): ~50 MB, over the 40 MB model budget with the committed tiny model. It
takes ~10 s here (numpy + onnx, Debian's python3-numpy and python3-onnx).
"""

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from convert import convert  # noqa: E402
from hub_graphs import TENSOR_LIMIT  # noqa: E402
from tiny_weights import load_tiny_weights  # noqa: E402

VARIANTS = {
    "tiny-random-qwen2-vl-hub": dict(dtypes=["fp32", "fp16", "q4", "q4f16"], io="float32"),
    "tiny-random-qwen2-vl-hub-f16io": dict(dtypes=["fp16", "q4f16"], io="float16"),
    "tiny-random-qwen2-vl-hub-chunked": dict(dtypes=["fp32"], io="float32", tensor_limit=3_500_000),
}
SOURCES = ("make_twin.py", "convert.py", "hub_graphs.py", "onnx_build.py", "q4.py", "tiny_weights.py", "checkpoint.py")
INPUTS = ("onnx/embed_tokens.onnx", "onnx/vision_encoder.onnx", "onnx/decoder_model_merged.onnx", "config.json",
          "generation_config.json", "preprocessor_config.json", "tokenizer_config.json", "tokenizer.json")
STAMP = ".twin-inputs.sha256"


def inputs_hash(tiny: Path) -> str:
    h = hashlib.sha256()
    for name in SOURCES:
        h.update((HERE / name).read_bytes())
    for name in INPUTS:
        p = tiny / name
        if not p.exists():
            raise SystemExit(f"{p} is missing (tokenizer.json: run `npm run models:tokenizer` first)")
        h.update(name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiny", default="models/tiny-random-qwen2-vl")
    ap.add_argument("--models", default="models")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    tiny, models = Path(args.tiny), Path(args.models)
    digest = inputs_hash(tiny)
    todo = [n for n in VARIANTS if args.force or not (models / n / STAMP).exists()
            or (models / n / STAMP).read_text().strip() != digest]
    if not todo:
        print(f"hub twins up to date ({', '.join(VARIANTS)})")
        return
    cfg = json.loads((tiny / "config.json").read_text())
    cfg.pop("transformers.js_config", None)
    weights = load_tiny_weights(tiny)
    for name in todo:
        out = models / name
        if out.exists():
            shutil.rmtree(out)
        v = VARIANTS[name]
        print(f"== {name}: {', '.join(v['dtypes'])}, {v['io']} inputs/outputs")
        c = dict(cfg)
        c["_comment"] = (f"{cfg.get('_comment', '')} Rebuilt in the hub interface by scripts/export/make_twin.py "
                         f"({v['io']} inputs and outputs).").strip()
        convert(tiny, out, v["dtypes"], v["io"], "public", weights=weights, cfg=c, tokenizer_dir=tiny, fast=False,
                tensor_limit=v.get("tensor_limit", TENSOR_LIMIT))
        (out / STAMP).write_text(digest + "\n")


if __name__ == "__main__":
    main()
