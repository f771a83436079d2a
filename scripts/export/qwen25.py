"""Tiny random Qwen2.5-VL that shares the tiny Qwen2-VL's text model, and its vision export wrapper.

The language model of Qwen2.5-VL is Qwen2-VL's (Qwen2 decoder with M-RoPE); only the vision tower
and the video position ids differ. So the tiny Qwen2.5-VL takes the tiny Qwen2-VL's text weights
(`build_model('tiny', 0)`) unchanged, and the committed Qwen2-VL decoder/embed graphs serve both.
The vision tower is random ("unit gain", its own seed): RMSNorm, gated SiLU MLP, window attention
with full-attention blocks at `fullatt_block_indexes`, RMSNorm in the merger.
"""

import re

import numpy as np
import torch
from torch import nn

from model_def import (IMAGE_TOKEN_ID, SIZES, VIDEO_TOKEN_ID, VISION_END_TOKEN_ID, VISION_START_TOKEN_ID,
                       build_model, init_weights, rotate_half, text_config_kwargs)

VISION_SEED = 25
# Qwen2.5-VL's real vision shape, shrunk. Depth 4 with full attention at 1 and 3 (the real 32-block
# towers use 7, 15, 23, 31: windowed blocks, then a full one). window_size 112 = 4 x 4 merged tokens,
# so an 18 x 18 patch grid (9 x 9 merged) has 3 x 3 windows, the last ones partial.
VISION_TINY = dict(depth=4, hidden_size=32, intermediate_size=64, num_heads=2, fullatt_block_indexes=[1, 3],
                   window_size=112, tokens_per_second=2)


def build_config25(size: str = "tiny"):
    from transformers import Qwen2_5_VLConfig

    assert size == "tiny", "only the tiny Qwen2.5-VL is defined"
    text_config = text_config_kwargs(size)
    vision_config = dict(in_channels=3, patch_size=14, temporal_patch_size=2, spatial_merge_size=2, hidden_act="silu",
                         out_hidden_size=SIZES[size]["text"]["hidden_size"], **VISION_TINY)
    return Qwen2_5_VLConfig(text_config=text_config, vision_config=vision_config, image_token_id=IMAGE_TOKEN_ID,
                            video_token_id=VIDEO_TOKEN_ID, vision_start_token_id=VISION_START_TOKEN_ID,
                            vision_end_token_id=VISION_END_TOKEN_ID, tie_word_embeddings=True)


def text_state(model) -> dict:
    """The text model's parameters (embed_tokens, layers, norm, lm_head), by name."""
    return {k: v for k, v in model.state_dict().items()
            if k.startswith("model.language_model.") or k.startswith("lm_head.")}


def build_model25(size: str = "tiny", seed: int = 0):
    """Qwen2_5_VLForConditionalGeneration: text weights COPIED from the tiny Qwen2-VL (same names,
    same shapes, asserted), vision tower random with VISION_SEED."""
    from transformers import Qwen2_5_VLForConditionalGeneration

    q2 = build_model(size, seed)
    model = Qwen2_5_VLForConditionalGeneration(build_config25(size))
    lm = model.model.language_model
    if model.lm_head.weight.data_ptr() != lm.embed_tokens.weight.data_ptr():
        model.lm_head.weight = lm.embed_tokens.weight
    init_weights(model.model.visual, VISION_SEED)
    src, dst = text_state(q2), text_state(model)
    assert sorted(src) == sorted(dst), f"text parameter names differ: {sorted(set(src) ^ set(dst))}"
    for k in src:
        assert src[k].shape == dst[k].shape, f"{k}: {tuple(src[k].shape)} vs {tuple(dst[k].shape)}"
    with torch.no_grad():
        for k, p in dst.items():
            p.copy_(src[k])
    for k in src:
        assert torch.equal(text_state(model)[k], src[k]), k
    model.eval()
    return model, q2


def visual_features(out) -> torch.Tensor:
    """HF's vision tower returns a tensor (transformers 4) or an output whose pooler_output holds the
    merged features (transformers 5)."""
    if isinstance(out, torch.Tensor):
        return out
    po = getattr(out, "pooler_output", None)
    return po if po is not None else out.last_hidden_state


class VisionSlice25(nn.Module):
    """Qwen2.5-VL's vision tower for ONE temporal slice: pixel_values [h*w, 1176], grid_thw [[1, h, w]].

    HF permutes the merged tokens into window order, attends within windows (cu_window_seqlens) or
    over the whole slice (fullatt blocks), merges, and permutes back. Attention is equivariant under
    that permutation and the merger works on groups of 4 consecutive patches, so the same result
    comes from the processor's patch order with a same-window mask; the window of a patch follows
    from its merged row/column, computed from the patch index and w alone (nothing traced is frozen
    to the example grid)."""

    def __init__(self, model):
        super().__init__()
        v = model.model.visual
        vc = model.config.vision_config
        self.visual = v
        w = v.patch_embed.proj.weight  # [E, 3, 2, 14, 14], stride == kernel: a matmul
        self.patch_w = nn.Parameter(w.detach().reshape(w.shape[0], -1).t().contiguous(), requires_grad=False)
        b = v.patch_embed.proj.bias
        self.patch_b = None if b is None else nn.Parameter(b.detach().clone(), requires_grad=False)
        self.embed_dim = w.shape[0]
        self.heads = vc.num_heads
        self.head_dim = self.embed_dim // self.heads
        self.merge = vc.spatial_merge_size
        self.win = vc.window_size // vc.spatial_merge_size // vc.patch_size  # window side, merged tokens
        self.full = set(int(i) for i in vc.fullatt_block_indexes)
        rot = getattr(getattr(v, "rotary_pos_emb", None), "inv_freq", None)
        if rot is None:  # the rotary of half the head dim, theta 10000, as HF's Qwen2_5_VisionRotaryEmbedding
            dim = self.head_dim // 2
            rot = 1.0 / (10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
        self.register_buffer("inv_freq", rot.detach().float().clone(), persistent=False)

    def forward(self, pixel_values, grid_thw):
        x = torch.matmul(pixel_values.unsqueeze(0), self.patch_w)  # [1, N, E]
        if self.patch_b is not None:
            x = x + self.patch_b
        idx = torch.ones_like(pixel_values[:, 0], dtype=torch.int64).cumsum(0) - 1  # [N]
        m2 = self.merge * self.merge
        merged_per_row = grid_thw[0, 2] // self.merge
        blk, r = idx // m2, idx % m2
        mrow, mcol = blk // merged_per_row, blk % merged_per_row
        row = mrow * self.merge + r // self.merge
        col = mcol * self.merge + r % self.merge
        f = torch.cat([row.float()[:, None] * self.inv_freq[None, :], col.float()[:, None] * self.inv_freq[None, :]], -1)
        emb = torch.cat([f, f], -1)
        cos, sin = emb.cos(), emb.sin()
        wr, wc = mrow // self.win, mcol // self.win
        same = (wr[:, None] == wr[None, :]) & (wc[:, None] == wc[None, :])
        bias = torch.where(same, torch.zeros((), dtype=x.dtype), torch.full((), torch.finfo(x.dtype).min, dtype=x.dtype))
        for i, blk_mod in enumerate(self.visual.blocks):
            x = x + self._attn(blk_mod.attn, blk_mod.norm1(x), cos, sin, None if i in self.full else bias)
            x = x + blk_mod.mlp(blk_mod.norm2(x))
        merger = self.visual.merger
        y = merger.ln_q(x).reshape(1, -1, self.embed_dim * m2)
        return merger.mlp(y)[0]  # [N / 4, out_hidden]

    def _attn(self, attn, x, cos, sin, bias):
        qkv = attn.qkv(x).reshape(1, -1, 3, self.heads, self.head_dim)  # (torch 1.13 cannot export unflatten)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # [1, H, N, D]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = torch.matmul(q, k.transpose(-1, -2)) * (self.head_dim ** -0.5)
        if bias is not None:
            scores = scores + bias
        p = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        o = torch.matmul(p, v).transpose(1, 2).flatten(2)
        return attn.proj(o)


def hf_position_ids(model, inputs: dict, second_per_grid_ts) -> torch.Tensor:
    """The position ids HF's own forward hands the text model ([3, B, S]; transformers 5 may prepend a
    text row, dropped here), captured with a pre-hook, so nothing depends on get_rope_index's
    signature in this transformers version."""
    got = {}

    def hook(_mod, args, kwargs):
        if "pos" not in got:
            got["pos"] = kwargs.get("position_ids")
        return None

    h = model.model.language_model.register_forward_pre_hook(hook, with_kwargs=True)
    inputs = dict(inputs)
    try:
        for _ in range(4):  # a processor key this model's forward does not take is dropped (and reported)
            try:
                with torch.no_grad():
                    out = model(**inputs, second_per_grid_ts=second_per_grid_ts)
                break
            except TypeError as e:
                m = re.search(r"unexpected keyword argument '(\w+)'", str(e))
                if not m or m.group(1) not in inputs:
                    raise
                print(f"  forward does not take {m.group(1)!r}: dropped", flush=True)
                inputs.pop(m.group(1))
                got.clear()
    finally:
        h.remove()
    pos = got.get("pos")
    if pos is None:  # fall back to get_rope_index, its arguments matched by name
        import inspect

        fn = model.model.get_rope_index
        names = inspect.signature(fn).parameters
        avail = dict(inputs, second_per_grid_ts=second_per_grid_ts)
        pos = fn(**{k: avail.get(k) for k in names if k in avail})[0]
    if pos.shape[0] == 4:
        pos = pos[1:]
    return pos, out, inputs


def own_position_ids(ids: list, image_grid, video_grid, spg, tps: float, merge: int = 2,
                     time_scale: bool = True) -> np.ndarray:
    """Independent M-RoPE ids for one prompt (Qwen2.5-VL): text runs 1-D from the previous max + 1;
    a visual gets (t index, row, col) + offset, the video's t index = floor(t * spg * tokens_per_second)
    in float32 as HF multiplies, the image's t index = t."""
    pos = np.zeros((3, len(ids)), np.int64)
    i, nxt, img_i, vid_i = 0, 0, 0, 0
    while i < len(ids):
        tok = ids[i]
        if tok in (IMAGE_TOKEN_ID, VIDEO_TOKEN_ID):
            if tok == IMAGE_TOKEN_ID or not time_scale:
                grids, k = (image_grid, img_i) if tok == IMAGE_TOKEN_ID else (video_grid, vid_i)
                t, h, w = grids[k]
                img_i, vid_i = (img_i + 1, vid_i) if tok == IMAGE_TOKEN_ID else (img_i, vid_i + 1)
                tidx = np.arange(t, dtype=np.int64)
            else:
                t, h, w = video_grid[vid_i]
                s = np.float32(spg[vid_i])
                vid_i += 1
                tidx = np.floor(np.arange(t, dtype=np.float32) * s * np.float32(tps)).astype(np.int64)
            h, w = h // merge, w // merge
            n = t * h * w
            tt = np.repeat(tidx, h * w)
            hh = np.tile(np.repeat(np.arange(h), w), t)
            ww = np.tile(np.arange(w), t * h)
            pos[:, i:i + n] = np.stack([tt, hh, ww]) + nxt
            nxt = int(pos[:, i:i + n].max()) + 1
            i += n
        else:
            pos[:, i] = nxt
            nxt += 1
            i += 1
    return pos
