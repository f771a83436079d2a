"""A Hugging Face Qwen2-VL or Qwen2.5-VL checkpoint folder with seeded random weights, to prove
`npm run export` on real shapes without downloading a model (tiny and 7b: GPU machine, torch +
transformers; tiny25: numpy + onnx only, runs anywhere).

    python3 scripts/export/make_random_checkpoint.py --size 7b --out /tmp/ckpt-7b --tokenizer-dir models/tiny-random-qwen2-vl
    python3 scripts/export/make_random_checkpoint.py --size tiny --out /tmp/ckpt-tiny --tokenizer-dir ...
    python3 scripts/export/make_random_checkpoint.py --size tiny25 --out /tmp/ckpt-tiny25 [--names 4|5]
    python3 scripts/export/make_random_checkpoint.py --size 7b25 --out /tmp/ckpt-7b25

tiny: model_def.build_model('tiny', seed) exactly (the committed tiny model's weights).
tiny25: the committed tiny Qwen2.5-VL exactly: its config.json, generation and preprocessor configs,
tokenizer, and its weights read back from the committed graphs (tiny_weights.load_tiny25_weights:
the tiny Qwen2-VL's text model, the vision tower of models/tiny-random-qwen2_5-vl/onnx/
vision_encoder.onnx, which reference_qwen25_local.py traced from HF's module with seed 25), in
float32 safetensors, two shards with model.safetensors.index.json, under transformers 5's names
(model.language_model.*, model.visual.*; --names 4: transformers 4.50's model.*, visual.*). --seed
does not apply (the weights are the committed ones).
7b: Qwen2-VL-7B-Instruct's config.json (below, as published: hidden 3584, 28 layers, 28 heads, 4 KV
heads, MLP 18944, vocab 152064, untied lm_head, mrope_section [16, 24, 24]; vision depth 32, embed
1280, 16 heads), weights drawn on the GPU with model_def's "unit gain" scheme (embeddings std 1,
matrices std 1/sqrt(fan_in), norms 1 +- 0.1, biases std 0.1), saved in bf16 safetensors shards as
save_pretrained writes them (8.3 B parameters, ~16.6 GB). The tokenizer files, generation and
preprocessor configs are Qwen2-VL's (the Qwen2 tokenizer of the tiny model; same ids).
7b25: the same for Qwen2.5-VL-7B-Instruct's config.json (QWEN2_5_VL_7B_INSTRUCT below), class
Qwen2_5_VLForConditionalGeneration, processor_class Qwen2_5_VLProcessor.
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

Q2 = ROOT / "models" / "tiny-random-qwen2-vl"
Q25 = ROOT / "models" / "tiny-random-qwen2_5-vl"

QWEN2_VL_7B_INSTRUCT = {
    "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
    "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645, "hidden_act": "silu",
    "hidden_size": 3584, "initializer_range": 0.02, "intermediate_size": 18944, "max_position_embeddings": 32768,
    "max_window_layers": 28, "num_attention_heads": 28, "num_hidden_layers": 28, "num_key_value_heads": 4,
    "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": False,
    "torch_dtype": "bfloat16", "use_cache": True, "use_sliding_window": False, "vocab_size": 152064,
    "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654,
    "image_token_id": 151655, "video_token_id": 151656,
    "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3,
                      "hidden_size": 3584, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14,
                      "temporal_patch_size": 2},
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
}
# Qwen2.5-VL-7B-Instruct's config.json as published: the same text shapes (max_position_embeddings
# 128000), and its vision tower: width 1280, gated MLP 3420 (not a multiple of 32: q4 pads the last
# block), 16 heads, depth 32 with full attention at 7, 15, 23, 31 and 112-pixel windows elsewhere.
QWEN2_5_VL_7B_INSTRUCT = dict(
    QWEN2_VL_7B_INSTRUCT, architectures=["Qwen2_5_VLForConditionalGeneration"], model_type="qwen2_5_vl",
    max_position_embeddings=128000,
    vision_config={"depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                   "in_chans": 3, "out_hidden_size": 3584, "patch_size": 14, "spatial_merge_size": 2,
                   "spatial_patch_size": 14, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31],
                   "tokens_per_second": 2, "temporal_patch_size": 2})


def init_unit_gain(model, seed: int, device: str) -> None:
    import torch

    torch.set_grad_enabled(False)
    g = torch.Generator(device=device).manual_seed(seed)
    for name, p in model.named_parameters():
        r = torch.randn(p.shape, generator=g, device=device, dtype=torch.float32)
        if name.endswith("embed_tokens.weight"):
            v = r
        elif p.ndim >= 2:
            v = r * p[0].numel() ** -0.5
        elif ("norm" in name or "ln_q" in name) and name.endswith("weight"):
            v = 1.0 + 0.1 * r
        else:
            v = 0.1 * r
        p.copy_(v.to(p.dtype))


def write_side_files(out: Path, tokenizer_dir: Path, processor: str = "Qwen2VLProcessor") -> None:
    from export_onnx import CLIP_MEAN, CLIP_STD, MAX_PIXELS, MIN_PIXELS, QWEN2_VL_CHAT_TEMPLATE
    from model_def import BOS_TOKEN_ID, EOS_TOKEN_IDS

    gen = {"bos_token_id": BOS_TOKEN_ID, "pad_token_id": BOS_TOKEN_ID, "do_sample": True, "eos_token_id": EOS_TOKEN_IDS,
           "repetition_penalty": 1.05, "top_k": 1, "top_p": 0.001, "temperature": 0.01}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2))
    pre = {"processor_class": processor, "image_processor_type": "Qwen2VLImageProcessor",
           "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
           "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "rescale_factor": 1 / 255, "resample": 3,
           "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS, "patch_size": 14, "temporal_patch_size": 2,
           "merge_size": 2}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2))
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    tok = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    tok["chat_template"] = QWEN2_VL_CHAT_TEMPLATE
    (out / "tokenizer_config.json").write_text(json.dumps(tok, indent=2, ensure_ascii=False))


def tiny25(out: Path, names: str, tokenizer_dir: Path) -> None:
    """The committed tiny Qwen2.5-VL as a checkpoint folder (numpy + onnx only)."""
    from checkpoint import write_safetensors
    from tiny_weights import load_tiny25_weights

    t0 = time.time()
    weights = load_tiny25_weights(Q2, Q25)
    if names == "5":  # transformers 5's save_pretrained: the text model under model.language_model
        weights = {("model.language_model." + k[6:] if k.startswith("model.") else "model." + k): v
                   for k, v in weights.items()}
    keys = sorted(weights)
    shards = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
              "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    for f, part in shards.items():
        write_safetensors(out / f, {k: weights[k] for k in part}, "F32")
    index = {"metadata": {"total_size": int(sum(weights[k].size * 4 for k in keys))},
             "weight_map": {k: f for f, part in shards.items() for k in part}}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    cfg = json.loads((Q25 / "config.json").read_text())
    cfg["_comment"] = ("Random weights; not a trained model: models/tiny-random-qwen2_5-vl's, read back from its "
                       "committed graphs by scripts/export/make_random_checkpoint.py --size tiny25.")
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    for f in ("generation_config.json", "preprocessor_config.json", "tokenizer_config.json"):
        shutil.copy(Q25 / f, out / f)
    if not (tokenizer_dir / "tokenizer.json").exists():
        raise SystemExit(f"{tokenizer_dir}: no tokenizer.json (npm run models:tokenizer puts it in the tiny models)")
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    n = sum(weights[k].size for k in keys)
    print(f"tiny25: {len(keys)} tensors ({n:,} parameters, transformers {names} names) -> {out} in "
          f"{time.time() - t0:.1f}s", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=["tiny", "7b", "tiny25", "7b25"], required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer-dir", default=str(Q2))
    ap.add_argument("--names", choices=["4", "5"], default="5",
                    help="tiny25: tensor names of transformers 4.50 (model.*, visual.*) or 5 (model.language_model.*, model.visual.*)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.size == "tiny25":
        tiny25(out, args.names, Path(args.tokenizer_dir))
        return
    import torch

    from model_def import build_model

    t0 = time.time()
    if args.size == "tiny":
        model = build_model("tiny", args.seed)
    else:
        import transformers

        device = "cuda" if torch.cuda.is_available() else "cpu"
        q25 = args.size == "7b25"
        c = QWEN2_5_VL_7B_INSTRUCT if q25 else QWEN2_VL_7B_INSTRUCT
        text = {k: c[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                  "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta",
                                  "max_position_embeddings", "hidden_act", "bos_token_id", "eos_token_id",
                                  "tie_word_embeddings", "rope_scaling", "use_sliding_window", "attention_dropout")}
        v = c["vision_config"]
        if q25:
            vision = {k: v[k] for k in ("depth", "hidden_act", "hidden_size", "intermediate_size", "num_heads",
                                        "out_hidden_size", "patch_size", "spatial_merge_size", "window_size",
                                        "fullatt_block_indexes", "tokens_per_second", "temporal_patch_size")}
            vision["in_channels"] = v["in_chans"]
        else:
            vision = dict(depth=v["depth"], embed_dim=v["embed_dim"], hidden_size=v["hidden_size"], num_heads=v["num_heads"],
                          mlp_ratio=v["mlp_ratio"], in_channels=v["in_chans"], patch_size=v["patch_size"],
                          spatial_merge_size=v["spatial_merge_size"], temporal_patch_size=v["temporal_patch_size"],
                          hidden_act="quick_gelu")
        Config = transformers.Qwen2_5_VLConfig if q25 else transformers.Qwen2VLConfig
        Model = transformers.Qwen2_5_VLForConditionalGeneration if q25 else transformers.Qwen2VLForConditionalGeneration
        config = Config(text_config=text, vision_config=vision, image_token_id=c["image_token_id"],
                        video_token_id=c["video_token_id"], vision_start_token_id=c["vision_start_token_id"],
                        vision_end_token_id=c["vision_end_token_id"], tie_word_embeddings=False)
        with torch.device(device):
            model = Model(config).to(torch.bfloat16)
        init_unit_gain(model, args.seed, device)
    n = sum(p.numel() for p in model.parameters())
    print(f"built {args.size} ({n / 1e9:.2f} B parameters) in {time.time() - t0:.1f}s", flush=True)
    t1 = time.time()
    model.save_pretrained(str(out), safe_serialization=True, max_shard_size="5GB")
    write_side_files(out, Path(args.tokenizer_dir), "Qwen2_5_VLProcessor" if args.size == "7b25" else "Qwen2VLProcessor")
    size = sum(f.stat().st_size for f in out.glob("*.safetensors"))
    print(f"saved {out} ({size / 1e9:.2f} GB of safetensors) in {time.time() - t1:.1f}s", flush=True)


if __name__ == "__main__":
    main()
