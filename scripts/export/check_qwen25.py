"""Before export: the tiny Qwen2.5-VL, its vision wrapper and the shared Qwen2-VL text graphs, in PyTorch.

    python3 scripts/export/check_qwen25.py --json /tmp/check-qwen25.json

Records (max abs differences):
- `slices_vs_whole`: HF's vision tower on a whole multi-slice grid vs HF on each temporal slice
  alone, concatenated: ~1e-6 means attention never crosses temporal slices (the app may encode a clip
  slice by slice); large means it does (encode the clip whole);
- `wrapper_vs_hf`: VisionSlice25 per slice vs HF on the whole grid;
- `wrapper_all_full_vs_hf`: the wrapper with window attention switched off: must be LARGE, else
  the windows are not exercised by these grids;
- the text side: Decoder wrapper on the Qwen2.5-VL text model vs HF; the committed Qwen2-VL
  decoder_model_merged.onnx / embed_tokens.onnx (onnxruntime CPU) vs the Qwen2.5-VL text model.
Each check runs on its own: one failure is printed and recorded, the others still run.
"""

import argparse
import json
import traceback
from pathlib import Path

import numpy as np
import torch

from model_def import Decoder, text_dims
from qwen25 import VisionSlice25, build_model25, visual_features

GRIDS = [(1, 18, 18), (3, 18, 18), (1, 10, 14), (2, 20, 8), (1, 16, 16), (2, 36, 20)]
Q2_DIR = Path("models/tiny-random-qwen2-vl/onnx")


def r(x) -> float:
    return float(f"{float(x):.6g}")


def vision_checks(model) -> dict:
    res = {}
    vs = VisionSlice25(model)
    g = torch.Generator().manual_seed(11)
    for t, h, w in GRIDS:
        key = f"{t}x{h}x{w}"
        try:
            pv = torch.randn(t * h * w, 1176, generator=g)
            n = h * w
            with torch.no_grad():
                whole = visual_features(model.model.visual(pv, grid_thw=torch.tensor([[t, h, w]])))
                slices = torch.cat([visual_features(model.model.visual(pv[i * n:(i + 1) * n],
                                                                       grid_thw=torch.tensor([[1, h, w]])))
                                    for i in range(t)], 0)
                mine = torch.cat([vs(pv[i * n:(i + 1) * n], torch.tensor([[1, h, w]])) for i in range(t)], 0)
                full = vs.full
                vs.full = set(range(len(model.model.visual.blocks)))
                all_full = torch.cat([vs(pv[i * n:(i + 1) * n], torch.tensor([[1, h, w]])) for i in range(t)], 0)
                vs.full = full
            res[key] = {"features_shape": list(whole.shape), "feature_std": r(whole.std()),
                        "slices_vs_whole": r((slices - whole).abs().max()),
                        "wrapper_vs_hf": r((mine - whole).abs().max()),
                        "wrapper_all_full_vs_hf": r((all_full - whole).abs().max())}
        except Exception as e:
            traceback.print_exc()
            res[key] = {"error": repr(e)}
        print(f"  vision {key}: {res[key]}", flush=True)
    return res


def text_checks(model) -> dict:
    res = {}
    d = text_dims(model)
    torch.manual_seed(1234)
    s = 12
    emb = torch.randn(1, s, d["hidden"])
    pos = torch.arange(s).view(1, 1, s).repeat(3, 1, 1)
    pos[0, 0, 2:10] = torch.tensor([2, 2, 2, 2, 4, 4, 4, 4])  # time-scaled t index, as Qwen2.5-VL's video
    pos[1, 0, 2:10] = torch.tensor([2, 2, 3, 3, 2, 2, 3, 3])
    pos[2, 0, 2:10] = torch.tensor([2, 3, 2, 3, 2, 3, 2, 3])
    pos[:, 0, 10:] = torch.tensor([5, 6])
    mask = torch.ones(1, s, dtype=torch.int64)
    empty = [torch.zeros(1, d["kv_heads"], 0, d["head_dim"])] * (2 * d["layers"])
    with torch.no_grad():
        lm = model.model.language_model
        ref = model.lm_head(lm(inputs_embeds=emb, position_ids=pos, attention_mask=mask, use_cache=False).last_hidden_state)
        dec = Decoder(model)
        out = dec(emb, mask, pos, torch.tensor(0), *empty)
        res["decoder_wrapper_vs_hf"] = r((out[0] - ref).abs().max())
        res["logit_std"] = r(ref.std())
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(Q2_DIR / "decoder_model_merged.onnx"), providers=["CPUExecutionProvider"])
        feeds = {"inputs_embeds": emb.numpy(), "attention_mask": mask.numpy(), "position_ids": pos.numpy(),
                 "num_logits_to_keep": np.array(0, dtype=np.int64)}
        for i in range(d["layers"]):
            for kind in ("key", "value"):
                feeds[f"past_key_values.{i}.{kind}"] = np.zeros((1, d["kv_heads"], 0, d["head_dim"]), np.float32)
        lg = sess.run(None, feeds)[0]
        res["qwen2vl_decoder_onnx_vs_qwen25_hf"] = r(np.abs(lg - ref.numpy()).max())
        es = ort.InferenceSession(str(Q2_DIR / "embed_tokens.onnx"), providers=["CPUExecutionProvider"])
        ids = np.array([[151643, 9707, 11, 1879, 0, 151655, 151936 - 1]], dtype=np.int64)
        e = es.run(None, {"input_ids": ids})[0]
        with torch.no_grad():
            e_ref = model.model.language_model.embed_tokens(torch.from_numpy(ids)).numpy()
        res["qwen2vl_embed_onnx_vs_qwen25_hf"] = r(np.abs(e - e_ref).max())
    except Exception as e:
        traceback.print_exc()
        res["onnx_error"] = repr(e)
    print(f"  text: {res}", flush=True)
    return res


def dump_hf_source(path: Path) -> None:
    """The installed transformers' Qwen2.5-VL position ids, vision forward and processor call, as
    text to read (the TypeScript side implements the same formulas; nothing of it is committed)."""
    import inspect

    import transformers.models.qwen2_5_vl.modeling_qwen2_5_vl as M
    import transformers.models.qwen2_5_vl.processing_qwen2_5_vl as P

    parts = []
    for owner, names in ((M.Qwen2_5_VLModel, ["get_rope_index", "get_vision_position_ids", "compute_3d_position_ids",
                                              "forward"]),
                         (M.Qwen2_5_VisionTransformerPretrainedModel, ["get_window_index", "rot_pos_emb", "forward"]),
                         (P.Qwen2_5_VLProcessor, ["__call__"])):
        for n in names:
            fn = getattr(owner, n, None)
            if fn is None:
                parts.append(f"# {owner.__name__}.{n}: absent")
                continue
            try:
                parts.append(f"# {owner.__name__}.{n}\n" + inspect.getsource(fn))
            except Exception as e:
                parts.append(f"# {owner.__name__}.{n}: {e!r}")
    path.write_text("\n\n".join(parts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--hf-source", default=None, help="write the installed transformers' Qwen2.5-VL source parts here")
    a = ap.parse_args()
    if a.hf_source:
        try:
            dump_hf_source(Path(a.hf_source))
        except Exception:
            traceback.print_exc()
    torch.set_num_threads(8)
    out: dict = {}
    model, _ = build_model25("tiny", 0)
    print(model.model.visual, flush=True)
    out["config"] = model.config.to_dict()
    out["visual_params"] = sum(p.numel() for p in model.model.visual.parameters())
    out["visual_param_names"] = [k for k, _ in model.model.visual.named_parameters()]
    for name, fn in (("vision", vision_checks), ("text", text_checks)):
        try:
            out[name] = fn(model)
        except Exception as e:
            traceback.print_exc()
            out[name] = {"error": repr(e)}
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
