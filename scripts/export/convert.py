"""Convert a Qwen2-VL or Qwen2.5-VL checkpoint folder to the app's model layout (transformers.js /
onnx-community).

    npm run export -- --from /path/to/Qwen2-VL-7B-Instruct --out models/qwen2-vl-7b [--dtypes q4,q4f16]
    npm run export -- --from /path/to/Qwen2.5-VL-7B-Instruct --out models/qwen2.5-vl-7b

The family comes from config.json (model_type qwen2_vl / qwen2_5_vl). Qwen2.5-VL: the same text
graphs (its language model is Qwen2-VL's; the video's time scaling lives in the position ids the app
computes), its own vision tower (hub_graphs.build_vision25, input image_grid_thw), config.json kept
as Qwen2_5_VLForConditionalGeneration with vision_config.tokens_per_second written out; its fast
engine graphs are the fast decoder plus this vision graph (fast.json vision "reference").

numpy + onnx only (no torch): reads config.json and *.safetensors (bf16 / fp16 / fp32, sharded or
not), builds embed_tokens, vision_encoder and decoder_model_merged per dtype in the public export's
interface (hub_graphs.py), and writes config.json (text fields copied to the top level, external
data listed for transformers.js), generation_config.json, preprocessor_config.json and the
tokenizer files (tokenizer_config.json carries the chat template, the only place transformers.js
reads it). Then, with --check, the self-check (selfcheck.py: PyTorch vs onnxruntime on one real
question; needs torch + transformers + onnxruntime).
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from checkpoint import SafetensorsWeights, check_names, shapes_from_config  # noqa: E402
from hub_graphs import BUILDERS, DTYPES, TENSOR_LIMIT  # noqa: E402
from onnx_build import file_bytes  # noqa: E402

SUFFIX = {"fp32": "", "fp16": "_fp16", "q4": "_q4", "q4f16": "_q4f16"}
# Where the public onnx-community/Qwen2-VL-2B-Instruct has a NAME.onnx_data beside the graph (the
# graphs over protobuf's 2 GB at 2B size); --external public mimics it at any size.
PUBLIC_EXTERNAL = {"decoder_model_merged.onnx", "decoder_model_merged_fp16.onnx", "vision_encoder.onnx"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt")
# Qwen2-VL's own preprocessing (Qwen2.5-VL's is the same), written when a checkpoint has no preprocessor_config.json.
QWEN2VL_PREPROCESSOR = {
    "processor_class": "Qwen2VLProcessor", "image_processor_type": "Qwen2VLImageProcessor",
    "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
    "rescale_factor": 1 / 255, "resample": 3, "min_pixels": 3136, "max_pixels": 12845056,
    "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
}
TEXT_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
               "num_key_value_heads", "rms_norm_eps", "max_position_embeddings", "hidden_act", "bos_token_id",
               "eos_token_id", "rope_theta", "rope_scaling", "tie_word_embeddings", "head_dim")


def estimate_bytes(s, graph: str, dtype: str) -> int:
    """A graph's weight bytes before building it (to decide on external data)."""
    per = {"fp32": 4, "fp16": 2, "q4": 0.5625, "q4f16": 0.53}[dtype]
    if graph == "embed_tokens":
        return s.vocab * s.hidden * (4 if dtype in ("fp32", "q4") else 2)
    if graph == "vision_encoder":
        e = s.v_embed
        mlp = 3 if s.family == "qwen2_5_vl" else 2  # gated MLP: gate, up, down
        return int((s.v_depth * (4 * e * e + mlp * e * s.v_mlp) + 16 * e * e + 4 * e * s.v_out) * per + e * 1176 * 4)
    attn = s.hidden * (s.heads + 2 * s.kv_heads) * s.head_dim + s.heads * s.head_dim * s.hidden
    return int((s.layers * (attn + 3 * s.hidden * s.intermediate) + s.vocab * s.hidden) * per)


ARCHITECTURE = {"qwen2_vl": "Qwen2VLForConditionalGeneration", "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration"}
PROCESSOR = {"qwen2_vl": "Qwen2VLProcessor", "qwen2_5_vl": "Qwen2_5_VLProcessor"}


def write_configs(src: Path, out: Path, cfg: dict, chunks: dict[str, int], tokenizer_dir: Path, s) -> None:
    cfg = dict(cfg)
    text = cfg.get("text_config") or {}
    for k in TEXT_FIELDS:  # transformers.js reads the text model's fields at the top level
        if k not in cfg and k in text:
            cfg[k] = text[k]
    if "head_dim" not in cfg and "hidden_size" in cfg:
        cfg["head_dim"] = cfg["hidden_size"] // cfg["num_attention_heads"]
    if "rope_scaling" not in cfg:  # transformers 5 keeps the sections in text_config.rope_parameters
        cfg["rope_scaling"] = {"type": "mrope", "mrope_section": list(s.mrope_section)}
    cfg["architectures"] = [ARCHITECTURE[s.family]]
    if s.family == "qwen2_5_vl":
        # The app scales the video's time index by it (transformers' default 4 where a config leaves it
        # out): written out, so the folder says what the positions use.
        cfg["vision_config"] = dict(cfg.get("vision_config") or {}, tokens_per_second=s.tokens_per_second)
    js = dict(cfg.get("transformers.js_config") or {})
    js["use_external_data_format"] = {k: v for k, v in sorted(chunks.items()) if v > 0}
    if not js["use_external_data_format"]:
        del js["use_external_data_format"]
    if js:
        cfg["transformers.js_config"] = js
    else:
        cfg.pop("transformers.js_config", None)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")

    if (src / "generation_config.json").exists():
        shutil.copy(src / "generation_config.json", out / "generation_config.json")
    pre_src = src / "preprocessor_config.json"
    pre = json.loads(pre_src.read_text()) if pre_src.exists() else dict(QWEN2VL_PREPROCESSOR, processor_class=PROCESSOR[s.family])
    pre.setdefault("processor_class", PROCESSOR[s.family])  # transformers.js wants it flat, named
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n")

    for f in TOKENIZER_FILES:
        if (tokenizer_dir / f).exists():
            shutil.copy(tokenizer_dir / f, out / f)
    tok_path = out / "tokenizer_config.json"
    if not tok_path.exists() or not (out / "tokenizer.json").exists():
        raise SystemExit(f"{tokenizer_dir}: needs tokenizer.json and tokenizer_config.json")
    tok = json.loads(tok_path.read_text())
    if not tok.get("chat_template"):  # transformers 4.45+ keep it beside: chat_template.json / .jinja
        for name in ("chat_template.json", "chat_template.jinja"):
            p = tokenizer_dir / name
            if p.exists():
                tok["chat_template"] = json.loads(p.read_text())["chat_template"] if name.endswith(".json") else p.read_text()
                break
    if not tok.get("chat_template"):
        raise SystemExit(f"{tokenizer_dir}: no chat template (tokenizer_config.json, chat_template.json or .jinja)")
    tok_path.write_text(json.dumps(tok, indent=2, ensure_ascii=False) + "\n")


FAST_DTYPES = ("fp32", "q4")  # what scripts/export/fast builds (fp32 activations: no shader-f16 needed)


def fast_graphs(cfg: dict, weights, out: Path, dtypes: list[str]) -> str:
    """The fast engine's graphs (scripts/export/fast) for the asked dtypes it builds; what was done."""
    from fast import build

    fast = [d for d in dtypes if d in FAST_DTYPES]
    if not fast:
        return f"not built (the fast builder makes {', '.join(FAST_DTYPES)}; asked {', '.join(dtypes)})"
    build(cfg, weights, out, fast)
    return f"written for {', '.join(fast)} (onnx/fast.json)"


def convert(src: Path, out: Path, dtypes: list[str], io: str, external: str, weights=None, cfg=None,
            tokenizer_dir: Path | None = None, also: list[tuple[str, str]] = (), fast: bool = True,
            tensor_limit: int = TENSOR_LIMIT) -> dict:
    t0 = time.time()
    cfg = cfg if cfg is not None else json.loads((src / "config.json").read_text())
    s = shapes_from_config(cfg)
    weights = weights if weights is not None else SafetensorsWeights(src)
    check_names(weights, s)
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    chunks: dict[str, int] = {}
    report = {}
    # Every graph at every dtype, then single extra graphs (e.g. an fp16 embed_tokens beside q4).
    jobs = dict.fromkeys([(g, dt) for g in BUILDERS for dt in dtypes] + list(also))
    for graph, dt in jobs:
        name = f"{graph}{SUFFIX[dt]}.onnx"
        if external == "public":
            ext = name in PUBLIC_EXTERNAL
        elif external in ("always", "never"):
            ext = external == "always"
        else:  # auto: what protobuf's 2 GB forces
            ext = estimate_bytes(s, graph, dt) > 1.8e9
        t = time.time()
        # An embedding table over tensor_limit is written as row chunks (hub_graphs.build_embed).
        kw = {"tensor_limit": tensor_limit} if graph == "embed_tokens" else {}
        files = BUILDERS[graph](s, weights, dt, io, out / "onnx" / name, ext, **kw)
        chunks[name] = len(files)
        size = file_bytes(out / "onnx" / name)
        report[name] = size
        data = f" ({len(files)} data file(s))" if files else ""
        print(f"  {name}: {size:,} bytes{data} in {time.time() - t:.1f}s", flush=True)
    write_configs(src, out, cfg, chunks, tokenizer_dir or src, s)
    # The hub twins imitate the public export, which has no fast graphs (make_twin passes fast=False).
    # Qwen2.5-VL: the fast decoder with the vision graph just written (fast.json vision "reference").
    said = fast_graphs(cfg, weights, out, dtypes) if fast else "not asked"
    print(f"fast engine graphs: {said}")
    print(f"converted in {time.time() - t0:.1f}s -> {out}")
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", required=True, help="Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer)")
    ap.add_argument("--out", required=True, help="output folder, e.g. models/my-qwen2-vl")
    ap.add_argument("--dtypes", default="q4,q4f16", help=f"comma-separated, of {','.join(DTYPES)} (default q4,q4f16)")
    ap.add_argument("--io", choices=["float32", "float16"], default="float32",
                    help="declared type of float inputs/outputs of fp16 graphs (float32 as the public export)")
    ap.add_argument("--external", choices=["auto", "public", "always", "never"], default="auto",
                    help="external data: auto = graphs over protobuf's 2 GB; public = where the public 2B has it")
    ap.add_argument("--also", default="", help="extra GRAPH:DTYPE pairs, e.g. embed_tokens:fp16 beside --dtypes q4")
    ap.add_argument("--max-tensor-bytes", type=int, default=TENSOR_LIMIT,
                    help=f"an embedding table over this is written as row chunks, one data file each (default {TENSOR_LIMIT:,})")
    ap.add_argument("--no-fast", action="store_true", help="skip the fast engine's graphs (onnx/fast.json)")
    ap.add_argument("--check", action="store_true", help="then run selfcheck.py (needs torch, transformers, onnxruntime)")
    args = ap.parse_args()
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    bad = [d for d in dtypes if d not in DTYPES]
    if bad:
        raise SystemExit(f"--dtypes: {', '.join(bad)} not one of {', '.join(DTYPES)}")
    also = [tuple(x.split(":", 1)) for x in args.also.split(",") if x.strip()]
    for g, d in also:
        if g not in BUILDERS or d not in DTYPES:
            raise SystemExit(f"--also {g}:{d}: graph of {', '.join(BUILDERS)}, dtype of {', '.join(DTYPES)}")
    src, out = Path(args.src), Path(args.out)
    convert(src, out, dtypes, args.io, args.external, also=also, fast=not args.no_fast, tensor_limit=args.max_tensor_bytes)
    if args.check:
        import selfcheck

        sys.exit(selfcheck.main(["--ckpt", str(src), "--model", str(out), "--dtype", "fp32" if "fp32" in dtypes else dtypes[0]]))


if __name__ == "__main__":
    main()
