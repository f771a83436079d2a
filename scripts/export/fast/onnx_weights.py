"""The canonical (hub checkpoint) weight dict of a model, rebuilt from our traced ONNX export.

Our tiny model exists only as ONNX (models/tiny-random-qwen2-vl/onnx): embed_tokens.onnx holds
`embed.weight`; decoder_model_merged.onnx names its biases and norms (`lm.layers.0.self_attn.q_proj.bias`,
`lm.norm.weight`) but its Linear weights are `onnx::MatMul_N` [K, N] (transposed) initializers;
vision_encoder.onnx has `patch_w` [1176, embed] and `visual.blocks.*` biases and norms likewise. The
MatMul weights are matched to their Linear by walking the graph: in node order each decoder layer has
q, k, v, o, then gate and up (told apart by the gate feeding the SiLU's Sigmoid), then down; lm_head
last (tied to embed_tokens here, which is checked). Each vision block has qkv, proj, fc1, fc2; then
the merger's mlp.0 and mlp.2. Shapes are checked against the config on the way.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from .config import text_shape, vision_shape


def _load(path: Path):
    m = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    return m.graph, inits


def _weight_matmuls(graph, inits):
    """(node, weight [K, N]) of every MatMul whose B is an initializer, in graph (topological) order."""
    return [(n, inits[n.input[1]]) for n in graph.node if n.op_type == "MatMul" and n.input[1] in inits]


def _consumers(graph, name):
    return [n for n in graph.node if name in n.input]


def weights_from_onnx(onnx_dir, config: dict) -> dict[str, np.ndarray]:
    onnx_dir = Path(onnx_dir)
    ts, vs = text_shape(config), vision_shape(config)
    out: dict[str, np.ndarray] = {}

    _, emb = _load(onnx_dir / "embed_tokens.onnx")
    out["model.embed_tokens.weight"] = emb["embed.weight"]

    graph, inits = _load(onnx_dir / "decoder_model_merged.onnx")
    mms = _weight_matmuls(graph, inits)
    per_layer = 7
    if len(mms) != per_layer * ts.layers + 1:
        raise ValueError(f"decoder: {len(mms)} weight MatMuls, expected {per_layer * ts.layers + 1}")
    for i in range(ts.layers):
        p = f"model.layers.{i}."
        (q, wq), (k, wk), (v, wv), (o, wo), (a, wa), (b, wb), (d, wd) = mms[per_layer * i: per_layer * (i + 1)]
        # The gate's output feeds the SiLU's Sigmoid; the up projection's does not.
        a_gate = any(c.op_type == "Sigmoid" for c in _consumers(graph, a.output[0]))
        b_gate = any(c.op_type == "Sigmoid" for c in _consumers(graph, b.output[0]))
        if a_gate == b_gate:
            raise ValueError(f"decoder layer {i}: cannot tell gate_proj from up_proj")
        wg, wu = (wa, wb) if a_gate else (wb, wa)
        for name, w in [("self_attn.q_proj", wq), ("self_attn.k_proj", wk), ("self_attn.v_proj", wv),
                        ("self_attn.o_proj", wo), ("mlp.gate_proj", wg), ("mlp.up_proj", wu), ("mlp.down_proj", wd)]:
            out[p + name + ".weight"] = np.ascontiguousarray(w.T)
        for name in ["self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
                     "input_layernorm.weight", "post_attention_layernorm.weight"]:
            out[p + name] = inits[f"lm.layers.{i}.{name}"]
    out["model.norm.weight"] = inits["lm.norm.weight"]
    lm_head = np.ascontiguousarray(mms[-1][1].T)
    if ts.tied:
        if not np.array_equal(lm_head, out["model.embed_tokens.weight"]):
            raise ValueError("decoder: config says tied embeddings but lm_head differs from embed_tokens")
    else:
        out["lm_head.weight"] = lm_head

    graph, inits = _load(onnx_dir / "vision_encoder.onnx")
    mms = _weight_matmuls(graph, inits)
    patch_w = inits["patch_w"]  # [C * tp * p * p, embed]
    out["visual.patch_embed.proj.weight"] = np.ascontiguousarray(patch_w.T).reshape(
        vs.embed, vs.in_channels, vs.temporal_patch, vs.patch, vs.patch)
    blocks = [m for m in mms if m[0].input[1] != "patch_w"]
    if len(blocks) != 4 * vs.depth + 2:
        raise ValueError(f"vision: {len(blocks)} weight MatMuls, expected {4 * vs.depth + 2}")
    for i in range(vs.depth):
        p = f"visual.blocks.{i}."
        for j, name in enumerate(["attn.qkv", "attn.proj", "mlp.fc1", "mlp.fc2"]):
            out[p + name + ".weight"] = np.ascontiguousarray(blocks[4 * i + j][1].T)
            out[p + name + ".bias"] = inits[p + name + ".bias"]
        for name in ["norm1", "norm2"]:
            out[p + name + ".weight"] = inits[p + name + ".weight"]
            out[p + name + ".bias"] = inits[p + name + ".bias"]
    for j, name in enumerate(["visual.merger.mlp.0", "visual.merger.mlp.2"]):
        out[name + ".weight"] = np.ascontiguousarray(blocks[4 * vs.depth + j][1].T)
        out[name + ".bias"] = inits[name + ".bias"]
    out["visual.merger.ln_q.weight"] = inits["visual.merger.ln_q.weight"]
    out["visual.merger.ln_q.bias"] = inits["visual.merger.ln_q.bias"]
    check_shapes(out, config)
    return out


def expected_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    ts, vs = text_shape(config), vision_shape(config)
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


def check_shapes(weights, config: dict) -> None:
    """Every weight the builder needs is present with the shape the config implies (names as on the hub)."""
    for name, shape in expected_shapes(config).items():
        if name not in weights:
            raise KeyError(f"weights: missing {name}")
        got = tuple(np.shape(weights[name]))
        if got != shape:
            raise ValueError(f"weights: {name} has shape {got}, the config implies {shape}")
