"""The three Qwen2-VL (or Qwen2.5-VL) graphs in the interface of the public onnx-community/Qwen2-VL-2B-Instruct
export (what transformers.js 4.3.1 loads), built with numpy + onnx from a checkpoint's weights.

- embed_tokens: input_ids [batch_size, sequence_length] -> inputs_embeds (a Gather; a table over
  TENSOR_LIMIT bytes, e.g. a 7B's fp32 one, as row chunks of one external-data file each, with the
  same lookup exactly: chunked_lookup).
- vision_encoder: pixel_values [num_patches, 1176] + grid_thw [num_images, 3] -> image_features
  [num_patches / 4, hidden]: HF's Qwen2VisionTransformerPretrainedModel with its Conv3d patch
  embedding, the 2-D rotary of each patch computed from grid_thw, and attention block-diagonal per
  temporal slice of each image (HF's cu_seqlens), so a whole clip grid [t, h, w] (or several
  images) encodes in one call. Qwen2.5-VL (build_vision25): its vision tower, input image_grid_thw.
- decoder_model_merged: inputs_embeds, attention_mask, position_ids [3, batch_size, seq],
  past_key_values.{i}.key|value -> logits for EVERY position (no num_logits_to_keep, like the
  public export) and present.{i}.key|value.

dtypes as transformers.js's scripts/quantize.py makes them: fp32; fp16 (weights and arithmetic in
half precision, inputs and outputs kept float32 as convert_float_to_float16(keep_io_types=True)
does; norms, softmax and rotary angles in float32 as HF computes them); q4 (every MatMul with a
constant weight as MatMulNBits, 4 bits, block 32, symmetric; the Conv3d and the Gather stay
float32); q4f16 (q4, then fp16). io='float16' makes a variant whose float inputs and outputs are
DECLARED float16 (pixel_values, inputs_embeds, the KV cache, logits, features), which the public
recipe does not make but other exports do.
"""

from pathlib import Path

import numpy as np

import q4
from checkpoint import QwenShapes
from onnx_build import BOOL, F16, F32, I32, I64, MS_DOMAIN, Graph

DTYPES = ("fp32", "fp16", "q4", "q4f16")


class Ctx:
    """One graph being built, in one compute precision."""

    def __init__(self, g: Graph, dtype: str, io: str):
        if dtype not in DTYPES:
            raise ValueError(f"dtype {dtype}: the hub-interface builder makes {', '.join(DTYPES)}")
        self.g = g
        self.half = dtype in ("fp16", "q4f16")
        self.quant = dtype in ("q4", "q4f16")
        self.T = F16 if self.half else F32
        self.np = np.float16 if self.half else np.float32
        if io == "float16" and not self.half:
            raise ValueError("float16 inputs and outputs go with fp16 or q4f16 graphs")
        self.IO = F16 if io == "float16" else F32

    def c(self, value, dtype=None):
        return self.g.const(value, dtype if dtype is not None else np.int64)

    def cf(self, value):
        """A float constant in the compute precision."""
        return self.g.const(value, self.np)

    def cast(self, x, to):
        return self.g.op("Cast", [x], to=to)

    def to_t(self, x, frm):
        return x if frm == self.T else self.cast(x, self.T)

    def from_t(self, x, to):
        return x if to == self.T else self.cast(x, to)

    def linear(self, x, w: np.ndarray, b: np.ndarray | None, name: str):
        """x @ w.T (+ b); w is HF's [out, in]. q4: MatMulNBits as onnxruntime's quantizer writes it."""
        g = self.g
        k = w.shape[1]
        if self.quant:
            packed, scale = q4.quantize(w.T)
            y = g.op("MatMulNBits", [x, g.weight(f"{name}.MatMul.weight_Q4", packed),
                                     g.weight(f"{name}.MatMul.weight_scales", scale.astype(self.np))],
                     domain=MS_DOMAIN, K=k, N=w.shape[0], bits=4, block_size=q4.BLOCK)
        else:
            y = g.op("MatMul", [x, g.weight(f"{name}.MatMul.weight", w.T.astype(self.np))])
        if b is not None:
            y = g.op("Add", [y, g.weight(f"{name}.bias", b.astype(self.np))])
        return y

    def rms_norm(self, x, weight: np.ndarray, eps: float, name: str):
        g = self.g
        xf = x if self.T == F32 else self.cast(x, F32)
        var = g.op("ReduceMean", [g.op("Mul", [xf, xf])], axes=[-1], keepdims=1)
        inv = g.op("Div", [self.c(1.0, np.float32), g.op("Sqrt", [g.op("Add", [var, self.c(eps, np.float32)])])])
        y = self.to_t(g.op("Mul", [xf, inv]), F32)
        return g.op("Mul", [g.weight(f"{name}.weight", weight.astype(self.np)), y])

    def layer_norm(self, x, weight, bias, eps: float, name: str):
        return self.g.op("LayerNormalization", [x, self.g.weight(f"{name}.weight", weight.astype(self.np)),
                                                self.g.weight(f"{name}.bias", bias.astype(self.np))],
                         axis=-1, epsilon=eps)

    def softmax_f32(self, scores):
        s = scores if self.T == F32 else self.cast(scores, F32)
        return self.to_t(self.g.op("Softmax", [s], axis=-1), F32)

    def rotate_half(self, x, d: int):
        g = self.g
        x1 = g.op("Slice", [x, self.c([0]), self.c([d // 2]), self.c([-1])])
        x2 = g.op("Slice", [x, self.c([d // 2]), self.c([d]), self.c([-1])])
        return g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)

    def dim(self, x, i: int):
        """Dimension i of x as a 1-element int64 tensor."""
        return self.g.op("Gather", [self.g.op("Shape", [x]), self.c([i])], axis=0)


def inv_freq(dim: int, theta: float) -> np.ndarray:
    """HF's rotary inverse frequencies 1 / theta^(2i / dim), computed in float64 and rounded once
    to float32 (torch's float32 pow may differ by an ulp; this keeps the files the same on every
    machine)."""
    return (1.0 / (float(theta) ** (np.arange(0, dim, 2, dtype=np.float64) / dim))).astype(np.float32)


# Largest single weight the embedding table may be: a browser fetches each external-data file into
# one ArrayBuffer (Chrome: at most 0x7fe00000 bytes) and WebGPU binds each weight as one storage
# buffer (maxStorageBufferBindingSize, 2 GiB - 4 on an H200). A 7B's fp32 table (152064 x 3584 x 4 B
# = 2.18 GB) is over both; under the limit of onnx_build.CHUNK_BYTES (2e9) with room to spare.
TENSOR_LIMIT = 1_900_000_000


def embed_row_spans(vocab: int, row_bytes: int, limit: int) -> list[tuple[int, int]]:
    """[lo, hi) row ranges of equal size (the last smaller), each at most `limit` bytes; one range
    when the whole table fits."""
    if row_bytes > limit:
        raise SystemExit(f"embed_tokens: one row is {row_bytes} bytes, over the per-tensor limit of {limit}")
    n = -(-vocab * row_bytes // limit)
    while -(-vocab // n) * row_bytes > limit:
        n += 1
    rows = -(-vocab // n)
    return [(lo, min(lo + rows, vocab)) for lo in range(0, vocab, rows)]


def build_embed(s: QwenShapes, w, dtype: str, io: str, path: Path, external: bool,
                tensor_limit: int = TENSOR_LIMIT) -> list[str]:
    x_np = np.float16 if dtype in ("fp16", "q4f16") else np.float32
    spans = embed_row_spans(s.vocab, s.hidden * np.dtype(x_np).itemsize, tensor_limit)
    # Row chunks live in external data, one file each (so each file is under the limit too).
    g = Graph("embed_tokens", path, external or len(spans) > 1)
    x = Ctx(g, dtype, io)
    ids = g.input("input_ids", I64, ["batch_size", "sequence_length"])
    # 4-bit quantisation leaves a Gather alone: q4 / q4f16 files are the fp32 / fp16 lookup.
    table = w["model.embed_tokens.weight"]
    if len(spans) == 1:
        out = g.op("Gather", [g.weight("model.embed_tokens.weight", table.astype(x.np)), ids], axis=0)
    else:
        out = chunked_lookup(x, ids, table, spans)
    g.output(x.from_t(out, x.IO), "inputs_embeds", x.IO, ["batch_size", "sequence_length", s.hidden])
    return g.save()


def chunked_lookup(x: Ctx, ids: str, table: np.ndarray, spans: list[tuple[int, int]]) -> str:
    """Gather over row chunks, exactly: chunk c looks up (id - lo) where lo <= id < hi (else row 0, a
    valid index whose row is then discarded), and Where keeps, per token, the row of the last chunk
    whose lo <= id. Only copies and selections, so every value is the unchunked Gather's, bit for
    bit. Integer arithmetic in int32 (token ids < 2^31): onnxruntime's WebGPU EP has no int64 kernels
    for Sub / compare / Where (scripts/export/fast/README.md); ids outside [0, vocab) are not checked."""
    g = x.g
    id32 = g.op("Cast", [ids], to=I32)  # [B, S]
    id3 = g.op("Unsqueeze", [id32, x.c([2])])  # [B, S, 1]: selects whole rows in Where
    out = None
    for lo, hi in spans:
        part = g.weight(f"model.embed_tokens.weight.rows_{lo}_{hi}", table[lo:hi].astype(x.np), own_file=True)
        inside = g.op("Less", [id32, x.c(hi, np.int32)])
        if lo > 0:
            inside = g.op("And", [g.op("GreaterOrEqual", [id32, x.c(lo, np.int32)]), inside])
        shifted = g.op("Sub", [id32, x.c(lo, np.int32)]) if lo > 0 else id32
        local = g.op("Where", [inside, shifted, x.c(0, np.int32)])
        rows = g.op("Gather", [part, local], axis=0)  # [B, S, hidden]
        out = rows if out is None else g.op("Where", [g.op("GreaterOrEqual", [id3, x.c(lo, np.int32)]), rows, out])
    return out


def _patch_embed(x: Ctx, s: QwenShapes, w, pv):
    """HF's Conv3d (kernel = stride = [2, 14, 14]) on each 1176-value row -> [N, E]."""
    g = x.g
    pe = x.to_t(pv, x.IO)
    pe = g.op("Reshape", [pe, x.c([-1, s.in_channels, s.temporal_patch, s.patch, s.patch])])
    conv_w = w["visual.patch_embed.proj.weight"].astype(np.float16 if x.half else np.float32)
    pe = g.op("Conv", [pe, g.weight("visual.patch_embed.proj.weight", conv_w)],
              kernel_shape=[s.temporal_patch, s.patch, s.patch], strides=[s.temporal_patch, s.patch, s.patch])
    return g.op("Reshape", [pe, x.c([-1, s.v_embed])])


def _patch_places(x: Ctx, s: QwenShapes, pv, grid):
    """Per patch, from grid_thw alone: its temporal slice over all images (seg), its merge block in
    the slice (blk), the merge blocks per row (per_row) and its (row, col), in the processor's order
    (merge blocks of m x m, row-major), as HF's rot_pos_emb and cu_seqlens define them."""
    g, m = x.g, s.merge
    n = x.dim(pv, 0)
    idx = g.op("Range", [x.c(0), g.op("Squeeze", [n, x.c([0])]), x.c(1)])
    t = g.op("Gather", [grid, x.c(0)], axis=1)
    gh = g.op("Gather", [grid, x.c(1)], axis=1)
    gw = g.op("Gather", [grid, x.c(2)], axis=1)
    hw = g.op("Mul", [gh, gw])
    sizes = g.op("Mul", [t, hw])
    ends = g.op("CumSum", [sizes, x.c(0)])
    starts = g.op("Sub", [ends, sizes])
    slices_before = g.op("Sub", [g.op("CumSum", [t, x.c(0)]), t])
    past_end = g.op("GreaterOrEqual", [g.op("Unsqueeze", [idx, x.c([1])]), g.op("Unsqueeze", [ends, x.c([0])])])
    img = g.op("ReduceSum", [g.op("Cast", [past_end], to=I64), x.c([1])], keepdims=0)
    local = g.op("Sub", [idx, g.op("Gather", [starts, img], axis=0)])
    hw_i = g.op("Gather", [hw, img], axis=0)
    w_i = g.op("Gather", [gw, img], axis=0)
    seg = g.op("Add", [g.op("Gather", [slices_before, img], axis=0), g.op("Div", [local, hw_i])])
    j = g.op("Mod", [local, hw_i])
    blk, r = g.op("Div", [j, x.c(m * m)]), g.op("Mod", [j, x.c(m * m)])
    per_row = g.op("Div", [w_i, x.c(m)])
    row = g.op("Add", [g.op("Mul", [g.op("Div", [blk, per_row]), x.c(m)]), g.op("Div", [r, x.c(m)])])
    col = g.op("Add", [g.op("Mul", [g.op("Mod", [blk, per_row]), x.c(m)]), g.op("Mod", [r, x.c(m)])])
    return seg, blk, per_row, row, col


def _vision_rotary(x: Ctx, s: QwenShapes, row, col):
    """The 2-D rotary of each patch (half the head dims from its row, half from its column): cos, sin [1, N, D]."""
    g = x.g
    inv = x.c(inv_freq(s.v_embed // s.v_heads // 2, s.v_rope_theta), np.float32)
    rf = g.op("Mul", [g.op("Unsqueeze", [g.op("Cast", [row], to=F32), x.c([1])]), inv])
    cf = g.op("Mul", [g.op("Unsqueeze", [g.op("Cast", [col], to=F32), x.c([1])]), inv])
    f = g.op("Concat", [rf, cf], axis=1)
    emb = g.op("Unsqueeze", [g.op("Concat", [f, f], axis=1), x.c([0])])  # [1, N, D]
    return g.op("Cos", [emb]), g.op("Sin", [emb])


def _same_mask(x: Ctx, *keys):
    """Additive attention mask [1, N, N]: 0 where patches share every key, the dtype's minimum elsewhere."""
    g = x.g
    same = None
    for key in keys:
        eq = g.op("Equal", [g.op("Unsqueeze", [key, x.c([1])]), g.op("Unsqueeze", [key, x.c([0])])])
        same = eq if same is None else g.op("And", [same, eq])
    return g.op("Unsqueeze", [g.op("Where", [same, x.cf(0.0), x.cf(np.finfo(x.np).min)]), x.c([0])])


def _vision_attention(x: Ctx, s: QwenShapes, w, p: str, a, cos, sin, mask, scale):
    """One vision block's attention (qkv, rotary in float32 as HF's apply_rotary_pos_emb_vision, masked
    softmax, proj) on its normed input a [N, E]."""
    g = x.g
    E, H = s.v_embed, s.v_heads
    D = E // H
    qkv = x.linear(a, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"], p + "attn.qkv")
    qkv = g.op("Transpose", [g.op("Reshape", [qkv, x.c([-1, 3, H, D])])], perm=[1, 2, 0, 3])  # [3, H, N, D]
    q, k, v = (g.op("Gather", [qkv, x.c(z)], axis=0) for z in range(3))
    qf, kf = (q, k) if x.T == F32 else (x.cast(q, F32), x.cast(k, F32))
    q = x.to_t(g.op("Add", [g.op("Mul", [qf, cos]), g.op("Mul", [x.rotate_half(qf, D), sin])]), F32)
    k = x.to_t(g.op("Add", [g.op("Mul", [kf, cos]), g.op("Mul", [x.rotate_half(kf, D), sin])]), F32)
    sc = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])]), scale]), mask])
    o = g.op("MatMul", [x.softmax_f32(sc), v])
    o = g.op("Reshape", [g.op("Transpose", [o], perm=[1, 0, 2]), x.c([-1, E])])
    return x.linear(o, w[p + "attn.proj.weight"], w[p + "attn.proj.bias"], p + "attn.proj")


def _merger_mlp(x: Ctx, s: QwenShapes, w, y):
    """The merger after its norm: groups of m x m patches -> Linear, exact GELU, Linear -> [N / 4, out]."""
    g = x.g
    y = g.op("Reshape", [y, x.c([-1, s.v_embed * s.merge * s.merge])])
    y = x.linear(y, w["visual.merger.mlp.0.weight"], w["visual.merger.mlp.0.bias"], "visual.merger.mlp.0")
    erf = g.op("Erf", [g.op("Div", [y, x.cf(np.sqrt(2.0))])])
    y = g.op("Mul", [g.op("Mul", [y, g.op("Add", [erf, x.cf(1.0)])]), x.cf(0.5)])  # exact GELU
    return x.linear(y, w["visual.merger.mlp.2.weight"], w["visual.merger.mlp.2.bias"], "visual.merger.mlp.2")


def build_vision(s: QwenShapes, w, dtype: str, io: str, path: Path, external: bool) -> list[str]:
    if s.family == "qwen2_5_vl":
        return build_vision25(s, w, dtype, io, path, external)
    g = Graph("vision_encoder", path, external)
    x = Ctx(g, dtype, io)
    pv = g.input("pixel_values", x.IO, ["num_patches", 3 * 2 * 14 * 14])
    grid = g.input("grid_thw", I64, ["num_images", 3])
    h = _patch_embed(x, s, w, pv)
    seg, _, _, row, col = _patch_places(x, s, pv, grid)
    cos, sin = _vision_rotary(x, s, row, col)
    mask = _same_mask(x, seg)  # attention block-diagonal per temporal slice (HF's cu_seqlens)
    scale = x.cf((s.v_embed // s.v_heads) ** -0.5)

    for i in range(s.v_depth):
        p = f"visual.blocks.{i}."
        a = x.layer_norm(h, w[p + "norm1.weight"], w[p + "norm1.bias"], s.v_eps, p + "norm1")
        h = g.op("Add", [h, _vision_attention(x, s, w, p, a, cos, sin, mask, scale)])
        a = x.layer_norm(h, w[p + "norm2.weight"], w[p + "norm2.bias"], s.v_eps, p + "norm2")
        a = x.linear(a, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"], p + "mlp.fc1")
        a = g.op("Mul", [a, g.op("Sigmoid", [g.op("Mul", [a, x.cf(1.702)])])])  # quick_gelu
        h = g.op("Add", [h, x.linear(a, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"], p + "mlp.fc2")])

    y = x.layer_norm(h, w["visual.merger.ln_q.weight"], w["visual.merger.ln_q.bias"], s.v_eps, "visual.merger.ln_q")
    y = _merger_mlp(x, s, w, y)
    g.output(x.from_t(y, x.IO), "image_features", x.IO, ["num_features", s.v_out])
    return g.save()


def build_vision25(s: QwenShapes, w, dtype: str, io: str, path: Path, external: bool) -> list[str]:
    """Qwen2.5-VL's vision tower (HF's Qwen2_5_VisionTransformerPretrainedModel): RMSNorm, gated SiLU
    MLP, attention within windows of window_size / patch / merge merged tokens per side (counted from
    the top-left of each temporal slice, the last ones partial) except in the blocks of
    fullatt_block_indexes, which attend over the whole slice; RMSNorm in the merger. HF permutes the
    merged tokens into window order and back; attention is equivariant under that permutation and
    the merger works on groups of m x m consecutive patches, so masking to the same window in the
    processor's order is the same computation (as qwen25.VisionSlice25, the tiny model's export
    wrapper, does in PyTorch). The grid input is image_grid_thw, as transformers.js's
    Qwen2_5_VLForConditionalGeneration feeds it; any [num_images, 3] grid encodes in one call."""
    g = Graph("vision_encoder", path, external)
    x = Ctx(g, dtype, io)
    pv = g.input("pixel_values", x.IO, ["num_patches", 3 * 2 * 14 * 14])
    grid = g.input("image_grid_thw", I64, ["num_images", 3])
    h = _patch_embed(x, s, w, pv)
    seg, blk, per_row, row, col = _patch_places(x, s, pv, grid)
    cos, sin = _vision_rotary(x, s, row, col)
    win = x.c(s.v_window // s.merge // s.patch)  # window side in merged tokens
    win_row = g.op("Div", [g.op("Div", [blk, per_row]), win])
    win_col = g.op("Div", [g.op("Mod", [blk, per_row]), win])
    full_mask = _same_mask(x, seg)
    window_mask = _same_mask(x, seg, win_row, win_col)
    scale = x.cf((s.v_embed // s.v_heads) ** -0.5)

    for i in range(s.v_depth):
        p = f"visual.blocks.{i}."
        a = x.rms_norm(h, w[p + "norm1.weight"], s.v_eps, p + "norm1")
        mask = full_mask if i in s.v_fullatt else window_mask
        h = g.op("Add", [h, _vision_attention(x, s, w, p, a, cos, sin, mask, scale)])
        a = x.rms_norm(h, w[p + "norm2.weight"], s.v_eps, p + "norm2")
        gate = x.linear(a, w[p + "mlp.gate_proj.weight"], w[p + "mlp.gate_proj.bias"], p + "mlp.gate_proj")
        up = x.linear(a, w[p + "mlp.up_proj.weight"], w[p + "mlp.up_proj.bias"], p + "mlp.up_proj")
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])  # silu(gate) * up
        h = g.op("Add", [h, x.linear(act, w[p + "mlp.down_proj.weight"], w[p + "mlp.down_proj.bias"], p + "mlp.down_proj")])

    y = x.rms_norm(h, w["visual.merger.ln_q.weight"], s.v_eps, "visual.merger.ln_q")
    y = _merger_mlp(x, s, w, y)
    g.output(x.from_t(y, x.IO), "image_features", x.IO, ["num_features", s.v_out])
    return g.save()


def build_decoder(s: QwenShapes, w, dtype: str, io: str, path: Path, external: bool) -> list[str]:
    g = Graph("decoder_model_merged", path, external)
    x = Ctx(g, dtype, io)
    H, KV, D = s.heads, s.kv_heads, s.head_dim
    emb_in = g.input("inputs_embeds", x.IO, ["batch_size", "sequence_length", s.hidden])
    am = g.input("attention_mask", I64, ["batch_size", "total_sequence_length"])
    pos = g.input("position_ids", I64, [3, "batch_size", "sequence_length"])
    past = []
    for i in range(s.layers):
        for kind in ("key", "value"):
            past.append(g.input(f"past_key_values.{i}.{kind}", x.IO, ["batch_size", KV, "past_sequence_length", D]))

    # M-RoPE: section j of the frequencies takes its angle from axis j (t, h, w) of position_ids.
    freqs = g.op("Mul", [g.op("Unsqueeze", [g.op("Cast", [pos], to=F32), x.c([-1])]),
                         x.c(inv_freq(D, s.rope_theta), np.float32)])  # [3, B, S, D/2]
    owner = np.zeros((3, 1, 1, D // 2), np.float32)
    start = 0
    for a, width in enumerate(s.mrope_section):
        owner[a % 3, ..., start:start + width] = 1
        start += width
    f = g.op("ReduceSum", [g.op("Mul", [freqs, x.c(owner, np.float32)]), x.c([0])], keepdims=0)
    emb = g.op("Unsqueeze", [g.op("Concat", [f, f], axis=-1), x.c([1])])  # [B, 1, S, D]
    cos, sin = x.to_t(g.op("Cos", [emb]), F32), x.to_t(g.op("Sin", [emb]), F32)

    # Causal mask over past + new positions, and the attention mask.
    past_len = x.dim(past[0], 2)
    seq = x.dim(emb_in, 1)
    total = g.op("Add", [past_len, seq])
    kpos = g.op("Range", [x.c(0), g.op("Squeeze", [total, x.c([0])]), x.c(1)])
    qpos = g.op("Range", [g.op("Squeeze", [past_len, x.c([0])]), g.op("Squeeze", [total, x.c([0])]), x.c(1)])
    causal = g.op("LessOrEqual", [g.op("Unsqueeze", [kpos, x.c([0])]), g.op("Unsqueeze", [qpos, x.c([1])])])
    allowed = g.op("And", [g.op("Unsqueeze", [causal, x.c([0, 1])]),
                           g.op("Unsqueeze", [g.op("Cast", [am], to=BOOL), x.c([1, 2])])])
    bias = g.op("Where", [allowed, x.cf(0.0), x.cf(np.finfo(x.np).min)])
    scale = x.cf(D**-0.5)

    h = x.to_t(emb_in, x.IO)
    for i in range(s.layers):
        p = f"model.layers.{i}."
        a = x.rms_norm(h, w[p + "input_layernorm.weight"], s.rms_eps, p + "input_layernorm")
        heads = []
        for proj, n in (("q", H), ("k", KV), ("v", KV)):
            y = x.linear(a, w[f"{p}self_attn.{proj}_proj.weight"], w[f"{p}self_attn.{proj}_proj.bias"],
                         f"{p}self_attn.{proj}_proj")
            heads.append(g.op("Transpose", [g.op("Reshape", [y, x.c([0, 0, n, D])])], perm=[0, 2, 1, 3]))
        q, k, v = heads
        q = g.op("Add", [g.op("Mul", [q, cos]), g.op("Mul", [x.rotate_half(q, D), sin])])
        k = g.op("Add", [g.op("Mul", [k, cos]), g.op("Mul", [x.rotate_half(k, D), sin])])
        k = g.op("Concat", [x.to_t(past[2 * i], x.IO), k], axis=2)
        v = g.op("Concat", [x.to_t(past[2 * i + 1], x.IO), v], axis=2)
        for kind, val in (("key", k), ("value", v)):
            g.output(x.from_t(val, x.IO), f"present.{i}.{kind}", x.IO, ["batch_size", KV, "total_sequence_length", D])
        if H != KV:  # grouped-query attention: head j reads KV head j // (H / KV), as HF's repeat_kv
            k, v = (g.op("Reshape", [g.op("Concat", [g.op("Unsqueeze", [t_, x.c([2])])] * (H // KV), axis=2),
                                     x.c([0, H, -1, D])]) for t_ in (k, v))
        sc = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]), scale]), bias])
        o = g.op("MatMul", [x.softmax_f32(sc), v])
        o = g.op("Reshape", [g.op("Transpose", [o], perm=[0, 2, 1, 3]), x.c([0, 0, H * D])])
        h = g.op("Add", [h, x.linear(o, w[p + "self_attn.o_proj.weight"], None, p + "self_attn.o_proj")])
        a = x.rms_norm(h, w[p + "post_attention_layernorm.weight"], s.rms_eps, p + "post_attention_layernorm")
        gate = x.linear(a, w[p + "mlp.gate_proj.weight"], None, p + "mlp.gate_proj")
        up = x.linear(a, w[p + "mlp.up_proj.weight"], None, p + "mlp.up_proj")
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])  # silu(gate) * up
        h = g.op("Add", [h, x.linear(act, w[p + "mlp.down_proj.weight"], None, p + "mlp.down_proj")])
    h = x.rms_norm(h, w["model.norm.weight"], s.rms_eps, "model.norm")
    head = w["model.embed_tokens.weight"] if s.tied else w["lm_head.weight"]
    logits = x.linear(h, head, None, "lm_head")
    g.output(x.from_t(logits, x.IO), "logits", x.IO, ["batch_size", "sequence_length", s.vocab])
    # Outputs in the order transformers.js's exports have them: logits first, then present.*.
    g.outputs.insert(0, g.outputs.pop())
    return g.save()


BUILDERS = {"embed_tokens": build_embed, "vision_encoder": build_vision, "decoder_model_merged": build_decoder}
