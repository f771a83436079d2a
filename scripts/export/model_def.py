"""Qwen2-VL with random weights, and trace-friendly wrappers around its weights for ONNX export.

The wrappers reuse the Hugging Face modules' parameters (and their Linear/LayerNorm/MLP
submodules) but re-implement attention, rotary embeddings and masks with tensor arithmetic only,
so that tracing does not freeze Python loops or shapes to the example input.
"""

import torch
import torch.nn.functional as F
from torch import nn

IMAGE_TOKEN_ID = 151655
VIDEO_TOKEN_ID = 151656
VISION_START_TOKEN_ID = 151652
VISION_END_TOKEN_ID = 151653
BOS_TOKEN_ID = 151643
EOS_TOKEN_IDS = [151645, 151643]
VOCAB_SIZE = 151936

SIZES = {
    # Real Qwen2-VL architecture, shrunk so that all files stay small; vocabulary kept real.
    "tiny": dict(
        text=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                  num_key_value_heads=1, mrope_section=[2, 1, 1]),
        vision=dict(depth=2, embed_dim=32, num_heads=2, mlp_ratio=4),
    ),
    # Qwen2-VL-2B-Instruct's exact shapes.
    "2b": dict(
        text=dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                  num_key_value_heads=2, mrope_section=[16, 24, 24]),
        vision=dict(depth=32, embed_dim=1280, num_heads=16, mlp_ratio=4),
    ),
}


def text_config_kwargs(size: str) -> dict:
    """The text model's config fields; Qwen2.5-VL's tiny model (qwen25.py) shares them."""
    t = dict(SIZES[size]["text"])
    mrope = t.pop("mrope_section")
    return dict(
        vocab_size=VOCAB_SIZE, max_position_embeddings=32768, rms_norm_eps=1e-6, hidden_act="silu",
        rope_theta=1000000.0, rope_scaling={"type": "mrope", "mrope_section": mrope},
        bos_token_id=BOS_TOKEN_ID, eos_token_id=EOS_TOKEN_IDS[0], tie_word_embeddings=True,
        use_sliding_window=False, attention_dropout=0.0, **t,
    )


def build_config(size: str):
    from transformers import Qwen2VLConfig

    s = SIZES[size]
    t = s["text"]
    text_config = text_config_kwargs(size)
    vision_config = dict(
        hidden_size=t["hidden_size"], in_channels=3, patch_size=14, temporal_patch_size=2,
        spatial_merge_size=2, hidden_act="quick_gelu", **s["vision"],
    )
    return Qwen2VLConfig(
        text_config=text_config, vision_config=vision_config, image_token_id=IMAGE_TOKEN_ID,
        video_token_id=VIDEO_TOKEN_ID, vision_start_token_id=VISION_START_TOKEN_ID,
        vision_end_token_id=VISION_END_TOKEN_ID, tie_word_embeddings=True,
    )


def init_weights(model: nn.Module, seed: int) -> None:
    """Deterministic 'unit gain' random weights: activations keep a realistic scale, so vision
    features and attention patterns visibly change the logits (HF's std 0.02 init would make
    the vision path almost invisible, and tests blind to mistakes in it)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("embed_tokens.weight"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=g) * p[0].numel() ** -0.5)
            elif ("norm" in name or "ln_q" in name) and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:  # biases
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def build_model(size: str, seed: int):
    from transformers import Qwen2VLForConditionalGeneration

    config = build_config(size)
    model = Qwen2VLForConditionalGeneration(config)
    lm = model.model.language_model
    if model.lm_head.weight.data_ptr() != lm.embed_tokens.weight.data_ptr():
        model.lm_head.weight = lm.embed_tokens.weight  # tie explicitly
    init_weights(model, seed)
    model.eval()
    return model


def text_dims(model):
    c = model.config.text_config
    heads = c.num_attention_heads
    return dict(layers=c.num_hidden_layers, heads=heads, kv_heads=c.num_key_value_heads,
                head_dim=c.hidden_size // heads, hidden=c.hidden_size)


def mrope_section(model) -> list[int]:
    rp = getattr(model.config.text_config, "rope_parameters", None) or {}
    sec = rp.get("mrope_section") or model.config.text_config.rope_scaling["mrope_section"]
    return [int(x) for x in sec]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class EmbedTokens(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.embed = model.model.language_model.embed_tokens

    def forward(self, input_ids):
        return self.embed(input_ids)


class VisionSlice(nn.Module):
    """The vision tower for ONE temporal slice: pixel_values [h*w, 1176], grid_thw [[1, h, w]].

    Within one slice every patch attends to every other patch (HF's cu_seqlens has one segment),
    so no mask is needed; the rotary (row, col) of each patch follows the processor's
    (h/2, w/2, 2, 2) patch order and is computed from the patch index and w alone."""

    def __init__(self, model):
        super().__init__()
        v = model.model.visual
        self.visual = v
        w = v.patch_embed.proj.weight  # [E, 3, 2, 14, 14] Conv3d with stride == kernel -> a matmul
        self.patch_w = nn.Parameter(w.detach().reshape(w.shape[0], -1).t().contiguous(), requires_grad=False)
        self.embed_dim = w.shape[0]
        self.heads = model.config.vision_config.num_heads
        self.head_dim = self.embed_dim // self.heads
        self.merge = model.config.vision_config.spatial_merge_size
        self.register_buffer("inv_freq", v.rotary_pos_emb.inv_freq.detach().float().clone(), persistent=False)

    def forward(self, pixel_values, grid_thw):
        x = torch.matmul(pixel_values.unsqueeze(0), self.patch_w)  # [1, N, E]
        idx = torch.ones_like(pixel_values[:, 0], dtype=torch.int64).cumsum(0) - 1  # [N]
        m2 = self.merge * self.merge
        blocks_per_row = grid_thw[0, 2] // self.merge
        blk, r = idx // m2, idx % m2
        row = (blk // blocks_per_row) * self.merge + r // self.merge
        col = (blk % blocks_per_row) * self.merge + r % self.merge
        f = torch.cat([row.float()[:, None] * self.inv_freq[None, :], col.float()[:, None] * self.inv_freq[None, :]], -1)
        emb = torch.cat([f, f], -1)  # [N, head_dim]
        cos, sin = emb.cos(), emb.sin()
        for blk_mod in self.visual.blocks:
            x = x + self._attn(blk_mod.attn, blk_mod.norm1(x), cos, sin)
            x = x + blk_mod.mlp(blk_mod.norm2(x))
        merger = self.visual.merger
        y = merger.ln_q(x).reshape(1, -1, self.embed_dim * m2)
        return merger.mlp(y)[0]  # [N / 4, hidden]

    def _attn(self, attn, x, cos, sin):
        qkv = attn.qkv(x).unflatten(-1, (3, self.heads, self.head_dim))  # [1, N, 3, H, D]
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # [1, H, N, D]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        scores = torch.matmul(q, k.transpose(-1, -2)) * (self.head_dim ** -0.5)
        p = torch.softmax(scores.float(), dim=-1).to(q.dtype)
        o = torch.matmul(p, v).transpose(1, 2).flatten(2)  # [1, N, E]
        return attn.proj(o)


class Decoder(nn.Module):
    """decoder_model_merged: one graph for prefill (past length 0) and decode (past length > 0)."""

    def __init__(self, model):
        super().__init__()
        lm = model.model.language_model
        self.lm, self.lm_head = lm, model.lm_head
        d = text_dims(model)
        self.layers_n, self.heads, self.kv_heads, self.head_dim = d["layers"], d["heads"], d["kv_heads"], d["head_dim"]
        self.section = mrope_section(model)
        self.register_buffer("inv_freq", lm.rotary_emb.inv_freq.detach().float().clone(), persistent=False)

    def rope(self, position_ids):
        freqs = position_ids.float()[..., None] * self.inv_freq  # [3, B, S, D/2]
        parts, start = [], 0
        for i, n in enumerate(self.section):  # section i takes its angles from axis i (t, h, w)
            parts.append(freqs[i % 3, :, :, start:start + n])
            start += n
        f = torch.cat(parts, -1)
        emb = torch.cat([f, f], -1)[:, None]  # [B, 1, S, D]
        return emb.cos(), emb.sin()

    def forward(self, inputs_embeds, attention_mask, position_ids, num_logits_to_keep, *past):
        x = inputs_embeds
        cos, sin = self.rope(position_ids)
        # Absolute positions of keys (0..total-1) and of the new queries (total-S..total-1).
        kpos = torch.ones_like(attention_mask[0], dtype=torch.int64).cumsum(0) - 1  # [T]
        srel = torch.ones_like(inputs_embeds[0, :, 0], dtype=torch.int64).cumsum(0)  # 1..S
        s_len = srel[-1:]  # [1]
        qpos = srel - s_len + kpos[-1:]  # [S]
        allowed = (kpos[None, :] <= qpos[:, None])[None, None] & attention_mask[:, None, None, :].bool()
        bias = torch.where(allowed, torch.zeros((), dtype=x.dtype), torch.full((), torch.finfo(x.dtype).min, dtype=x.dtype))
        presents = []
        rep = self.heads // self.kv_heads
        for i, layer in enumerate(self.lm.layers):
            sa = layer.self_attn
            h = layer.input_layernorm(x)
            q = sa.q_proj(h).unflatten(-1, (self.heads, self.head_dim)).transpose(1, 2)
            k = sa.k_proj(h).unflatten(-1, (self.kv_heads, self.head_dim)).transpose(1, 2)
            v = sa.v_proj(h).unflatten(-1, (self.kv_heads, self.head_dim)).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            k = torch.cat([past[2 * i], k], dim=2)
            v = torch.cat([past[2 * i + 1], v], dim=2)
            presents += [k, v]
            kr = torch.cat([k.unsqueeze(2)] * rep, dim=2).flatten(1, 2) if rep > 1 else k
            vr = torch.cat([v.unsqueeze(2)] * rep, dim=2).flatten(1, 2) if rep > 1 else v
            scores = torch.matmul(q, kr.transpose(-1, -2)) * (self.head_dim ** -0.5) + bias
            p = torch.softmax(scores.float(), dim=-1).to(q.dtype)
            o = torch.matmul(p, vr).transpose(1, 2).flatten(2)
            x = x + sa.o_proj(o)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        x = self.lm.norm(x)
        # num_logits_to_keep: 0 = every position (transformers.js prefill/scoring), n = last n.
        n = torch.where(num_logits_to_keep > 0, num_logits_to_keep, s_len[0])
        keep = torch.arange(s_len[0] - n, s_len[0])
        logits = self.lm_head(x.index_select(1, keep))
        return (logits, *presents)


def decoder_io_names(layers: int):
    ins = ["inputs_embeds", "attention_mask", "position_ids", "num_logits_to_keep"]
    outs = ["logits"]
    for i in range(layers):
        ins += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outs += [f"present.{i}.key", f"present.{i}.value"]
    dyn = {
        "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
        "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
        "position_ids": {1: "batch_size", 2: "sequence_length"},
        "logits": {0: "batch_size", 1: "logits_length"},
    }
    for i in range(layers):
        for kind in ("key", "value"):
            dyn[f"past_key_values.{i}.{kind}"] = {0: "batch_size", 2: "past_sequence_length"}
            dyn[f"present.{i}.{kind}"] = {0: "batch_size", 2: "total_sequence_length"}
    return ins, outs, dyn
