"""The fast vision graph: every temporal slice of a question (the clip's and the still's) in ONE call.

Qwen2-VL's vision attention never crosses a temporal slice (cu_seqlens has one segment per slice), so
the slices are the batch of the attention: exact, and no [N, N] block mask. Every visual in this app is
252 x 252, so every slice has the same P = 18 x 18 patches.

Inputs:
  pixel_values  float [T, P, C * tp * p * p]  the processor's patch rows, slice by slice
  cos_cache, sin_cache  float [P, head_dim / 2] the vision rotary angles of patch p of a slice: the
                (row, col) of the patch times inv_freq, as Qwen2-VL's VisionRotaryEmbedding (fed from
                the CPU, so the graph does not freeze a grid)
Output:
  visual_embeds float [1 + T * P / merge^2, hidden]  row 0 is zeros (the decoder's "not visual" row),
                then the merged features in slice order: the rows the prompt's pads take, in order.
"""

import numpy as np
from onnx import TensorProto as TP

import q4  # scripts/export/q4.py: the one MatMulNBits packer (byte-exact with onnxruntime)
from .config import VisionShape
from .graph import MS, Graph


def linear3(g: Graph, x: str, w_nk: np.ndarray, bias, name: str, quant: bool) -> str:
    """x [..., K] @ W^T + bias, any rank (MatMul / MatMulNBits both broadcast over leading dims)."""
    n, k = w_nk.shape
    if quant:
        packed, scales = q4.quantize(w_nk.T)
        ins = [x, g.init(name + ".weight_q4", packed), g.init(name + ".scales", scales)]
        if bias is not None:
            ins += ["", "", g.init(name + ".bias", bias)]
        return g.node("MatMulNBits", ins, domain=MS, name=name, K=k, N=n, bits=4, block_size=q4.BLOCK)
    y = g.node("MatMul", [x, g.init(name + ".weight_t", np.ascontiguousarray(w_nk.T))], name=name)
    return g.node("Add", [y, g.init(name + ".bias", bias)], name=name + ".bias") if bias is not None else y


def groups_of(n: int, most: int = 4) -> int:
    """The most groups (up to `most`) that split n evenly."""
    return next(k for k in range(most, 0, -1) if n % k == 0)


def attention(g: Graph, q: str, k: str, v: str, heads: int, hd: int, embed: int, name: str, groups: int = 1) -> str:
    """softmax(q k^T * hd^-0.5) v per slice and head, as the reference computes it. Plain MatMul/Softmax:
    onnxruntime-web's WebGPU MultiHeadAttention gave wrong outputs for these shapes (max |diff| 0.4 on
    the tiny model's 18 x 18 slices, 1.31.0-dev.20260914), its CPU kernel right ones. groups > 1: the
    heads in that many groups, one after the other, so that the [T, H, P, P] scores are never whole
    (onnxruntime's WebGPU buffer cache keeps what a run allocated: a 16-frame question's 60 MB scores
    otherwise). Each head's arithmetic is unchanged."""
    split = g.const([0, 0, heads, hd])
    qh = g.node("Transpose", [g.node("Reshape", [q, split])], name=name + ".q", perm=[0, 2, 1, 3])  # [T, H, P, D]
    kt = g.node("Transpose", [g.node("Reshape", [k, split])], name=name + ".kt", perm=[0, 2, 3, 1])  # [T, H, D, P]
    vh = g.node("Transpose", [g.node("Reshape", [v, split])], name=name + ".v", perm=[0, 2, 1, 3])
    if groups > 1:
        sizes = g.const([heads // groups] * groups)
        qs, ks, vs = (g.node("Split", [x, sizes], outputs=groups, name=f"{name}.{part}_groups", axis=1)
                      for x, part in ((qh, "q"), (kt, "kt"), (vh, "v")))
    else:
        qs, ks, vs = [qh], [kt], [vh]
    outs = []
    for j, (qj, kj, vj) in enumerate(zip(qs, ks, vs)):
        at = name if groups == 1 else f"{name}.{j}"
        scores = g.node("Mul", [g.node("MatMul", [qj, kj], name=at + ".qk"), g.const(hd ** -0.5, np.float32)],
                        name=at + ".scale")
        probs = g.node("Softmax", [scores], name=at + ".softmax", axis=-1)
        outs.append(g.node("MatMul", [probs, vj], name=at + ".pv"))
    pv = outs[0] if groups == 1 else g.node("Concat", outs, name=name + ".heads", axis=1)
    o = g.node("Transpose", [pv], name=name + ".o", perm=[0, 2, 1, 3])
    return g.node("Reshape", [o, g.const([0, 0, embed])], name=name + ".merge")


def mlp(g: Graph, x: str, w, p: str, quant: bool, groups: int, name: str) -> str:
    """fc2(QuickGELU(fc1(x))) without fc2's bias (the SkipLayerNormalization after it adds it). groups > 1:
    fc1's output columns in that many groups, each through QuickGELU and its rows of fc2, the partial
    products summed: no [T, P, 4 E] tensor is whole (see attention). fc1's columns are exact; fc2 sums its
    K in groups whose width keeps q4's 32-blocks whole (and, at the 2B's 1280, the a8 graph's 128-value
    activation blocks too), so only the order of fc2's additions changes."""
    w1, b1, w2 = w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"], w[p + "mlp.fc2.weight"]
    if groups == 1:
        f = linear3(g, x, w1, b1, p + "mlp.fc1", quant)
        f = g.node("QuickGelu", [f], domain=MS, name=f"{name}.quick_gelu", alpha=1.702)
        return linear3(g, f, w2, None, p + "mlp.fc2", quant)
    c = w1.shape[0] // groups
    total = None
    for j in range(groups):
        cols = slice(j * c, (j + 1) * c)
        f = linear3(g, x, np.ascontiguousarray(w1[cols]), np.ascontiguousarray(b1[cols]), f"{p}mlp.fc1.{j}", quant)
        f = g.node("QuickGelu", [f], domain=MS, name=f"{name}.quick_gelu.{j}", alpha=1.702)
        f = linear3(g, f, np.ascontiguousarray(w2[:, cols]), None, f"{p}mlp.fc2.{j}", quant)
        total = f if total is None else g.node("Add", [total, f], name=f"{name}.mlp_sum.{j}")
    return total


def mlp_groups(inner: int, most: int = 4) -> int:
    """The most MLP column groups (up to `most`) of a width that keeps q4's 32-blocks whole (see mlp)."""
    return groups_of(inner // q4.BLOCK, most) if inner % q4.BLOCK == 0 else 1


def build_vision(vs: VisionShape, w, quant: bool, name: str = "vision_fast", groups: int = 1) -> Graph:
    """groups: the attention heads and MLP columns computed in up to this many groups (attention, mlp)."""
    g = Graph(name)
    E, hd = vs.embed, vs.embed // vs.heads
    row = vs.in_channels * vs.temporal_patch * vs.patch * vs.patch
    pv = g.input("pixel_values", TP.FLOAT, ["T", "P", row])
    cos = g.input("cos_cache", TP.FLOAT, ["P", hd // 2])
    sin = g.input("sin_cache", TP.FLOAT, ["P", hd // 2])
    # Conv3d with stride == kernel over patch rows is a matmul (Qwen2-VL's patch_embed has no bias).
    patch = w["visual.patch_embed.proj.weight"].reshape(E, row)
    x = linear3(g, pv, patch, None, "visual.patch_embed.proj", quant)  # [T, P, E]
    zero = g.const([0])  # RotaryEmbedding's position_ids as one offset: positions 0..P-1 in every slice
    h = g.node("LayerNormalization", [x, g.init("visual.blocks.0.norm1.weight", w["visual.blocks.0.norm1.weight"]),
                                      g.init("visual.blocks.0.norm1.bias", w["visual.blocks.0.norm1.bias"])],
               name="blocks.0.norm1", axis=-1, epsilon=vs.eps)
    residual = x
    for i in range(vs.depth):
        p = f"visual.blocks.{i}."
        qkv = linear3(g, h, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"], p + "attn.qkv", quant)
        q, k, v = g.node("Split", [qkv, g.const([E, E, E])], outputs=3, name=f"blocks.{i}.split", axis=-1)
        q = g.node("RotaryEmbedding", [q, zero, cos, sin], domain=MS, name=f"blocks.{i}.rotary_q",
                   num_heads=vs.heads, interleaved=0)
        k = g.node("RotaryEmbedding", [k, zero, cos, sin], domain=MS, name=f"blocks.{i}.rotary_k",
                   num_heads=vs.heads, interleaved=0)
        a = attention(g, q, k, v, vs.heads, hd, E, f"blocks.{i}.attn", groups_of(vs.heads, groups))
        o = linear3(g, a, w[p + "attn.proj.weight"], None, p + "attn.proj", quant)
        h2, _, _, residual = g.node("SkipLayerNormalization",
                                    [o, residual, g.init(p + "norm2.weight", w[p + "norm2.weight"]),
                                     g.init(p + "norm2.bias", w[p + "norm2.bias"]),
                                     g.init(p + "attn.proj.bias", w[p + "attn.proj.bias"])],
                                    outputs=4, domain=MS, name=f"blocks.{i}.norm2", epsilon=vs.eps)
        f = mlp(g, h2, w, p, quant, mlp_groups(w[p + "mlp.fc1.weight"].shape[0], groups), f"blocks.{i}")
        if i + 1 < vs.depth:
            n = f"visual.blocks.{i + 1}.norm1"
        else:
            n = "visual.merger.ln_q"
        h, _, _, residual = g.node("SkipLayerNormalization",
                                   [f, residual, g.init(n + ".weight", w[n + ".weight"]),
                                    g.init(n + ".bias", w[n + ".bias"]),
                                    g.init(p + "mlp.fc2.bias", w[p + "mlp.fc2.bias"])],
                                   outputs=4, domain=MS, name=n, epsilon=vs.eps)
    m4 = E * vs.merge * vs.merge
    y = g.node("Reshape", [h, g.const([-1, m4])], name="merger.group")  # consecutive merge^2 patches
    y = linear3(g, y, w["visual.merger.mlp.0.weight"], w["visual.merger.mlp.0.bias"], "visual.merger.mlp.0", quant)
    y = g.node("Gelu", [y], domain=MS, name="merger.gelu")
    y = linear3(g, y, w["visual.merger.mlp.2.weight"], w["visual.merger.mlp.2.bias"], "visual.merger.mlp.2", quant)
    out = g.node("Pad", [y, g.const([1, 0, 0, 0])], name="zero_row", mode="constant")
    g.output("visual_embeds", TP.FLOAT, ["R", vs.out_hidden], out)
    return g


def vision_inv_freq(vs: VisionShape) -> np.ndarray:
    """VisionRotaryEmbedding(head_dim / 2).inv_freq in float32: 1 / theta^(arange(0, d, 2) / d)."""
    d = (vs.embed // vs.heads) // 2
    return (1.0 / (np.float32(vs.rope_theta) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))).astype(np.float32)
