"""Random weights under the hub checkpoint's names for any Qwen2-VL config (numpy; tests of the builder
on shapes no committed model has). Unit-gain init as model_def.py's: embeddings std 1, matrices std
1/sqrt(fan_in), norm weights 1 +- 0.1, biases std 0.1 (the values differ from torch's generator)."""

import zlib
from collections.abc import Mapping

import numpy as np

from .onnx_weights import expected_shapes


def _init(name: str, shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    if name.endswith("embed_tokens.weight"):
        w = rng.standard_normal(shape, dtype=dtype)
    elif len(shape) >= 2:
        fan_in = int(np.prod(shape[1:]))
        w = rng.standard_normal(shape, dtype=dtype) * fan_in ** -0.5
    elif ("norm" in name or "ln_q" in name) and name.endswith("weight"):
        w = 1.0 + 0.1 * rng.standard_normal(shape, dtype=dtype)
    else:
        w = 0.1 * rng.standard_normal(shape, dtype=dtype)
    return w.astype(np.float32, copy=False)


def random_weights(config: dict, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: _init(name, shape, rng) for name, shape in expected_shapes(config).items()}


class LazyRandomWeights(Mapping):
    """random_weights' init, each tensor made when read (from its own seed: name and `seed`), never kept:
    a 2B-shaped model's fp32 weights (8.8 GB) never sit in memory at once. `shape_of` lets check_shapes
    check a name without making it. Reading a name twice gives the same values."""

    def __init__(self, config: dict, seed: int = 0):
        self.shapes = expected_shapes(config)
        self.seed = seed

    def shape_of(self, name: str) -> tuple[int, ...]:
        return self.shapes[name]

    def __getitem__(self, name: str) -> np.ndarray:
        shape = self.shapes[name]
        # float32 draws: twice as fast as random_weights' float64 ones (2.2 billion values here).
        return _init(name, shape, np.random.default_rng([self.seed, zlib.crc32(name.encode())]), np.float32)

    def __contains__(self, name) -> bool:  # Mapping's default would make the tensor
        return name in self.shapes

    def __iter__(self):
        return iter(self.shapes)

    def __len__(self) -> int:
        return len(self.shapes)


def mini_config(hidden=64, layers=2, heads=4, kv_heads=2, vision_embed=64, vision_heads=4) -> dict:
    """A small Qwen2-VL config whose sizes fill whole 32-wide q4 blocks (unlike the tiny test model)."""
    return {
        "model_type": "qwen2_vl", "tie_word_embeddings": True,
        "text_config": {"vocab_size": 151936, "hidden_size": hidden, "intermediate_size": 2 * hidden,
                        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv_heads,
                        "rms_norm_eps": 1e-6, "rope_parameters": {"rope_theta": 1e6, "mrope_section": [4, 2, 2]}},
        "vision_config": {"depth": 1, "embed_dim": vision_embed, "num_heads": vision_heads, "mlp_ratio": 4,
                          "hidden_size": hidden, "patch_size": 14, "temporal_patch_size": 2, "spatial_merge_size": 2,
                          "in_channels": 3},
    }
