"""The fast decoder graph: one session.run per decode step, everything on the GPU, only the next token id
read back.

Inputs (S = tokens of this step, C = KV capacity, R = rows of visual features + 1):
  input_ids              int32 [S, 1]         token ids of this step (in decode: the previous step's
                                              next_token, copied GPU to GPU)
  visual_rows            int32 [S, 1]         0 for text, k >= 1: take row k of visual_embeds instead of the
                                              token's embedding (the vision graph's row 0 is a zero row)
  visual_embeds          float [R, hidden]    the vision graph's output (a [1, hidden] dummy in decode)
  seqlens_k              int32 [1]            past + S - 1 (GroupQueryAttention's convention)
  total_sequence_length  int32 []             past + S
  cos_cache, sin_cache   float [C, D/2]       row i: the M-RoPE angles of cache position i (computed once
                                              per question on the CPU; GQA's do_rotary indexes them by position);
                                              D = kv_head_dim(head_dim): columns >= head_dim/2 are cos 1, sin 0
  past_key.{i}, past_value.{i}  float [1, kv_heads, C, D]  fixed-capacity cache, bound to the same
                                              GPU buffers as present_* (past_present_share_buffer)
  logit_rows             int64 [L]            rows of this step whose logits are wanted; the last one scores
  seen                   float [vocab]        1 where the id occurred (prompt and generated so far)
Outputs:
  logits                 float [L, vocab]     raw logits of those rows (read back only when wanted)
  next_token             int32 [1, 1]         argmax after the repetition penalty over seen + the last input id
  present_key.{i}, present_value.{i}

Integer tensors are int32 (ids, rows, compares): onnxruntime's WebGPU EP has no int64 kernels outside
graph capture and would put an int64 Unsqueeze or Greater on the CPU (a GPU -> CPU copy, i.e. a sync,
every decode step). The argmax is two levels of ReduceMax / ReduceMin (first_argmax), not ArgMax.

Ops: Gather (embedding, inside the graph) + Where (visual rows), SimplifiedLayerNormalization /
SkipSimplifiedLayerNormalization (residual adds fused), one fused q|k|v projection with bias,
GroupQueryAttention (packed QKV, do_rotary, shared KV buffer), SiLU as Sigmoid * x (the pattern
onnxruntime's WebGPU MatMulNBitsMlpFusion folds with the norm and both projections into one kernel),
tied lm_head sharing the embedding initializer (fp32: Gemm transB), penalty + a parallel argmax on the device.
q4: every Linear is MatMulNBits (block 32, symmetric; see q4.py), the embedding lookup stays fp32.
q8: every Linear is the reference q8 pattern (DynamicQuantizeLinear of the input, MatMulInteger on int8
weights, Cast, Mul by input scale x weight scale; q8.py gives quantize_dynamic's bytes); the embedding is
the reference q8 embed_tokens' uint8 Gather + DequantizeLinear. Each DynamicQuantizeLinear sees the rows the
reference's does (the lm_head's input is quantised over all S rows before the logit rows are picked), so the
graph computes the reference q8 graphs' integers.
"""

import numpy as np
from onnx import TensorProto as TP

import q4  # scripts/export/q4.py: the one MatMulNBits packer (byte-exact with onnxruntime)
import q8  # scripts/export/q8.py: quantize_dynamic's int8 / uint8 bytes
from .config import TextShape
from .graph import MS, Graph, Shared

PENALTY = 1.05  # the official repetition penalty (protocol section 4)


ARGMAX_ROW = 128  # the width of each row of the two-level argmax below


def first_argmax(g: Graph, scored: str, vocab: int) -> str:
    """int32 [1, 1]: the first index of the largest of `scored` [1, vocab], as ArgMax gives it, from
    reductions that run in parallel. onnxruntime's WebGPU ArgMax is one invocation per output looping
    over the whole row (its shared-memory reduction refuses ArgMax): 9.5 ms of a 13.6 ms 2B decode step
    on the H200 (bench/gpu-h200-before-argmax.json); these reductions take ~8-13 us each (bench/gpu-h200-argmax.json).
    Exact: max and min are order-free, the compare is exact and the ids are integers in float32
    (exact below 2^24); ties give the lowest id, as ArgMax does."""
    rows = -(-vocab // ARGMAX_ROW)
    padded = rows * ARGMAX_ROW
    x = scored
    if padded > vocab:  # pad the row with the lowest float, which never wins over a real logit
        x = g.node("Concat", [scored, g.const(np.full((1, padded - vocab), np.finfo(np.float32).min), np.float32)],
                   name="argmax_pad", axis=1)
    grid = g.node("Reshape", [x, g.const([rows, ARGMAX_ROW])], name="argmax_grid")  # [rows, 128]
    row_max = g.node("ReduceMax", [grid], name="argmax_row_max", axes=[1], keepdims=1)  # [rows, 1]
    best = g.node("ReduceMax", [row_max], name="argmax_max", axes=[0, 1], keepdims=1)  # [1, 1]
    ids = g.node("Reshape", [g.node("Range", [g.const(0.0, np.float32), g.const(float(padded), np.float32),
                                              g.const(1.0, np.float32)], name="argmax_ids"),
                             g.const([rows, ARGMAX_ROW])], name="argmax_id_grid")
    hits = g.node("Where", [g.node("Equal", [grid, best], name="argmax_hit"), ids, g.const(float(padded), np.float32)],
                  name="argmax_hit_ids")
    row_first = g.node("ReduceMin", [hits], name="argmax_row_first", axes=[1], keepdims=1)  # [rows, 1]
    first = g.node("ReduceMin", [row_first], name="argmax_first", axes=[0, 1], keepdims=1)  # [1, 1]
    return g.node("Cast", [first], name="next_token", to=TP.INT32)


def kv_head_dim(head_dim: int) -> int:
    """GroupQueryAttention's rotary needs head_size % 16 == 0 (every EP's input check): smaller heads are
    padded with zero dimensions (the tiny test model has 8)."""
    return -(-head_dim // 16) * 16


def pad_heads(w_nk: np.ndarray, heads: int, hd: int, hdp: int, axis: int) -> np.ndarray:
    """Spread each head's hd dims over hdp: the first half at [0, hd/2), the second at [hdp/2, hdp/2 + hd/2),
    zeros elsewhere, so rotate_half's pairs (i, i + hd/2) become GQA's (i, i + hdp/2) and q.k is unchanged."""
    if hdp == hd:
        return w_nk
    w = np.moveaxis(np.asarray(w_nk), axis, 0)
    rest = w.shape[1:]
    src = w.reshape(heads, hd, *rest)
    dst = np.zeros((heads, hdp, *rest), w.dtype)
    dst[:, : hd // 2] = src[:, : hd // 2]
    dst[:, hdp // 2: hdp // 2 + hd // 2] = src[:, hd // 2:]
    return np.moveaxis(dst.reshape(heads * hdp, *rest), 0, axis)


def linear(g: Graph, x: str, w_nk: np.ndarray, bias, name: str, quant: bool, packed_q4=None) -> str:
    """x [M, K] @ W^T (+ bias) for a PyTorch Linear weight [N, K] (`packed_q4`: its q4.quantize(), if done)."""
    n, k = w_nk.shape
    if quant:
        packed, scales = packed_q4 if packed_q4 is not None else q4.quantize(w_nk.T)
        ins = [x, g.init(name + ".weight_q4", packed), g.init(name + ".scales", scales)]
        if bias is not None:
            ins += ["", "", g.init(name + ".bias", bias)]
        return g.node("MatMulNBits", ins, domain=MS, name=name, K=k, N=n, bits=4, block_size=q4.BLOCK)
    ins = [x, g.init(name + ".weight", w_nk)] + ([g.init(name + ".bias", bias)] if bias is not None else [])
    return g.node("Gemm", ins, name=name, transB=1)


def quantize_input(g: Graph, x: str, name: str) -> tuple[str, str, str]:
    """DynamicQuantizeLinear of an activation (uint8, per tensor): (quantized, scale, zero point)."""
    return tuple(g.node("DynamicQuantizeLinear", [x], outputs=3, name=name + "/quantize_input"))


def linear_q8(g: Graph, xq: tuple[str, str, str], parts: list[np.ndarray], bias, name: str,
              quantized: tuple[np.ndarray, np.ndarray] | None = None) -> str:
    """The reference q8 MatMul for x (already DynamicQuantizeLinear'd: `xq`) @ W^T, W the row-wise concat of
    `parts` (PyTorch Linear weights [N_i, K], each quantised on its own as the reference's separate MatMuls
    are; a fused q|k|v multiplies by the per-column scale vector, the same float products); `quantized`:
    (int8 [K, N], scale) done already (a shared tensor)."""
    if quantized is None:
        qs = [q8.quantize_weight(p.T) for p in parts]
        wq = np.concatenate([q for q, _ in qs], 1)
        scale = qs[0][1] if len(qs) == 1 else np.concatenate([np.full(p.shape[0], s, np.float32)
                                                                for p, (_, s) in zip(parts, qs)])
        wname = g.init(name + ".weight_quantized", wq)
    else:
        wname, scale = quantized
    xs, xscale, xzp = xq
    mm = g.node("MatMulInteger", [xs, wname, xzp, g.init(name + ".weight_zero_point", np.array(0, np.int8))],
                name=name)
    scales = g.node("Mul", [xscale, g.init(name + ".weight_scale", np.asarray(scale, np.float32))],
                    name=name + "/scales")
    y = g.node("Mul", [g.node("Cast", [mm], name=name + "/cast", to=TP.FLOAT), scales], name=name + "/scaled")
    return g.node("Add", [y, g.init(name + ".bias", bias)], name=name + "/bias") if bias is not None else y


def build_decoder(ts: TextShape, w, quant: bool, share_embed: Shared | None = None,
                  name: str = "decoder_fast", packed: bool = True, embed_q4: bool = False, int8: bool = False,
                  share_q8: dict | None = None) -> Graph:
    """embed_q4 (q4 only): the embedding lookup as GatherBlockQuantized over the same 4-bit bytes as
    the tied lm_head's MatMulNBits (one copy on disk, exact same dequantised rows); else an fp32 Gather.
    int8 (quant False): the q8 graph; share_q8: {"embed": Shared, "lm_head": Shared} where the reference q8
    graphs' bytes of the embedding's uint8 data / the lm_head's int8 weight already lie on disk."""
    if int8 and quant:
        raise ValueError("build_decoder: q4 (quant) and q8 (int8) exclude each other")
    share_q8 = share_q8 or {}
    g = Graph(name)
    H, V = ts.hidden, ts.vocab
    hd = kv_head_dim(ts.head_dim)  # the cache's and GQA's head size
    ids = g.input("input_ids", TP.INT32, ["S", 1])
    vrows = g.input("visual_rows", TP.INT32, ["S", 1])
    vemb = g.input("visual_embeds", TP.FLOAT, ["R", H])
    seqlens = g.input("seqlens_k", TP.INT32, [1])
    total = g.input("total_sequence_length", TP.INT32, [])
    cos = g.input("cos_cache", TP.FLOAT, ["C", hd // 2])
    sin = g.input("sin_cache", TP.FLOAT, ["C", hd // 2])
    past = []
    for i in range(ts.layers):
        past.append((g.input(f"past_key.{i}", TP.FLOAT, [1, ts.kv_heads, "C", hd]),
                     g.input(f"past_value.{i}", TP.FLOAT, [1, ts.kv_heads, "C", hd])))
    rows = g.input("logit_rows", TP.INT64, ["L"])
    seen = g.input("seen", TP.FLOAT, [V])

    embed = w["model.embed_tokens.weight"]
    e_name = "model.embed_tokens.weight"
    embed_packed = None
    flat = g.const([-1, H])
    if embed_q4:
        if not quant or H % q4.BLOCK:
            raise ValueError("embed_q4 needs a q4 graph and hidden % 32 == 0")
        embed_packed = packed_e, scales_e = q4.quantize(embed.T)
        data = g.init(e_name + "_q4", packed_e.reshape(V, H // 2))
        gathered = g.node("GatherBlockQuantized", [data, ids, g.init(e_name + ".scales", scales_e)], domain=MS,
                          name="embed_tokens", bits=4, block_size=q4.BLOCK, gather_axis=0, quantize_axis=1)
    elif int8:  # the reference q8 embed_tokens: uint8 Gather, then DequantizeLinear of the rows
        eq, escale, ezp = q8.quantize_gather(embed)
        data = e_name + "_quantized"
        if "embed" in share_q8:
            g.share(data, eq, share_q8["embed"])
        else:
            g.init(data, eq)
        rows8 = g.node("Gather", [data, ids], name="embed_tokens")
        gathered = g.node("DequantizeLinear", [rows8, g.init(e_name + "_scale", escale),
                                               g.init(e_name + "_zero_point", ezp)], name="embed_tokens/dequantize")
    else:
        if share_embed is not None:
            g.share(e_name, embed, share_embed)
        else:
            g.init(e_name, embed)
        gathered = g.node("Gather", [e_name, ids], name="embed_tokens")

    # Token embeddings, with the visual features over their pad positions.
    tok = g.node("Reshape", [gathered, flat])  # [S, H]
    vis = g.node("Reshape", [g.node("Gather", [vemb, vrows], name="visual_gather"), flat])
    zero32 = g.const(0, np.int32)
    x = g.node("Where", [g.node("Greater", [vrows, zero32]), vis, tok], name="visual_merge")

    def proj(x_in: str, parts: list[np.ndarray], bias, pname: str) -> str:
        if int8:
            return linear_q8(g, quantize_input(g, x_in, pname), parts, bias, pname)
        return linear(g, x_in, parts[0] if len(parts) == 1 else np.concatenate(parts, 0), bias, pname, quant)

    residual = x
    h = g.node("SimplifiedLayerNormalization", [x, g.init("model.layers.0.input_layernorm.weight",
               w["model.layers.0.input_layernorm.weight"])], name="layers.0.input_layernorm",
               axis=-1, epsilon=ts.rms_eps, stash_type=1)
    presents = []
    for i in range(ts.layers):
        p = f"model.layers.{i}."
        nh = {"q": ts.heads, "k": ts.kv_heads, "v": ts.kv_heads}
        wqkv = [pad_heads(w[p + f"self_attn.{n}_proj.weight"], nh[n], ts.head_dim, hd, 0) for n in "qkv"]
        bqkv = np.concatenate([pad_heads(w[p + f"self_attn.{n}_proj.bias"], nh[n], ts.head_dim, hd, 0)
                               for n in "qkv"], 0)
        qkv = proj(h, wqkv, bqkv, p + "self_attn.qkv_proj")  # [S, q + 2 kv]
        qkv3 = g.node("Unsqueeze", [qkv, g.const([0])])  # [1, S, q + 2 kv]
        if packed:
            qkv_in = [qkv3, "", ""]
        else:
            qkv_in = g.node("Split", [qkv3, g.const([ts.heads * hd, ts.kv_heads * hd, ts.kv_heads * hd])], outputs=3,
                            name=f"layers.{i}.qkv_split", axis=-1)
        attn, pk, pv = g.node("GroupQueryAttention",
                              [*qkv_in, past[i][0], past[i][1], seqlens, total, cos, sin],
                              outputs=[f"layers.{i}.attn", f"present_key.{i}/raw", f"present_value.{i}/raw"],
                              domain=MS, name=f"layers.{i}.attn", num_heads=ts.heads, kv_num_heads=ts.kv_heads,
                              do_rotary=1, rotary_interleaved=0, scale=float(ts.head_dim ** -0.5))
        presents.append((pk, pv))
        attn2 = g.node("Squeeze", [attn, g.const([0])])  # [S, q]
        wo = pad_heads(w[p + "self_attn.o_proj.weight"], ts.heads, ts.head_dim, hd, 1)
        o = proj(attn2, [wo], None, p + "self_attn.o_proj")
        h2, _, _, residual = g.node("SkipSimplifiedLayerNormalization",
                                    [o, residual, g.init(p + "post_attention_layernorm.weight",
                                                         w[p + "post_attention_layernorm.weight"])],
                                    outputs=4, domain=MS, name=f"layers.{i}.post_attention_layernorm",
                                    epsilon=ts.rms_eps)
        if int8:  # one DynamicQuantizeLinear for both, as the reference shares it
            h2q = quantize_input(g, h2, p + "mlp.gate_up")
            gate = linear_q8(g, h2q, [w[p + "mlp.gate_proj.weight"]], None, p + "mlp.gate_proj")
            up = linear_q8(g, h2q, [w[p + "mlp.up_proj.weight"]], None, p + "mlp.up_proj")
        else:
            gate = linear(g, h2, w[p + "mlp.gate_proj.weight"], None, p + "mlp.gate_proj", quant)
            up = linear(g, h2, w[p + "mlp.up_proj.weight"], None, p + "mlp.up_proj", quant)
        act = g.node("Mul", [gate, g.node("Sigmoid", [gate])], name=f"layers.{i}.silu")
        down = proj(g.node("Mul", [act, up], name=f"layers.{i}.gated"), [w[p + "mlp.down_proj.weight"]], None,
                    p + "mlp.down_proj")
        last = i == ts.layers - 1
        norm_name = "model.norm.weight" if last else f"model.layers.{i + 1}.input_layernorm.weight"
        h, _, _, residual = g.node("SkipSimplifiedLayerNormalization",
                                   [down, residual, g.init(norm_name, w[norm_name])], outputs=4, domain=MS,
                                   name="norm" if last else f"layers.{i + 1}.input_layernorm", epsilon=ts.rms_eps)
    head_w = w["lm_head.weight"] if "lm_head.weight" in w else embed
    if int8:
        # Quantised over all S rows, as the reference's lm_head input is; then the wanted rows.
        hq, hscale, hzp = quantize_input(g, h, "lm_head")
        sel_q = g.node("Gather", [hq, rows], name="logit_rows")  # [L, H] uint8
        wq, wscale = q8.quantize_weight(head_w.T)
        if "lm_head" in share_q8:
            g.share("lm_head.weight_quantized", wq, share_q8["lm_head"])
        else:
            g.init("lm_head.weight_quantized", wq)
        logits = linear_q8(g, (sel_q, hscale, hzp), [], None, "lm_head",
                           quantized=("lm_head.weight_quantized", wscale))
    else:
        sel = g.node("Gather", [h, rows], name="logit_rows")  # [L, H]
        if quant:
            tied = "lm_head.weight" not in w
            logits = linear(g, sel, head_w, None, "lm_head", True, packed_q4=embed_packed if tied else None)
        elif "lm_head.weight" in w:
            logits = linear(g, sel, head_w, None, "lm_head", False)
        else:  # tied: the Gather's initializer serves the lm_head too (one copy in memory)
            logits = g.node("Gemm", [sel, e_name], name="lm_head", transB=1)
    g.output("logits", TP.FLOAT, ["L", V], logits)

    # transformers' RepetitionPenaltyLogitsProcessor (divide positive, multiply negative) over every id seen,
    # this step's input ids included (so the caller may update `seen` one step late), then greedy argmax.
    last_row = g.node("Gather", [logits, g.const([-1])], name="last_row", axis=0)  # [1, V]
    # The step's last input id as a one-hot row (Equal against 0..V-1, a Range onnxruntime folds into a
    # constant at load): no ScatterND, whose input-to-output copy a captured WebGPU graph does not
    # replay (its outputs went stale on replay, measured), and no int64 op (no WebGPU kernel outside
    # graph capture: it would run on the CPU, a GPU -> CPU copy every step).
    vocab_ids = g.node("Range", [g.const(0, np.int32), g.const(V, np.int32), g.const(1, np.int32)], name="vocab_ids")
    last_id = g.node("Gather", [ids, g.const([-1])], name="last_id", axis=0)  # [1, 1]
    one_hot = g.node("Cast", [g.node("Equal", [vocab_ids, last_id], name="input_one_hot")], to=TP.FLOAT)  # [1, V]
    seen_now = g.node("Max", [seen, one_hot], name="seen_now")  # [1, V]
    pen = g.init("penalty", np.array(PENALTY, np.float32))
    penalised = g.node("Where", [g.node("Less", [last_row, g.const(0.0, np.float32)]),
                                 g.node("Mul", [last_row, pen]), g.node("Div", [last_row, pen])])
    scored = g.node("Where", [g.node("Greater", [seen_now, g.const(0.0, np.float32)]), penalised, last_row],
                    name="penalised_logits")
    g.output("next_token", TP.INT32, [1, 1], first_argmax(g, scored, V))
    for i, (pk, pv) in enumerate(presents):
        g.output(f"present_key.{i}", TP.FLOAT, [1, ts.kv_heads, "C", hd], pk)
        g.output(f"present_value.{i}", TP.FLOAT, [1, ts.kv_heads, "C", hd], pv)
    return g
