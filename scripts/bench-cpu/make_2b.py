"""A Qwen2-VL-2B-shaped model folder with random weights and the fast q4 graphs, for npm run bench:cpu.

    /usr/bin/python3 scripts/bench-cpu/make_2b.py OUT_DIR --tokenizer models/tiny-random-qwen2-vl [--seed 0] [--embed fp32] [--dtypes q4,q8]

Qwen2-VL-2B-Instruct's exact shapes (scripts/export/model_def.py's "2b": hidden 1536, 28 layers, 12 heads,
2 KV heads, intermediate 8960, vocab 151936, tied lm_head; vision depth 32, embed 1280, 16 heads),
unit-gain random weights (scripts/export/fast/random_weights.py, made tensor by tensor: never all 8.8 GB
at once), the builder's q4 graphs (scripts/export/fast build(): MatMulNBits everywhere) and q8 decoder
(DynamicQuantizeLinear + MatMulInteger, over the q4 fast vision graph: there is no reference q8 vision graph
here). The embedding:
--embed fp32 (default here) an fp32 Gather (933 MB), the variant that loads on the app's wasm runtime;
--embed q4 the builder's default for hidden % 32 == 0, GatherBlockQuantized over the tied lm_head's 4-bit
bytes, which onnxruntime-web's asyncify wasm build has no kernel for (WebGPU and onnxruntime-node run it).
config.json is
the tiny model's with these sizes; tokenizer and preprocessor files are the tiny model's (the real
Qwen2-VL ones). Prints one JSON line (seconds, bytes per file); writes OUT_DIR/made.json last, so an
interrupted build is redone. numpy + onnx only.
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "export"))

from fast import build  # noqa: E402
from fast.random_weights import LazyRandomWeights  # noqa: E402

TEXT = {"hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12,
        "num_key_value_heads": 2, "vocab_size": 151936, "max_position_embeddings": 32768}
MROPE = [16, 24, 24]
VISION = {"depth": 32, "embed_dim": 1280, "num_heads": 16, "mlp_ratio": 4, "hidden_size": 1536}
COPIED = ["tokenizer.json", "tokenizer_config.json", "preprocessor_config.json", "generation_config.json"]


def config_2b(tiny: dict, seed: int) -> dict:
    c = json.loads(json.dumps(tiny))
    c["text_config"].update(TEXT)
    c["text_config"]["layer_types"] = ["full_attention"] * TEXT["num_hidden_layers"]
    c["text_config"]["max_window_layers"] = TEXT["num_hidden_layers"]
    c["text_config"]["rope_parameters"]["mrope_section"] = MROPE
    c["vision_config"].update(VISION)
    c.update({k: v for k, v in TEXT.items()})
    c["head_dim"] = TEXT["hidden_size"] // TEXT["num_attention_heads"]
    c["rope_scaling"]["mrope_section"] = MROPE
    c["_comment"] = (f"Random weights (Qwen2-VL-2B-Instruct's shapes, seed {seed}) made by scripts/bench-cpu/make_2b.py "
                     "for benchmarks; not a trained model.")
    return c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tokenizer", required=True, help="a model folder with the Qwen2-VL tokenizer files")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embed", choices=["fp32", "q4"], default="fp32")
    ap.add_argument("--dtypes", default="q4,q8")
    args = ap.parse_args()
    out, src = Path(args.out), Path(args.tokenizer)
    out.mkdir(parents=True, exist_ok=True)
    (out / "made.json").unlink(missing_ok=True)
    config = config_2b(json.loads((src / "config.json").read_text()), args.seed)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for f in COPIED:
        shutil.copyfile(src / f, out / f)
    t0 = time.time()
    dtypes = args.dtypes.split(",")
    build(config, LazyRandomWeights(config, args.seed), out, dtypes=dtypes,
          log=lambda m: print(m, file=sys.stderr), embed_q4=args.embed == "q4",
          q8_vision="q4" if "q4" in dtypes else "reference")
    seconds = time.time() - t0
    files = {str(p.relative_to(out)): p.stat().st_size for p in sorted((out / "onnx").iterdir())}
    made = {"seconds": round(seconds, 1), "bytes": sum(files.values()), "files": files, "seed": args.seed, "embed": args.embed,
            "dtypes": dtypes,
            "made_by": "scripts/bench-cpu/make_2b.py (scripts/export/fast build, LazyRandomWeights)"}
    (out / "made.json").write_text(json.dumps(made, indent=1) + "\n")
    print(json.dumps(made))


if __name__ == "__main__":
    main()
