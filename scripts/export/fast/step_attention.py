"""The decode step's attention in standard ops, instead of GroupQueryAttention.

Why: onnxruntime-web's WebGPU GroupQueryAttention, in a captured graph, decodes on its flash path with
one indirect dispatch per layer (its tile counts follow the sequence length, which lies on the GPU).
Chromium's Dawn validates every indirect dispatch by creating a uniform buffer and a bind group and
encoding one more dispatch in the GPU process: ~150 us each, 28 per 2B step, about half of that
process's time per step (bench/gpu-h200-dispatch.json `indirect_extra_us_each`), and that process's one
thread bounds the decode rate. A direct dispatch costs it ~3 us. So a step computes its attention over
the whole fixed-capacity cache with a mask instead: every dispatch size is fixed, none is indirect.

Per layer, with S = 1, C = cache capacity, n_rep = heads / kv_heads, D = the cache's head size:
  q, k, v = Split(qkv)                               (the fused projection's columns)
  q' = RotaryEmbedding(q) with the q tables, k' = RotaryEmbedding(k)
  present_key = ScatterND(past_key, rows, k')        (in place: the engine binds present_* to the
  present_value = ScatterND(past_value, rows, v)      past_* buffers, so no copy runs; see below)
  probs = Softmax(q'[kv, n_rep, D] @ present_key[kv, C, D]^T + mask)
  attn = probs @ present_value[kv, C, D], as a batch of CHUNK-position products summed (DEFAULT):
         onnxruntime's tiled MatMul gives one [n_rep, C] @ [C, D] product few workgroups, each looping
         over all of C (198 tokens/s for the 2B on the H200 against 173 as one MatMul)
Once per step: the rotary rows of this position (Gather), the q tables times the attention scale (the
scale folded into q: one Mul of a row per step, not one of the scores per layer), the ScatterND rows
(int64 [kv, 3]: batch 0, each kv head, this position), and mask [C]: 0 up to this position, the lowest
float past it (exp gives exactly 0 there, so stale cache rows weigh nothing).

Exact as GroupQueryAttention is, up to fp32 rounding: the same rotation of q and k (non-interleaved,
the same cos/sin rows), the same keys and values, softmax over the same positions (the context's sum
in another order).

onnxruntime's WebGPU ScatterND copies its input to its output only when they are different buffers; a
captured graph does not replay that copy (decoder.py), but with past and present bound to one buffer
there is none to replay: only the scatter's dispatch."""

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

from .graph import MS, Graph

GQA = "GroupQueryAttention"
POSITIONS = "cache_positions"  # int32 [C]: 0..C-1, written once by the engine (engine.ts allocate)


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


VARIANTS = ("ops", "ops-kq", "ops-chunk", "ops-kq-chunk")
# The context in chunks: 198 tokens/s for the 2B on the H200 against 173 with one MatMul ("ops"), 157
# with "ops-kq" and 177 with both, each in a fresh browser in one call (bench/gpu-h200-step-variants.json).
DEFAULT = "ops-chunk"
CHUNK = 64  # "chunk": the context's sum over the cache in runs of this many positions (C % CHUNK == 0;
# the engine rounds its capacity up to a multiple: src/model/fast/engine.ts CACHE_ALIGN)


def replace_attention(model: onnx.ModelProto, variant: str = DEFAULT) -> int:
    """Rewrite every GroupQueryAttention node of a decode-step graph (S = 1, do_rotary, packed q|k|v,
    past and present one buffer) into the ops above; adds the `cache_positions` input. Returns how many
    nodes were replaced. Variants (benchmark A/Bs of the same arithmetic in other kernels): "kq" computes
    the scores as K @ q^T (the cache is not transposed, q and the scores are: small), "chunk" the context
    as a batch of CHUNK-position products summed (onnxruntime's tiled MatMul runs a [n_rep, C] @ [C, D]
    product in a few workgroups looping over C; needs C % CHUNK == 0)."""
    if variant not in VARIANTS:
        raise ValueError(f"replace_attention: variant {variant!r} is not one of {VARIANTS}")
    g = model.graph
    gqa = [n for n in g.node if n.op_type == GQA]
    if not gqa:
        return 0
    first = gqa[0]
    seqlens, total, cos, sin = first.input[5], first.input[6], first.input[7], first.input[8]
    heads, kv_heads = _attr(first, "num_heads"), _attr(first, "kv_num_heads")
    scale = _attr(first, "scale")
    for n in gqa:
        if (n.input[1] or n.input[2] or list(n.input[5:9]) != [seqlens, total, cos, sin]
                or _attr(n, "do_rotary") != 1 or _attr(n, "rotary_interleaved", 0) != 0
                or (_attr(n, "num_heads"), _attr(n, "kv_num_heads"), _attr(n, "scale")) != (heads, kv_heads, scale)
                or len(n.input) > 9 or _attr(n, "local_window_size", -1) != -1 or _attr(n, "softcap", 0.0)):
            raise ValueError(f"{n.name}: not the step's GroupQueryAttention (packed q|k|v, do_rotary, shared tables)")
    if scale is None:
        raise ValueError(f"{first.name}: GroupQueryAttention without a scale attribute")
    kv_shape = next(i for i in g.input if i.name == first.input[3]).type.tensor_type.shape
    hd = kv_shape.dim[3].dim_value
    n_rep = heads // kv_heads

    w = Graph("step_attention")  # collects the nodes and constants; the step graph's own are kept
    i64, i32, f32 = np.int64, np.int32, np.float32
    # Once per step.
    cos_row = w.node("Gather", [cos, seqlens], name="step/cos_row", axis=0)  # [1, D/2]
    sin_row = w.node("Gather", [sin, seqlens], name="step/sin_row", axis=0)
    s = w.init("step/scale", np.asarray(scale, f32))
    cos_q = w.node("Mul", [cos_row, s], name="step/cos_q")
    sin_q = w.node("Mul", [sin_row, s], name="step/sin_q")
    row0 = w.init("step/row0", np.asarray([[0]], i64))  # the rotary rows above are the only row of their tables
    base = w.init("step/scatter_base", np.asarray([[0, h, 0] for h in range(kv_heads)], i32))
    pick = w.init("step/scatter_pick", np.asarray([[0, 0, 1]], i32))
    rows32 = w.node("Add", [base, w.node("Mul", [pick, seqlens], name="step/scatter_pos")], name="step/scatter_rows32")
    rows = w.node("Cast", [rows32], name="step/scatter_rows", to=TP.INT64)  # [kv, 3]
    valid = w.node("Less", [POSITIONS, total], name="step/valid")  # [C]: position < past + 1
    zero = w.init("step/zero", np.asarray(0.0, f32))
    lowest = w.init("step/lowest", np.asarray(np.finfo(f32).min, f32))
    mask = w.node("Where", [valid, zero, lowest], name="step/mask")
    sizes = w.init("step/qkv_sizes", np.asarray([heads * hd, kv_heads * hd, kv_heads * hd], i64))
    q_shape = w.init("step/q_grouped", np.asarray([kv_heads, n_rep, hd], i64))
    kv_rows = w.init("step/kv_rows", np.asarray([kv_heads, hd], i64))
    cache3 = w.init("step/cache_grouped", np.asarray([kv_heads, -1, hd], i64))
    out_shape = w.init("step/attn_shape", np.asarray([1, 1, heads * hd], i64))
    if "chunk" in variant:
        probs4 = w.init("step/probs_runs", np.asarray([kv_heads, n_rep, -1, CHUNK], i64))
        values4 = w.init("step/values_runs", np.asarray([kv_heads, -1, CHUNK, hd], i64))
        axis1 = w.init("step/axis1", np.asarray([1], i64))
    per_step = list(w.nodes)
    w.nodes.clear()

    for n in gqa:
        p = n.name
        attn_out, pk_out, pv_out = n.output
        q, k, v = w.node("Split", [n.input[0], sizes], outputs=[f"{p}/q", f"{p}/k", f"{p}/v"], name=f"{p}/split",
                         axis=-1)
        qr = w.node("RotaryEmbedding", [q, row0, cos_q, sin_q], name=f"{p}/rotary_q", domain=MS,
                    interleaved=0, num_heads=heads)
        kr = w.node("RotaryEmbedding", [k, row0, cos_row, sin_row], name=f"{p}/rotary_k", domain=MS,
                    interleaved=0, num_heads=kv_heads)
        k_rows = w.node("Reshape", [kr, kv_rows], name=f"{p}/k_rows")
        w.node("ScatterND", [n.input[3], rows, k_rows], outputs=[pk_out], name=f"{p}/write_key")
        v_rows = w.node("Reshape", [v, kv_rows], name=f"{p}/v_rows")
        w.node("ScatterND", [n.input[4], rows, v_rows], outputs=[pv_out], name=f"{p}/write_value")
        keys = w.node("Reshape", [pk_out, cache3], name=f"{p}/keys")  # [kv, C, D]
        if "kq" in variant:
            q3 = w.node("Reshape", [qr, q_shape], name=f"{p}/q_grouped")  # [kv, n_rep, D]
            q_t = w.node("Transpose", [q3], name=f"{p}/q_t", perm=[0, 2, 1])  # [kv, D, n_rep]
            scores = w.node("Transpose", [w.node("MatMul", [keys, q_t], name=f"{p}/scores_t")], name=f"{p}/scores",
                            perm=[0, 2, 1])
        else:
            keys_t = w.node("Transpose", [keys], name=f"{p}/keys_t", perm=[0, 2, 1])  # [kv, D, C]
            scores = w.node("MatMul", [w.node("Reshape", [qr, q_shape], name=f"{p}/q_grouped"), keys_t],
                            name=f"{p}/scores")
        probs = w.node("Softmax", [w.node("Add", [scores, mask], name=f"{p}/masked")], name=f"{p}/probs", axis=-1)
        if "chunk" in variant:
            runs = w.node("Transpose", [w.node("Reshape", [probs, probs4], name=f"{p}/probs_runs")],
                          name=f"{p}/probs_t", perm=[0, 2, 1, 3])  # [kv, C / CHUNK, n_rep, CHUNK]
            values = w.node("Reshape", [pv_out, values4], name=f"{p}/values")  # [kv, C / CHUNK, CHUNK, D]
            parts = w.node("MatMul", [runs, values], name=f"{p}/context_runs")  # [kv, C / CHUNK, n_rep, D]
            ctx = w.node("ReduceSum", [parts, axis1], name=f"{p}/context", keepdims=0)
        else:
            values = w.node("Reshape", [pv_out, cache3], name=f"{p}/values")
            ctx = w.node("MatMul", [probs, values], name=f"{p}/context")
        w.node("Reshape", [ctx, out_shape], name=f"{p}/out", outputs=[attn_out])

    # Each layer's nodes go where its GroupQueryAttention was, the per-step ones before the first.
    by_layer = {}
    for node in w.nodes:
        by_layer.setdefault(node.name.split("/")[0], []).append(node)
    nodes = []
    for n in g.node:
        if n.op_type != GQA:
            nodes.append(n)
            continue
        if n is first:
            nodes.extend(per_step)
        nodes.extend(by_layer[n.name])
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(numpy_helper.from_array(v, k) for k, v in w.inits.items())
    cap = kv_shape.dim[2]
    positions = helper.make_tensor_value_info(POSITIONS, TP.INT32, [cap.dim_param or cap.dim_value])
    g.input.append(positions)
    return len(gqa)
