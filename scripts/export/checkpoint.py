"""A Hugging Face Qwen2-VL checkpoint folder read with numpy only: config.json normalised across
transformers 4 / 5 layouts, and the weights of *.safetensors (bf16, fp16 or fp32; one file or
shards with model.safetensors.index.json) under canonical names, memory-mapped, one tensor at a time.

Canonical names are transformers 4's: model.embed_tokens.weight, model.layers.{i}.self_attn.q_proj
.weight, ..., model.norm.weight, lm_head.weight (absent when tied), visual.patch_embed.proj.weight,
visual.blocks.{i}..., visual.merger.... transformers 5 saves model.language_model.* and
model.visual.*; both read the same.
"""

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ST_DTYPES = {"BF16": "bf16", "F16": np.float16, "F32": np.float32, "F64": np.float64}


@dataclass
class QwenShapes:
    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    rms_eps: float
    rope_theta: float
    mrope_section: list
    tied: bool
    v_depth: int
    v_embed: int
    v_heads: int
    v_mlp: int
    v_out: int
    patch: int = 14
    temporal_patch: int = 2
    merge: int = 2
    in_channels: int = 3
    v_rope_theta: float = 10000.0
    v_eps: float = 1e-6


QWEN25_NOT_YET = (
    "config.json: model_type 'qwen2_5_vl' is Qwen2.5-VL, which the app runs, but this converter does not "
    "build its vision graph yet: hub_graphs.py implements Qwen2-VL's vision tower (LayerNorm, QuickGELU MLP, "
    "attention over the whole slice), not Qwen2.5-VL's (RMSNorm, gated SiLU MLP, window attention with "
    "full-attention blocks at vision_config.fullatt_block_indexes). Its text model is Qwen2-VL's, so "
    "embed_tokens and decoder_model_merged would convert as they are; the vision graph's interface is "
    "pixel_values + image_grid_thw -> image_features, one temporal slice per call (see "
    "scripts/export/qwen25.py, the PyTorch wrapper the tiny Qwen2.5-VL is exported with).")


def shapes_from_config(cfg: dict) -> QwenShapes:
    if cfg.get("model_type") == "qwen2_5_vl":
        raise SystemExit(QWEN25_NOT_YET)
    if cfg.get("model_type") != "qwen2_vl":
        raise SystemExit(f"config.json: model_type {cfg.get('model_type')!r}; this converter reads Qwen2-VL (qwen2_vl)")
    text = cfg.get("text_config") or {}

    def field(key, default=None):
        for src in (text, cfg):
            if src.get(key) is not None:
                return src[key]
        if default is None:
            raise SystemExit(f"config.json has no {key}")
        return default

    rope = text.get("rope_parameters") or cfg.get("rope_parameters") or {}
    scaling = text.get("rope_scaling") or cfg.get("rope_scaling") or {}
    mrope = rope.get("mrope_section") or scaling.get("mrope_section")
    if not mrope:
        raise SystemExit("config.json has no mrope_section (rope_scaling / rope_parameters)")
    theta = rope.get("rope_theta") or text.get("rope_theta") or cfg.get("rope_theta") or 1000000.0
    hidden, heads = field("hidden_size"), field("num_attention_heads")
    v = cfg.get("vision_config") or {}
    v_embed = v.get("embed_dim", 1280)
    tied = text.get("tie_word_embeddings", cfg.get("tie_word_embeddings", False))
    s = QwenShapes(
        vocab=field("vocab_size"), hidden=hidden, intermediate=field("intermediate_size"),
        layers=field("num_hidden_layers"), heads=heads, kv_heads=field("num_key_value_heads"),
        head_dim=field("head_dim", hidden // heads), rms_eps=field("rms_norm_eps", 1e-6), rope_theta=float(theta),
        mrope_section=[int(x) for x in mrope], tied=bool(tied),
        v_depth=v.get("depth", 32), v_embed=v_embed, v_heads=v.get("num_heads", 16),
        v_mlp=int(v_embed * v.get("mlp_ratio", 4)), v_out=v.get("hidden_size", hidden),
        patch=v.get("patch_size", 14), temporal_patch=v.get("temporal_patch_size", 2),
        merge=v.get("spatial_merge_size", 2), in_channels=v.get("in_channels", v.get("in_chans", 3)),
    )
    if sum(s.mrope_section) * 2 != s.head_dim:
        raise SystemExit(f"config.json: mrope_section {s.mrope_section} does not cover head_dim {s.head_dim}")
    if (s.patch, s.temporal_patch, s.merge, s.in_channels) != (14, 2, 2, 3):
        raise SystemExit("config.json: vision patch geometry differs from Qwen2-VL's 14 x 14, temporal 2, merge 2, RGB")
    return s


def canonical(name: str) -> str:
    if name.startswith("model.language_model."):
        return "model." + name[len("model.language_model."):]
    if name.startswith("model.visual."):
        return name[len("model."):]
    return name


def _bf16_to_f32(raw: np.ndarray) -> np.ndarray:
    return (raw.astype(np.uint32) << 16).view(np.float32)


class SafetensorsWeights:
    """The checkpoint's tensors as float32 numpy arrays, read on demand."""

    def __init__(self, folder: Path):
        index = folder / "model.safetensors.index.json"
        if index.exists():
            files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        else:
            files = sorted(p.name for p in folder.glob("*.safetensors"))
        if not files:
            raise SystemExit(f"{folder}: no *.safetensors (and no model.safetensors.index.json)")
        self.where: dict[str, tuple[Path, dict, int]] = {}
        for f in files:
            path = folder / f
            with open(path, "rb") as fh:
                (n,) = struct.unpack("<Q", fh.read(8))
                header = json.loads(fh.read(n))
            for key, info in header.items():
                if key == "__metadata__":
                    continue
                if info["dtype"] not in ST_DTYPES:
                    raise SystemExit(f"{path.name}: {key} is {info['dtype']}; only BF16, F16, F32 are read")
                self.where[canonical(key)] = (path, info, 8 + n)

    def names(self) -> list[str]:
        return sorted(self.where)

    def __contains__(self, name: str) -> bool:
        return name in self.where

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.where:
            raise KeyError(f"checkpoint has no {name}")
        path, info, base = self.where[name]
        begin, end = info["data_offsets"]
        kind = ST_DTYPES[info["dtype"]]
        dt = np.uint16 if kind == "bf16" else kind
        raw = np.memmap(path, dtype=dt, mode="r", offset=base + begin, shape=((end - begin) // np.dtype(dt).itemsize,))
        a = _bf16_to_f32(raw) if kind == "bf16" else np.asarray(raw, dtype=np.float32)
        return a.reshape(info["shape"])


def check_names(weights, s: QwenShapes) -> None:
    """Every tensor the graphs need exists with its shape (one clear message otherwise)."""
    want = {"model.embed_tokens.weight": (s.vocab, s.hidden), "model.norm.weight": (s.hidden,),
            "visual.patch_embed.proj.weight": (s.v_embed, 3, 2, 14, 14),
            "visual.merger.ln_q.weight": (s.v_embed,), "visual.merger.mlp.0.weight": (4 * s.v_embed, 4 * s.v_embed),
            "visual.merger.mlp.2.weight": (s.v_out, 4 * s.v_embed)}
    if not s.tied:
        want["lm_head.weight"] = (s.vocab, s.hidden)
    for i in range(s.layers):
        p = f"model.layers.{i}."
        want[p + "self_attn.q_proj.weight"] = (s.heads * s.head_dim, s.hidden)
        want[p + "self_attn.k_proj.weight"] = (s.kv_heads * s.head_dim, s.hidden)
        want[p + "mlp.down_proj.weight"] = (s.hidden, s.intermediate)
    for i in range(s.v_depth):
        want[f"visual.blocks.{i}.attn.qkv.weight"] = (3 * s.v_embed, s.v_embed)
        want[f"visual.blocks.{i}.mlp.fc1.weight"] = (s.v_mlp, s.v_embed)
    for name, shape in want.items():
        if name not in weights:
            raise SystemExit(f"checkpoint: no tensor {name} (needed for shape {list(shape)})")
        got = tuple(weights.where[name][1]["shape"]) if hasattr(weights, "where") else tuple(weights[name].shape)
        if got != shape:
            raise SystemExit(f"checkpoint: {name} is {list(got)}, config.json implies {list(shape)}")
