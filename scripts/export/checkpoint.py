"""A Hugging Face Qwen2-VL or Qwen2.5-VL checkpoint folder read with numpy only: config.json normalised across
transformers 4 / 5 layouts, and the weights of *.safetensors (bf16, fp16 or fp32; one file or
shards with model.safetensors.index.json) under canonical names, memory-mapped, one tensor at a time.

Canonical names are transformers 4's: model.embed_tokens.weight, model.layers.{i}.self_attn.q_proj
.weight, ..., model.norm.weight, lm_head.weight (absent when tied), visual.patch_embed.proj.weight,
visual.blocks.{i}..., visual.merger.... transformers 5 saves model.language_model.* and
model.visual.*; both read the same (Qwen2.5-VL's too: its text model is Qwen2-VL's, its vision
blocks hold norm1/norm2 RMSNorm weights and mlp.gate_proj/up_proj/down_proj instead of fc1/fc2).
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
    # "qwen2_vl" or "qwen2_5_vl"; the Qwen2.5-VL vision tower's window attention (vision_config).
    family: str = "qwen2_vl"
    v_window: int = 112
    v_fullatt: tuple = ()
    tokens_per_second: float = 4


def shapes_from_config(cfg: dict) -> QwenShapes:
    family = cfg.get("model_type")
    if family not in ("qwen2_vl", "qwen2_5_vl"):
        raise SystemExit(f"config.json: model_type {family!r}; this converter reads Qwen2-VL (qwen2_vl) and "
                         f"Qwen2.5-VL (qwen2_5_vl)")
    arch = (cfg.get("architectures") or [None])[0]
    want = {"qwen2_vl": "Qwen2VLForConditionalGeneration", "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration"}[family]
    if arch is not None and arch != want:
        raise SystemExit(f"config.json: architectures {arch!r} with model_type {family!r} (expected {want})")
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
    tied = text.get("tie_word_embeddings", cfg.get("tie_word_embeddings", False))
    if family == "qwen2_5_vl":
        # Qwen2.5-VL's vision_config: hidden_size is the tower's width, out_hidden_size the text width
        # the merger maps to, intermediate_size the gated MLP's (defaults: transformers' Qwen2_5_VLVisionConfig).
        v_embed, v_mlp, v_out = v.get("hidden_size", 3584), v.get("intermediate_size", 3420), v.get("out_hidden_size")
        if v_out is None:
            v_out = field("hidden_size")
        win = dict(v_window=int(v.get("window_size", 112)), v_fullatt=tuple(int(i) for i in v.get("fullatt_block_indexes", (7, 15, 23, 31))),
                   tokens_per_second=v.get("tokens_per_second", 4))
    else:
        v_embed = v.get("embed_dim", 1280)
        v_mlp, v_out, win = int(v_embed * v.get("mlp_ratio", 4)), v.get("hidden_size", hidden), {}
    s = QwenShapes(
        vocab=field("vocab_size"), hidden=hidden, intermediate=field("intermediate_size"),
        layers=field("num_hidden_layers"), heads=heads, kv_heads=field("num_key_value_heads"),
        head_dim=field("head_dim", hidden // heads), rms_eps=field("rms_norm_eps", 1e-6), rope_theta=float(theta),
        mrope_section=[int(x) for x in mrope], tied=bool(tied),
        v_depth=v.get("depth", 32), v_embed=v_embed, v_heads=v.get("num_heads", 16), v_mlp=int(v_mlp), v_out=int(v_out),
        patch=v.get("patch_size", 14), temporal_patch=v.get("temporal_patch_size", 2),
        merge=v.get("spatial_merge_size", 2), in_channels=v.get("in_channels", v.get("in_chans", 3)),
        family=family, **win,
    )
    if sum(s.mrope_section) * 2 != s.head_dim:
        raise SystemExit(f"config.json: mrope_section {s.mrope_section} does not cover head_dim {s.head_dim}")
    if (s.patch, s.temporal_patch, s.merge, s.in_channels) != (14, 2, 2, 3):
        raise SystemExit("config.json: vision patch geometry differs from Qwen2-VL's 14 x 14, temporal 2, merge 2, RGB")
    if family == "qwen2_5_vl":
        if s.v_window % (s.patch * s.merge):
            raise SystemExit(f"config.json: vision_config.window_size {s.v_window} is not a multiple of "
                             f"patch_size x spatial_merge_size ({s.patch * s.merge})")
        bad = [i for i in s.v_fullatt if not 0 <= i < s.v_depth]
        if bad:
            raise SystemExit(f"config.json: vision_config.fullatt_block_indexes {bad} outside depth {s.v_depth}")
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


def write_safetensors(path: Path, tensors: dict, dtype: str) -> None:
    """A safetensors file as save_pretrained writes one (8-byte header length, JSON header, the raw
    tensors back to back), dtype BF16 (truncated), F16 or F32: for test and tiny checkpoints."""
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        a = np.asarray(a, np.float32)
        if dtype == "BF16":
            raw = (a.view(np.uint32) >> 16).astype(np.uint16).tobytes()
        elif dtype == "F16":
            raw = a.astype(np.float16).tobytes()
        else:
            raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))



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
        if s.family == "qwen2_5_vl":
            want[f"visual.blocks.{i}.mlp.gate_proj.weight"] = (s.v_mlp, s.v_embed)
            want[f"visual.blocks.{i}.mlp.down_proj.weight"] = (s.v_embed, s.v_mlp)
        else:
            want[f"visual.blocks.{i}.mlp.fc1.weight"] = (s.v_mlp, s.v_embed)
    for name, shape in want.items():
        if name not in weights:
            raise SystemExit(f"checkpoint: no tensor {name} (needed for shape {list(shape)})")
        got = tuple(weights.where[name][1]["shape"]) if hasattr(weights, "where") else tuple(weights[name].shape)
        if got != shape:
            raise SystemExit(f"checkpoint: {name} is {list(got)}, config.json implies {list(shape)}")
