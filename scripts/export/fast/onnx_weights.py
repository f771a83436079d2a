"""The weights the fast builder needs, by their hub checkpoint names, with the shapes a config implies.

The dict itself comes from a checkpoint (checkpoint.SafetensorsWeights) or, for our own traced
export, from tiny_weights.load_tiny_weights.
"""

import numpy as np

from .config import text_shape, vision_shape


def expected_shapes(config: dict, vision: bool = True) -> dict[str, tuple[int, ...]]:
    """vision=False: the text model's weights only (a model whose fast manifest runs its reference vision graph)."""
    ts = text_shape(config)
    q, kv = ts.heads * ts.head_dim, ts.kv_heads * ts.head_dim
    s = {"model.embed_tokens.weight": (ts.vocab, ts.hidden), "model.norm.weight": (ts.hidden,)}
    if not ts.tied:
        s["lm_head.weight"] = (ts.vocab, ts.hidden)
    for i in range(ts.layers):
        p = f"model.layers.{i}."
        s.update({p + "self_attn.q_proj.weight": (q, ts.hidden), p + "self_attn.q_proj.bias": (q,),
                  p + "self_attn.k_proj.weight": (kv, ts.hidden), p + "self_attn.k_proj.bias": (kv,),
                  p + "self_attn.v_proj.weight": (kv, ts.hidden), p + "self_attn.v_proj.bias": (kv,),
                  p + "self_attn.o_proj.weight": (ts.hidden, q),
                  p + "mlp.gate_proj.weight": (ts.intermediate, ts.hidden),
                  p + "mlp.up_proj.weight": (ts.intermediate, ts.hidden),
                  p + "mlp.down_proj.weight": (ts.hidden, ts.intermediate),
                  p + "input_layernorm.weight": (ts.hidden,), p + "post_attention_layernorm.weight": (ts.hidden,)})
    if not vision:
        return s
    vs = vision_shape(config)
    e, m4 = vs.embed, vs.embed * vs.merge * vs.merge
    s["visual.patch_embed.proj.weight"] = (e, vs.in_channels, vs.temporal_patch, vs.patch, vs.patch)
    for i in range(vs.depth):
        p = f"visual.blocks.{i}."
        s.update({p + "norm1.weight": (e,), p + "norm1.bias": (e,), p + "norm2.weight": (e,), p + "norm2.bias": (e,),
                  p + "attn.qkv.weight": (3 * e, e), p + "attn.qkv.bias": (3 * e,),
                  p + "attn.proj.weight": (e, e), p + "attn.proj.bias": (e,),
                  p + "mlp.fc1.weight": (vs.mlp_hidden, e), p + "mlp.fc1.bias": (vs.mlp_hidden,),
                  p + "mlp.fc2.weight": (e, vs.mlp_hidden), p + "mlp.fc2.bias": (e,)})
    s.update({"visual.merger.ln_q.weight": (e,), "visual.merger.ln_q.bias": (e,),
              "visual.merger.mlp.0.weight": (m4, m4), "visual.merger.mlp.0.bias": (m4,),
              "visual.merger.mlp.2.weight": (vs.out_hidden, m4), "visual.merger.mlp.2.bias": (vs.out_hidden,)})
    return s


def check_shapes(weights, config: dict, vision: bool = True) -> None:
    """Every weight the builder needs is present with the shape the config implies (names as on the hub)."""
    # A lazy mapping (random_weights.LazyRandomWeights) says a shape without making the tensor.
    shape_of = getattr(weights, "shape_of", None)
    for name, shape in expected_shapes(config, vision).items():
        if name not in weights:
            raise KeyError(f"weights: missing {name}")
        got = tuple(shape_of(name) if shape_of else np.shape(weights[name]))
        if got != shape:
            raise ValueError(f"weights: {name} has shape {got}, the config implies {shape}")
