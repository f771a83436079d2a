"""PyTorch reference fixtures for the tiny Qwen2.5-VL, and onnxruntime checks of its graphs.

    python3 scripts/export/reference_qwen25.py --model-dir models/tiny-random-qwen2_5-vl --cases .device/cases \
        --out e2e/fixtures/reference-qwen25

The same cases, frames, resize and prompt as reference.py (protocol.md). What differs:
- the model: Qwen2_5_VLForConditionalGeneration (qwen25.py), fp32 on CPU;
- the video's time: second_per_grid_ts = temporal_patch_size / sample_fps, sample_fps = n / N * fps
  (qwen-vl-utils: n frames sampled over N at the container fps), handed to Qwen2_5_VLProcessor as
  fps and to the model; the fixture records ours, the processor's, and the one the model used;
- position ids: the ones HF's forward hands the text model (captured), recorded in full, and
  compared with an independent implementation of the formula (t index = floor(t * spg * tokens_per_second));
- the ONNX side: vision_encoder*.onnx of this export + the Qwen2-VL text graphs (copied in).
"""

import argparse
import json
import time
import traceback
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image

import reference as R
from export_onnx import QWEN2_VL_CHAT_TEMPLATE
from export_qwen25 import GRID_INPUT
from model_def import EOS_TOKEN_IDS, IMAGE_TOKEN_ID, VIDEO_TOKEN_ID, VISION_START_TOKEN_ID, text_dims
from qwen25 import build_model25, hf_position_ids, own_position_ids, visual_features

COMBOS = {
    "fp32": {"embed_tokens": "fp32", "vision_encoder": "fp32", "decoder_model_merged": "fp32"},
    "q8": {"embed_tokens": "q8", "vision_encoder": "q8", "decoder_model_merged": "q8"},
    "q4": {"embed_tokens": "fp32", "vision_encoder": "q4", "decoder_model_merged": "q4"},
    "fp16-vision": {"embed_tokens": "fp32", "vision_encoder": "fp16", "decoder_model_merged": "fp32"},
}
SHARED_TEXT = "text graphs: models/tiny-random-qwen2-vl/onnx (copied by npm run prepare:test-data)"


class OrtModel25(R.OrtModel):
    """reference.py's runner; the vision graph's grid input is `image_grid_thw` (export_qwen25.py)."""

    def vision(self, pv: np.ndarray, grid: np.ndarray) -> np.ndarray:
        out, row = [], 0
        for t, h, w in grid.tolist():
            for _ in range(t):
                n = h * w
                out.append(self.s["vision_encoder"].run(None, {
                    "pixel_values": pv[row:row + n].astype(np.float32),
                    GRID_INPUT: np.array([[1, h, w]], dtype=np.int64)})[0])
                row += n
        return np.concatenate(out, 0)


def onnx_vision_grids(model, model_dir: Path) -> dict:
    from check_qwen25 import GRIDS

    res = {}
    g = torch.Generator().manual_seed(7)
    for dt, sfx in (("fp32", ""), ("fp16", "_fp16")):
        sess = ort.InferenceSession(str(model_dir / f"onnx/vision_encoder{sfx}.onnx"), providers=["CPUExecutionProvider"])
        for t, h, w in GRIDS:
            pv = torch.randn(t * h * w, 1176, generator=g)
            with torch.no_grad():
                ref = visual_features(model.model.visual(pv, grid_thw=torch.tensor([[t, h, w]]))).numpy()
            n = h * w
            mine = np.concatenate([sess.run(None, {"pixel_values": pv[i * n:(i + 1) * n].numpy(),
                                                   GRID_INPUT: np.array([[1, h, w]], np.int64)})[0] for i in range(t)])
            res[f"{dt} {t}x{h}x{w}"] = R.r6(np.abs(mine - ref).max())
    print(f"  vision graph per slice vs PyTorch whole grid: {res}", flush=True)
    return res


def build_processor25(tok, ip, vp):
    from transformers import Qwen2_5_VLProcessor

    return Qwen2_5_VLProcessor(image_processor=ip, tokenizer=tok, video_processor=vp, chat_template=QWEN2_VL_CHAT_TEMPLATE)


def run_case(case, cases_dir: Path, out_dir: Path, model, tok, proc2, proc25, model_dir: Path, dims, letter_ids, tps):
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    cid = case["case_id"]
    cdir = cases_dir / cid
    fx_dir = out_dir / cid
    fx_dir.mkdir(parents=True, exist_ok=True)
    fx = {k: case[k] for k in ("case_id", "sample_id", "clip", "still", "N", "fps", "n_sampled", "indices",
                               "question", "choices", "golden_choice_idx") if k in case}
    fx["still_made_from"] = case.get("still_made_from")
    prompt = R.prompt_for(tok, case)
    fx["prompt_text"] = prompt
    still = Image.open(cdir / case["still_png"]).convert("RGB").resize((R.SIDE, R.SIDE), Image.Resampling.BICUBIC)
    still.save(fx_dir / "still_252.png")
    fx["still_252_png"] = f"{cid}/still_252.png"
    kwargs = {"text": [prompt], "images": [still], "return_tensors": "pt"}
    video_f = None
    spg_ours = None
    if case["clip"]:
        frames = [np.asarray(Image.open(cdir / f).convert("RGB")) for f in case["frames"]]
        video_u8 = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()
        video_f = TF.resize(video_u8.float(), [R.SIDE, R.SIDE], interpolation=InterpolationMode.BICUBIC, antialias=True)
        kwargs["videos"] = [video_f]
        sample_fps = case["n_sampled"] / max(case["N"], 1e-6) * case["fps"]
        spg_ours = 2 / sample_fps  # temporal_patch_size / sample_fps
        fx["time"] = {"sample_fps": sample_fps, "second_per_grid_ts_ours": spg_ours, "tokens_per_second": tps,
                      "formula": "sample_fps = n_sampled / N * fps (qwen-vl-utils); second_per_grid_ts = 2 / sample_fps"}
    inputs2 = proc2(**kwargs)
    inputs, spg, p25 = None, None, {}
    if proc25 is not None:  # Qwen2.5-VL's own processor, told the sampled fps as qwen-vl-utils tells it
        # transformers 5 derives second_per_grid_ts from video metadata (sampled fps), older ones from fps=.
        tries = [{}]
        if video_f is not None:
            meta = {"total_num_frames": case["N"], "fps": case["fps"], "frames_indices": case["indices"],
                    "duration": case["N"] / case["fps"]}
            tries = [{"video_metadata": [meta]}, {"fps": [fx["time"]["sample_fps"]]}, {"fps": fx["time"]["sample_fps"]}, {}]
        for extra in tries:
            try:
                got_inputs = dict(proc25(**kwargs, **extra))
            except Exception as e:
                traceback.print_exc()
                p25.setdefault("errors", []).append(f"{list(extra)}: {e!r}")
                continue
            g = got_inputs.get("second_per_grid_ts")
            g = None if g is None else [float(x) for x in g]
            p25.setdefault("tries", []).append({"kwargs": list(extra), "second_per_grid_ts": g})
            if inputs is None or (g is not None and spg_ours is not None and abs(g[0] - spg_ours) < 1e-5):
                inputs = got_inputs
                p25["kwargs_used"] = list(extra)
                if g is not None and spg_ours is not None and abs(g[0] - spg_ours) < 1e-5:
                    break
    if inputs is not None:
        got = inputs.pop("second_per_grid_ts", None)
        p25["second_per_grid_ts"] = None if got is None else [float(x) for x in got]
        p25["input_ids_equal_qwen2vl_processor"] = bool(inputs["input_ids"].shape == inputs2["input_ids"].shape
                                                        and torch.equal(inputs["input_ids"], inputs2["input_ids"]))
        for k in ("pixel_values", "pixel_values_videos"):
            if k in inputs and k in inputs2:
                a, b = inputs[k], inputs2[k]
                p25[f"{k}_max_abs_diff_vs_qwen2vl_processor"] = (
                    R.r6((a - b).abs().max()) if a.shape == b.shape else 1e30)  # 1e30: shapes differ
        fx["processor"] = "Qwen2_5_VLProcessor"
        same = p25["input_ids_equal_qwen2vl_processor"] and all(
            v <= 1e-4 for k, v in p25.items() if k.endswith("_max_abs_diff_vs_qwen2vl_processor"))
        if not same:  # e.g. it resampled the frames: protocol.md's frames and grid are Qwen2VLProcessor's
            inputs = None
    if inputs is None:
        inputs = dict(inputs2)
        inputs.pop("second_per_grid_ts", None)
        fx["processor"] = "Qwen2VLProcessor (Qwen2_5_VLProcessor failed or gave other inputs, see processor25)"
    fx["processor25"] = p25
    if video_f is not None:
        spg = torch.tensor([spg_ours], dtype=torch.float32)
        got = p25.get("second_per_grid_ts")
        if got is not None and abs(got[0] - spg_ours) < 1e-5:
            spg = torch.tensor(got, dtype=torch.float32)
        fx["time"]["second_per_grid_ts_processor25"] = got
        fx["time"]["second_per_grid_ts_used"] = [float(x) for x in spg]
        fx["time"]["second_per_grid_ts"] = float(spg[0])  # the key reference_qwen25_local.py writes
        fx["time"]["tokens_per_second"] = tps
        fx["pixel_values_videos"] = R.stats(inputs["pixel_values_videos"])
        fx["video_grid_thw"] = inputs["video_grid_thw"].tolist()
    fx["pixel_values"] = R.stats(inputs["pixel_values"])
    fx["image_grid_thw"] = inputs["image_grid_thw"].tolist()
    fx["input_ids"] = inputs["input_ids"][0].tolist()
    fx["prompt_tokens"] = len(fx["input_ids"])
    pos, out, inputs = hf_position_ids(model, inputs, spg)
    pt_logits = out.logits[0].float().numpy()
    fx["position_ids_dtype"] = str(pos.dtype)
    pos_np = pos.detach().cpu().numpy()
    fx["position_ids"] = pos_np[:, 0].astype(np.float64).tolist() if pos.is_floating_point() else pos_np[:, 0].tolist()
    own = own_position_ids(fx["input_ids"], fx["image_grid_thw"], fx.get("video_grid_thw"),
                           None if spg is None else spg.tolist(), tps)
    fx["position_ids_equal_own_formula"] = bool(np.array_equal(own, pos_np[:, 0]))
    fx["position_ids_last"] = pos_np[:, 0, -1].tolist()
    # For comparison: the Qwen2-VL ids (t index = t), what a Qwen2-VL app would feed.
    q2 = own_position_ids(fx["input_ids"], fx["image_grid_thw"], fx.get("video_grid_thw"), None, tps, time_scale=False)
    fx["position_ids_differ_from_qwen2vl"] = int((q2 != pos_np[:, 0]).any(0).sum())
    pt_vision = None
    with torch.no_grad():
        if video_f is not None:
            pt_vision = visual_features(model.model.visual(inputs["pixel_values_videos"],
                                                           grid_thw=inputs["video_grid_thw"])).numpy()
        gen = model.generate(**inputs, second_per_grid_ts=spg, max_new_tokens=R.NEW_TOKENS, do_sample=False,
                             repetition_penalty=R.PENALTY, eos_token_id=EOS_TOKEN_IDS, pad_token_id=EOS_TOKEN_IDS[1])
    greedy = gen[0, inputs["input_ids"].shape[1]:].tolist()
    fx["pytorch"] = R.summarise_logits(pt_logits[-1], letter_ids)
    fx["pytorch"]["greedy_ids"] = greedy
    fx["pytorch"]["greedy_text"] = tok.decode(greedy, skip_special_tokens=True)
    fx["onnx"] = {}
    pos_int = pos_np.astype(np.int64)
    for dt, combo in COMBOS.items():
        try:
            om = OrtModel25(model_dir, combo, dims["layers"], dims["kv_heads"], dims["head_dim"])
            r = R.run_onnx(om, inputs, pos_int, letter_ids, pt_logits, pt_vision, greedy)
        except Exception as e:
            traceback.print_exc()
            fx["onnx"][dt] = {"error": repr(e)}
            continue
        r["files_committed"] = SHARED_TEXT
        r["greedy_text"] = tok.decode(r["greedy_ids"], skip_special_tokens=True)
        fx["onnx"][dt] = r
        R.say_onnx(cid, dt, r)
    return fx


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default="models/tiny-random-qwen2_5-vl")
    ap.add_argument("--cases", default=".device/cases")
    ap.add_argument("--out", default="e2e/fixtures/reference-qwen25")
    args = ap.parse_args()
    torch.set_num_threads(8)
    model_dir, cases_dir, out_dir = Path(args.model_dir), Path(args.cases), Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, _ = build_model25("tiny", 0)
    dims = text_dims(model)
    tps = float(model.config.vision_config.tokens_per_second)
    tok, proc2 = R.build_processor(model_dir)
    try:
        proc25 = build_processor25(tok, proc2.image_processor, proc2.video_processor)
    except Exception:
        traceback.print_exc()
        proc25 = None
    letter_ids = {}
    for letter in "ABCD":
        enc = tok.encode(letter, add_special_tokens=False)
        assert len(enc) == 1
        letter_ids[letter] = enc[0]
    import transformers
    index = {"model": {"id": model_dir.name, "family": "qwen2_5_vl",
                       "reference": "transformers Qwen2_5_VLForConditionalGeneration, float32, CPU",
                       "text_graphs_from": "models/tiny-random-qwen2-vl",
                       "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__,
                                    "transformers": transformers.__version__}},
             "letter_token_ids": letter_ids, "logit_ids": R.LOGIT_IDS, "new_tokens": R.NEW_TOKENS,
             "repetition_penalty": R.PENALTY, "dtype_files": COMBOS, "tokens_per_second": tps,
             "vision_start_token_id": VISION_START_TOKEN_ID, "cases": []}
    try:  # the exported fp32 vision graph, slice by slice, on grids with several (and partial) windows
        index["vision_any_grid_check"] = onnx_vision_grids(model, model_dir)
    except Exception as e:
        traceback.print_exc()
        index["vision_any_grid_check"] = {"error": repr(e)}
    cases = json.loads((cases_dir / "cases.json").read_text())
    for case in cases:
        t0 = time.time()
        try:
            fx = run_case(case, cases_dir, out_dir, model, tok, proc2, proc25, model_dir, dims, letter_ids, tps)
        except Exception as e:
            traceback.print_exc()
            index["cases"].append({"case_id": case["case_id"], "error": repr(e)})
            continue
        fx["model"] = index["model"]
        fx["letter_token_ids"] = letter_ids
        fx["logit_ids"] = R.LOGIT_IDS
        name = f"{case['case_id']}.json"
        (out_dir / name).write_text(json.dumps(fx, separators=(",", ":")))
        ok = {d: r for d, r in fx["onnx"].items() if "error" not in r}
        index["cases"].append({
            "case_id": case["case_id"], "file": name, "sample_id": case["sample_id"], "clip": case["clip"],
            "n_sampled": case["n_sampled"], "prompt_tokens": fx["prompt_tokens"], "time": fx.get("time"),
            "position_ids_equal_own_formula": fx["position_ids_equal_own_formula"],
            "position_ids_differ_from_qwen2vl": fx["position_ids_differ_from_qwen2vl"],
            "max_abs_logit_diff_last": {d: r["max_abs_logit_diff_last"] for d, r in ok.items()},
            "max_abs_logit_diff_all_positions": {d: r["max_abs_logit_diff_all_positions"] for d, r in ok.items()},
            "vision_max_abs_diff_video": {d: r.get("vision_max_abs_diff_video") for d, r in ok.items()},
            "greedy_matches_pytorch": {d: r["greedy_matches_pytorch"] for d, r in ok.items()}})
        print(f"case {case['case_id']} done in {time.time() - t0:.1f}s", flush=True)
    (out_dir / "index.json").write_text(json.dumps(index, indent=1))
    print(json.dumps(index["cases"], indent=1))


if __name__ == "__main__":
    main()
