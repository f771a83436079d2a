"""A Hugging Face Qwen2-VL checkpoint folder with seeded random weights, to prove `npm run export`
on real shapes without downloading a model (GPU machine: torch + transformers).

    python3 scripts/export/make_random_checkpoint.py --size 7b --out /tmp/ckpt-7b --tokenizer-dir models/tiny-random-qwen2-vl
    python3 scripts/export/make_random_checkpoint.py --size tiny --out /tmp/ckpt-tiny --tokenizer-dir ...

tiny: model_def.build_model('tiny', seed) exactly (the committed tiny model's weights).
7b: Qwen2-VL-7B-Instruct's config.json (below, as published: hidden 3584, 28 layers, 28 heads, 4 KV
heads, MLP 18944, vocab 152064, untied lm_head, mrope_section [16, 24, 24]; vision depth 32, embed
1280, 16 heads), weights drawn on the GPU with model_def's "unit gain" scheme (embeddings std 1,
matrices std 1/sqrt(fan_in), norms 1 +- 0.1, biases std 0.1), saved in bf16 safetensors shards as
save_pretrained writes them (8.3 B parameters, ~16.6 GB). The tokenizer files, generation and
preprocessor configs are Qwen2-VL's (the Qwen2 tokenizer of the tiny model; same ids).
"""

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from export_onnx import CLIP_MEAN, CLIP_STD, MAX_PIXELS, MIN_PIXELS, QWEN2_VL_CHAT_TEMPLATE  # noqa: E402
from model_def import BOS_TOKEN_ID, EOS_TOKEN_IDS, build_model  # noqa: E402

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


@torch.no_grad()
def init_unit_gain(model, seed: int, device: str) -> None:
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


def write_side_files(out: Path, tokenizer_dir: Path) -> None:
    gen = {"bos_token_id": BOS_TOKEN_ID, "pad_token_id": BOS_TOKEN_ID, "do_sample": True, "eos_token_id": EOS_TOKEN_IDS,
           "repetition_penalty": 1.05, "top_k": 1, "top_p": 0.001, "temperature": 0.01}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2))
    pre = {"processor_class": "Qwen2VLProcessor", "image_processor_type": "Qwen2VLImageProcessor",
           "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
           "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "rescale_factor": 1 / 255, "resample": 3,
           "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS, "patch_size": 14, "temporal_patch_size": 2,
           "merge_size": 2}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2))
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")
    tok = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    tok["chat_template"] = QWEN2_VL_CHAT_TEMPLATE
    (out / "tokenizer_config.json").write_text(json.dumps(tok, indent=2, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=["tiny", "7b"], required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer-dir", default="models/tiny-random-qwen2-vl")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if args.size == "tiny":
        model = build_model("tiny", args.seed)
    else:
        from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

        device = "cuda" if torch.cuda.is_available() else "cpu"
        c = QWEN2_VL_7B_INSTRUCT
        text = {k: c[k] for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                                  "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta",
                                  "max_position_embeddings", "hidden_act", "bos_token_id", "eos_token_id",
                                  "tie_word_embeddings", "rope_scaling", "use_sliding_window", "attention_dropout")}
        v = c["vision_config"]
        vision = dict(depth=v["depth"], embed_dim=v["embed_dim"], hidden_size=v["hidden_size"], num_heads=v["num_heads"],
                      mlp_ratio=v["mlp_ratio"], in_channels=v["in_chans"], patch_size=v["patch_size"],
                      spatial_merge_size=v["spatial_merge_size"], temporal_patch_size=v["temporal_patch_size"],
                      hidden_act="quick_gelu")
        config = Qwen2VLConfig(text_config=text, vision_config=vision, image_token_id=c["image_token_id"],
                               video_token_id=c["video_token_id"], vision_start_token_id=c["vision_start_token_id"],
                               vision_end_token_id=c["vision_end_token_id"], tie_word_embeddings=False)
        with torch.device(device):
            model = Qwen2VLForConditionalGeneration(config).to(torch.bfloat16)
        init_unit_gain(model, args.seed, device)
    n = sum(p.numel() for p in model.parameters())
    print(f"built {args.size} ({n / 1e9:.2f} B parameters) in {time.time() - t0:.1f}s", flush=True)
    t1 = time.time()
    model.save_pretrained(str(out), safe_serialization=True, max_shard_size="5GB")
    write_side_files(out, Path(args.tokenizer_dir))
    size = sum(f.stat().st_size for f in out.glob("*.safetensors"))
    print(f"saved {out} ({size / 1e9:.2f} GB of safetensors) in {time.time() - t1:.1f}s", flush=True)


if __name__ == "__main__":
    main()
