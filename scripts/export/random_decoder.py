"""A decoder_model_merged of Qwen2-VL-2B's exact shapes with seeded random weights, built by the
hub-interface builder (no num_logits_to_keep), for measuring prefill memory without a download.

    python3 scripts/export/random_decoder.py --out /tmp/dec2b --dtype q4 [--layers 28]

2B shapes: hidden 1536, 28 layers, 12 heads, 2 KV heads, head_dim 128, MLP 8960, vocab 151936,
tied embeddings, mrope_section [16, 24, 24]. Weights N(0, 1/fan_in), norms 1 (the numbers do not
matter for memory; the shapes do).
"""

import argparse
import sys
from pathlib import Path

import zlib

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from checkpoint import QwenShapes  # noqa: E402
from hub_graphs import build_decoder  # noqa: E402


class RandomWeights:
    """Weights made on demand, the same for the same name (seeded by it)."""

    def __init__(self, s: QwenShapes):
        h, d = s.hidden, s.head_dim
        self.shapes = {"model.embed_tokens.weight": (s.vocab, h), "model.norm.weight": (h,)}
        for i in range(s.layers):
            p = f"model.layers.{i}."
            for k, v in {"self_attn.q_proj.weight": (s.heads * d, h), "self_attn.q_proj.bias": (s.heads * d,),
                         "self_attn.k_proj.weight": (s.kv_heads * d, h), "self_attn.k_proj.bias": (s.kv_heads * d,),
                         "self_attn.v_proj.weight": (s.kv_heads * d, h), "self_attn.v_proj.bias": (s.kv_heads * d,),
                         "self_attn.o_proj.weight": (h, s.heads * d), "mlp.gate_proj.weight": (s.intermediate, h),
                         "mlp.up_proj.weight": (s.intermediate, h), "mlp.down_proj.weight": (h, s.intermediate),
                         "input_layernorm.weight": (h,), "post_attention_layernorm.weight": (h,)}.items():
                self.shapes[p + k] = v

    def __contains__(self, name):
        return name in self.shapes

    def __getitem__(self, name):
        shape = self.shapes[name]
        if len(shape) == 1:
            return np.ones(shape, np.float32) if name.endswith("norm.weight") else np.zeros(shape, np.float32)
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        return (rng.standard_normal(shape, dtype=np.float32) * shape[1] ** -0.5).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dtype", default="q4")
    ap.add_argument("--layers", type=int, default=28)
    a = ap.parse_args()
    s = QwenShapes(vocab=151936, hidden=1536, intermediate=8960, layers=a.layers, heads=12, kv_heads=2, head_dim=128,
                   rms_eps=1e-6, rope_theta=1e6, mrope_section=[16, 24, 24], tied=True, v_depth=0, v_embed=1280,
                   v_heads=16, v_mlp=5120, v_out=1536)
    out = Path(a.out)
    files = build_decoder(s, RandomWeights(s), a.dtype, "float32", out / "decoder_model_merged.onnx", a.dtype == "fp32")
    print(f"wrote {out / 'decoder_model_merged.onnx'} ({len(files)} data files)")


if __name__ == "__main__":
    main()
