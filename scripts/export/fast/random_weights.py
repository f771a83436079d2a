"""Random weights under the hub checkpoint's names for any Qwen2-VL config (numpy; tests of the builder
on shapes no committed model has). Unit-gain init as model_def.py's: embeddings std 1, matrices std
1/sqrt(fan_in), norm weights 1 +- 0.1, biases std 0.1 (the values differ from torch's generator)."""

import numpy as np

from .onnx_weights import expected_shapes


def random_weights(config: dict, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in expected_shapes(config).items():
        if name.endswith("embed_tokens.weight"):
            w = rng.standard_normal(shape)
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            w = rng.standard_normal(shape) * fan_in ** -0.5
        elif ("norm" in name or "ln_q" in name) and name.endswith("weight"):
            w = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            w = 0.1 * rng.standard_normal(shape)
        out[name] = w.astype(np.float32)
    return out


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
