"""The tiny Qwen2.5-VL and its PyTorch reference, made on the development machine (no GPU machine).

    apt-get install -y python3-torch python3-torchvision python3-pil     # Debian: torch 1.13.1
    /usr/bin/python3 scripts/export/reference_qwen25_local.py --hf-dir DIR

DIR holds transformers 4.50.0's models/qwen2_5_vl/{modeling,configuration}_qwen2_5_vl.py (read from
a public source tree; hf_shim.py says what stands in for the rest of transformers). The same model
as qwen25.py builds on the GPU machine (run_all.sh tiny25): the tiny Qwen2-VL's text weights, read
back from the committed ONNX (tiny_weights.py), and a random vision tower (init_weights, seed 25).

Writes:
- models/tiny-random-qwen2_5-vl/: config.json (Qwen2_5_VLForConditionalGeneration), the other
  JSON files as the tiny Qwen2-VL's (preprocessor: Qwen2_5_VLProcessor), onnx/vision_encoder.onnx
  (qwen25.VisionSlice25 traced by torch 1.13, opset 17: pixel_values [h*w, 1176] + image_grid_thw
  [[1, h, w]] -> image_features, one temporal slice);
- e2e/fixtures/reference-qwen25/: checks.json (the vision wrapper vs HF, slices vs whole clip) and
  one <case>.json per case: input_ids (the Qwen2-VL fixtures', the same processor and template),
  grids, second_per_grid_ts, the full M-RoPE position ids of HF's get_rope_index, the pixel values
  checked against the Qwen2-VL fixtures' statistics, and PyTorch's top-20 logits, A-D log-probs,
  logits at 64 ids and 32 greedy tokens (repetition penalty 1.05).
"""

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from hf_shim import build_shim  # noqa: E402
from model_def import (EOS_TOKEN_IDS, IMAGE_TOKEN_ID, VIDEO_TOKEN_ID, VISION_END_TOKEN_ID,  # noqa: E402
                       VISION_START_TOKEN_ID, init_weights, text_config_kwargs)
from qwen25 import VISION_SEED, VISION_TINY, VisionSlice25  # noqa: E402
# The Qwen2-VL reference's own helpers and constants (onnxruntime is imported there only where used).
from reference import (LOGIT_IDS, NEW_TOKENS, PENALTY, SIDE, own_patches, penalised_argmax, r6,  # noqa: E402
                       summarise_logits)
from tiny_weights import load_tiny_weights  # noqa: E402

Q2 = ROOT / "models" / "tiny-random-qwen2-vl"
Q2_FIX = ROOT / "e2e" / "fixtures" / "reference"
GRIDS = [(1, 18, 18), (3, 18, 18), (1, 10, 14), (2, 20, 8), (1, 16, 16), (2, 36, 20)]
GRID_INPUT = "image_grid_thw"


def build(hf_dir: Path):
    tmp = Path(tempfile.mkdtemp(prefix="hf-shim-"))
    sys.path.insert(0, str(build_shim(hf_dir, tmp)))
    from transformers.models.qwen2_5_vl.configuration_qwen2_5_vl import Qwen2_5_VLConfig
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLForConditionalGeneration

    vision = dict(in_channels=3, patch_size=14, temporal_patch_size=2, spatial_merge_size=2, hidden_act="silu",
                  out_hidden_size=16, **VISION_TINY)
    cfg = Qwen2_5_VLConfig(**text_config_kwargs("tiny"), vision_config=vision, image_token_id=IMAGE_TOKEN_ID,
                           video_token_id=VIDEO_TOKEN_ID, vision_start_token_id=VISION_START_TOKEN_ID,
                           vision_end_token_id=VISION_END_TOKEN_ID)
    model = Qwen2_5_VLForConditionalGeneration(cfg)
    model.lm_head.weight = model.model.embed_tokens.weight  # tied, as the tiny Qwen2-VL
    init_weights(model.visual, VISION_SEED)
    # The text model: the tiny Qwen2-VL's weights, from its committed graphs (transformers 4 names).
    text = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in load_tiny_weights(Q2).items()
            if not k.startswith("visual.")}
    mine = {k: v for k, v in model.state_dict().items() if not k.startswith("visual.")}
    missing = sorted(set(mine) - set(text) - {"lm_head.weight"})
    extra = sorted(set(text) - set(mine))
    assert not missing and not extra, f"text weights: missing {missing}, unexpected {extra}"
    with torch.no_grad():
        for k, v in text.items():
            assert mine[k].shape == v.shape, k
            mine[k].copy_(v)
    model.eval()
    return model, cfg


def wrapper_of(model) -> VisionSlice25:
    return VisionSlice25(SimpleNamespace(model=SimpleNamespace(visual=model.visual),
                                         config=SimpleNamespace(vision_config=model.config.vision_config)))


def checks(model) -> dict:
    vs = wrapper_of(model)
    res = {}
    g = torch.Generator().manual_seed(11)
    for t, h, w in GRIDS:
        pv = torch.randn(t * h * w, 1176, generator=g)
        n = h * w
        with torch.no_grad():
            whole = model.visual(pv, grid_thw=torch.tensor([[t, h, w]]))
            slices = torch.cat([model.visual(pv[i * n:(i + 1) * n], grid_thw=torch.tensor([[1, h, w]]))
                                for i in range(t)])
            mine = torch.cat([vs(pv[i * n:(i + 1) * n], torch.tensor([[1, h, w]])) for i in range(t)])
            full = vs.full
            vs.full = set(range(len(model.visual.blocks)))
            all_full = torch.cat([vs(pv[i * n:(i + 1) * n], torch.tensor([[1, h, w]])) for i in range(t)])
            vs.full = full
        res[f"{t}x{h}x{w}"] = {"feature_std": r6(whole.std()), "slices_vs_whole": r6((slices - whole).abs().max()),
                               "wrapper_vs_hf": r6((mine - whole).abs().max()),
                               "wrapper_all_full_vs_hf": r6((all_full - whole).abs().max())}
        print(f"  vision {t}x{h}x{w}: {res[f'{t}x{h}x{w}']}", flush=True)
    return res


def export_vision(model, out: Path) -> None:
    (out / "onnx").mkdir(parents=True, exist_ok=True)
    pv = torch.randn(240, 1176, generator=torch.Generator().manual_seed(3))
    grid = torch.tensor([[1, 12, 20]], dtype=torch.int64)  # h != w, several windows
    with torch.no_grad():
        torch.onnx.export(wrapper_of(model), (pv, grid), str(out / "onnx" / "vision_encoder.onnx"), opset_version=17,
                          input_names=["pixel_values", GRID_INPUT], output_names=["image_features"],
                          dynamic_axes={"pixel_values": {0: "num_patches"}, "image_features": {0: "num_features"}},
                          do_constant_folding=True)


def write_configs(model, out: Path) -> None:
    cfg = json.loads((Q2 / "config.json").read_text())
    vc = model.config.vision_config
    cfg.update(architectures=["Qwen2_5_VLForConditionalGeneration"], model_type="qwen2_5_vl")
    cfg["vision_config"] = {k: getattr(vc, k) for k in (
        "depth", "hidden_size", "hidden_act", "intermediate_size", "num_heads", "in_channels", "patch_size",
        "spatial_merge_size", "temporal_patch_size", "tokens_per_second", "window_size", "out_hidden_size",
        "fullatt_block_indexes")}
    cfg["vision_config"]["model_type"] = "qwen2_5_vl"
    if isinstance(cfg.get("text_config"), dict):
        cfg["text_config"]["model_type"] = "qwen2_5_vl_text"
    cfg["_comment"] = (f"Random weights; not a trained model. Text model = models/tiny-random-qwen2-vl's (its "
                       f"graphs are shared), vision tower seed {VISION_SEED}; made by "
                       f"scripts/export/reference_qwen25_local.py.")
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    pre = json.loads((Q2 / "preprocessor_config.json").read_text())
    pre["processor_class"] = "Qwen2_5_VLProcessor"
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2) + "\n")
    for f in ("generation_config.json", "tokenizer_config.json"):
        shutil.copy(Q2 / f, out / f)


def stats_diff(t: torch.Tensor, ref: dict) -> float:
    """Max abs difference to a Qwen2-VL fixture's statistics of the same tensor (shape checked)."""
    assert list(t.shape) == ref["shape"], (list(t.shape), ref["shape"])
    d = max(abs(float(t.mean()) - ref["mean"]), abs(float(t.std()) - ref["std"]), abs(float(t.min()) - ref["min"]),
            abs(float(t.max()) - ref["max"]))
    for k, i in ref["row_indices"].items():
        d = max(d, float(np.abs(t[i, :64].numpy() - np.array(ref["rows_first64"][k])).max()))
    return d


def run_case(model, case: dict, cases_dir: Path, letters: dict) -> dict:
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    cid = case["case_id"]
    q2 = json.loads((Q2_FIX / f"{cid}.json").read_text())
    cdir = cases_dir / cid
    fx = {k: q2[k] for k in ("case_id", "sample_id", "clip", "still", "N", "fps", "n_sampled", "indices",
                             "question", "choices", "golden_choice_idx", "prompt_text", "input_ids",
                             "prompt_tokens", "image_grid_thw", "video_grid_thw") if k in q2}
    fx["still_252_png"] = f"../reference/{q2['still_252_png']}"
    still = Image.open(cdir / case["still_png"]).convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    s = torch.from_numpy(np.asarray(still).copy()).permute(2, 0, 1).float()
    pv = own_patches(torch.stack([s, s]))
    fx["pixel_values_vs_qwen2vl_fixture"] = r6(stats_diff(pv, q2["pixel_values"]))
    ids = torch.tensor([q2["input_ids"]])
    kwargs = dict(pixel_values=pv, image_grid_thw=torch.tensor(q2["image_grid_thw"]))
    spg = None
    if case["clip"]:
        frames = [np.asarray(Image.open(cdir / f).convert("RGB")) for f in case["frames"]]
        video = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous().float()
        video = TF.resize(video, [SIDE, SIDE], interpolation=InterpolationMode.BICUBIC, antialias=True)
        pvv = own_patches(video)
        fx["pixel_values_videos_vs_qwen2vl_fixture"] = r6(stats_diff(pvv, q2["pixel_values_videos"]))
        sample_fps = case["n_sampled"] / max(case["N"], 1e-6) * case["fps"]
        spg = torch.tensor([2 / sample_fps], dtype=torch.float32)
        fx["time"] = {"sample_fps": sample_fps, "second_per_grid_ts": float(spg[0]),
                      "tokens_per_second": model.config.vision_config.tokens_per_second,
                      "formula": "sample_fps = n_sampled / N * fps (qwen-vl-utils); second_per_grid_ts = 2 / sample_fps"}
        kwargs.update(pixel_values_videos=pvv, video_grid_thw=torch.tensor(q2["video_grid_thw"]),
                      second_per_grid_ts=spg)
        with torch.no_grad():
            feats = model.visual(pvv, grid_thw=kwargs["video_grid_thw"])
        fx["vision_video_features"] = {"shape": list(feats.shape), "std": r6(feats.std()),
                                       "first_row": [r6(x) for x in feats[0]], "last_row": [r6(x) for x in feats[-1]]}
    with torch.no_grad():
        pos, delta = model.get_rope_index(ids, kwargs["image_grid_thw"], kwargs.get("video_grid_thw"), spg,
                                          torch.ones_like(ids))
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False, return_dict=False, **kwargs)
    logits = out[0][0].float().numpy()
    fx["position_ids"] = pos[:, 0].tolist()
    fx["rope_delta"] = int(delta[0, 0])
    fx["pytorch"] = summarise_logits(logits[-1], letters)
    seen, greedy = set(q2["input_ids"]), []
    nxt = logits[-1]
    seq = list(q2["input_ids"])
    for step in range(NEW_TOKENS):
        tok = penalised_argmax(nxt, seen)
        greedy.append(tok)
        seen.add(tok)
        if tok in EOS_TOKEN_IDS or step == NEW_TOKENS - 1:
            break
        seq.append(tok)
        t = torch.tensor([seq])
        with torch.no_grad():  # the whole sequence again (no cache): HF's own positions for every token
            nxt = model(input_ids=t, attention_mask=torch.ones_like(t), use_cache=False, return_dict=False,
                        **kwargs)[0][0, -1].float().numpy()
    fx["pytorch"]["greedy_ids"] = greedy
    fx["qwen2vl_pytorch_greedy_ids"] = q2["pytorch"]["greedy_ids"]
    return fx


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hf-dir", required=True, help="folder with transformers 4.50's qwen2_5_vl modeling + configuration")
    ap.add_argument("--cases", default=str(ROOT / ".device" / "cases"))
    ap.add_argument("--model-out", default=str(ROOT / "models" / "tiny-random-qwen2_5-vl"))
    ap.add_argument("--out", default=str(ROOT / "e2e" / "fixtures" / "reference-qwen25"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    model, _ = build(Path(a.hf_dir))
    out, mdir = Path(a.out), Path(a.model_out)
    out.mkdir(parents=True, exist_ok=True)
    mdir.mkdir(parents=True, exist_ok=True)
    index = {"model": {"id": mdir.name, "family": "qwen2_5_vl",
                       "reference": "transformers 4.50.0 modeling_qwen2_5_vl.py (Qwen2_5_VLForConditionalGeneration, "
                                    "eager attention, no cache), float32, CPU, run through scripts/export/hf_shim.py",
                       "text_weights": "models/tiny-random-qwen2-vl's (read back from its fp32 graphs)",
                       "vision_seed": VISION_SEED, "versions": {"torch": torch.__version__, "transformers": "4.50.0"}},
             "letter_token_ids": {"A": 32, "B": 33, "C": 34, "D": 35}, "logit_ids": LOGIT_IDS,
             "new_tokens": NEW_TOKENS, "repetition_penalty": PENALTY, "cases": []}
    index["checks"] = checks(model)
    write_configs(model, mdir)
    export_vision(model, mdir)
    print(f"  exported {mdir / 'onnx' / 'vision_encoder.onnx'}", flush=True)
    cases = json.loads((Path(a.cases) / "cases.json").read_text())
    for case in cases:
        t1 = time.time()
        fx = run_case(model, case, Path(a.cases), index["letter_token_ids"])
        (out / f"{case['case_id']}.json").write_text(json.dumps(fx, separators=(",", ":")))
        index["cases"].append({"case_id": case["case_id"], "file": f"{case['case_id']}.json",
                               "prompt_tokens": fx["prompt_tokens"], "time": fx.get("time"),
                               "pixel_values_vs_qwen2vl_fixture": fx["pixel_values_vs_qwen2vl_fixture"],
                               "pixel_values_videos_vs_qwen2vl_fixture": fx.get("pixel_values_videos_vs_qwen2vl_fixture"),
                               "greedy_equals_qwen2vl": fx["pytorch"]["greedy_ids"] == fx["qwen2vl_pytorch_greedy_ids"]})
        print(f"case {case['case_id']}: {time.time() - t1:.1f}s; pixels vs Qwen2-VL fixture "
              f"{fx['pixel_values_vs_qwen2vl_fixture']} / {fx.get('pixel_values_videos_vs_qwen2vl_fixture')}; "
              f"greedy {fx['pytorch']['greedy_ids'][:8]}...", flush=True)
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    print(f"done in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
