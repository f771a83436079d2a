"""The Qwen2-VL shapes the fast graphs need, read from a Hugging Face config.json dict.

transformers 5 nests the text fields under text_config (and rope settings under rope_parameters); older
configs keep them at the top level (rope_scaling). Both are accepted.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class TextShape:
    vocab: int
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    rms_eps: float
    rope_theta: float
    mrope_section: tuple[int, ...]
    tied: bool


@dataclass(frozen=True)
class VisionShape:
    embed: int
    depth: int
    heads: int
    mlp_hidden: int
    out_hidden: int
    patch: int
    temporal_patch: int
    merge: int
    in_channels: int
    rope_theta: float
    eps: float = 1e-6


def _get(d: dict, *keys, default=None):
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return default


def text_shape(config: dict) -> TextShape:
    t = {**config, **(config.get("text_config") or {})}
    rope = {**(t.get("rope_scaling") or {}), **(t.get("rope_parameters") or {})}
    hidden = int(t["hidden_size"])
    heads = int(t["num_attention_heads"])
    section = rope.get("mrope_section")
    if not section:
        raise ValueError("config: no mrope_section (rope_parameters or rope_scaling): not a Qwen2-VL text config")
    head_dim = int(_get(t, "head_dim", default=hidden // heads))
    if 2 * sum(section) != head_dim:
        raise ValueError(f"config: mrope_section {section} does not cover head_dim {head_dim} / 2")
    return TextShape(
        vocab=int(t["vocab_size"]), hidden=hidden, intermediate=int(t["intermediate_size"]),
        layers=int(t["num_hidden_layers"]), heads=heads, kv_heads=int(_get(t, "num_key_value_heads", default=heads)),
        head_dim=head_dim, rms_eps=float(_get(t, "rms_norm_eps", default=1e-6)),
        rope_theta=float(_get(rope, "rope_theta", default=_get(t, "rope_theta", default=1e6))),
        mrope_section=tuple(int(x) for x in section),
        tied=bool(_get(config, "tie_word_embeddings", default=_get(t, "tie_word_embeddings", default=False))),
    )


def vision_shape(config: dict) -> VisionShape:
    v = config.get("vision_config") or {}
    embed = int(_get(v, "embed_dim", default=v.get("hidden_size")))
    rope = v.get("rope_parameters") or {}
    return VisionShape(
        embed=embed, depth=int(v["depth"]), heads=int(v["num_heads"]),
        mlp_hidden=int(embed * float(_get(v, "mlp_ratio", default=4))),
        out_hidden=int(_get(v, "hidden_size", default=text_shape(config).hidden)),
        patch=int(_get(v, "patch_size", default=14)), temporal_patch=int(_get(v, "temporal_patch_size", default=2)),
        merge=int(_get(v, "spatial_merge_size", default=2)), in_channels=int(_get(v, "in_channels", default=3)),
        rope_theta=float(_get(rope, "rope_theta", default=10000.0)),
    )
