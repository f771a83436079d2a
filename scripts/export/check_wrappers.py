"""Before export: the trace-friendly wrappers must compute what the Hugging Face modules compute.

    python3 scripts/export/check_wrappers.py --size tiny

Prints the max abs difference for: the vision tower on a 3-slice grid vs the concatenation of
per-slice wrapper outputs; the text model on a 3D-rope prompt vs the decoder wrapper (prefill with
an empty past, then the last 3 tokens again as a decode step on the cached prefix).
"""

import argparse

import torch

from model_def import Decoder, VisionSlice, build_model, text_dims


def check(size: str, seed: int) -> dict:
    torch.manual_seed(1234)
    model = build_model(size, seed)
    d = text_dims(model)
    res = {}
    with torch.no_grad():
        t, h, w = 3, 6, 8
        grid = torch.tensor([[t, h, w]])
        pv = torch.randn(t * h * w, 1176)
        ref = model.model.visual(pv, grid_thw=grid).pooler_output
        vs = VisionSlice(model)
        n = h * w
        mine = torch.cat([vs(pv[i * n:(i + 1) * n], torch.tensor([[1, h, w]])) for i in range(t)], 0)
        res["vision_whole_grid_vs_slices"] = (ref - mine).abs().max().item()

        s = 12
        emb = torch.randn(1, s, d["hidden"])
        # vision-like 3D positions for tokens 2..9, text positions elsewhere
        pos = torch.arange(s).view(1, 1, s).repeat(3, 1, 1)
        pos[1, 0, 2:10] = torch.tensor([2, 2, 2, 2, 3, 3, 3, 3])
        pos[2, 0, 2:10] = torch.tensor([2, 3, 4, 5, 2, 3, 4, 5])
        pos[:, 0, 10:] = torch.tensor([6, 7])
        mask = torch.ones(1, s, dtype=torch.int64)
        lm = model.model.language_model
        ref_h = lm(inputs_embeds=emb, position_ids=pos, attention_mask=mask, use_cache=False).last_hidden_state
        ref_logits = model.lm_head(ref_h)
        dec = Decoder(model)
        empty = [torch.zeros(1, d["kv_heads"], 0, d["head_dim"])] * (2 * d["layers"])
        out = dec(emb, mask, pos, torch.tensor(0), *empty)
        res["decoder_prefill_all_logits"] = (out[0] - ref_logits).abs().max().item()
        out1 = dec(emb, mask, pos, torch.tensor(1), *empty)
        res["decoder_keep_1"] = (out1[0][:, -1] - ref_logits[:, -1]).abs().max().item()
        k = s - 3
        pre = dec(emb[:, :k], mask[:, :k], pos[:, :, :k], torch.tensor(1), *empty)
        step = dec(emb[:, k:], mask, pos[:, :, k:], torch.tensor(0), *pre[1:])
        res["decoder_cached_step"] = (step[0] - ref_logits[:, k:]).abs().max().item()
        res["logit_scale_std"] = ref_logits.std().item()
    for k_, v in res.items():
        print(f"  {k_}: {v:.3g}", flush=True)
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    check(a.size, a.seed)
