"""PyTorch reference outputs for the committed cases, and onnxruntime checks of every exported dtype.

    python3 scripts/export/reference.py --model-dir models/tiny-random-qwen2-vl --cases .device/cases \
        --out e2e/fixtures/reference

For each case (cases.json from extract_frames.py) it follows protocol.md: frames resized with
torchvision bicubic + antialias (float, unclamped), the still with Pillow bicubic, transformers'
Qwen2VLProcessor, Qwen2VLForConditionalGeneration in fp32 on CPU. Then it runs the ONNX graphs the
way transformers.js does (embed, vision per temporal slice, merged decoder with a KV cache) and
records per dtype the same numbers plus the max abs logit difference to PyTorch.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from export_onnx import CLIP_MEAN, CLIP_STD, MAX_PIXELS, MIN_PIXELS, QWEN2_VL_CHAT_TEMPLATE, SUFFIX
from model_def import EOS_TOKEN_IDS, IMAGE_TOKEN_ID, VIDEO_TOKEN_ID, build_model, text_dims

PROMPT_SUFFIX = (" Output the thinking process in <think> </think> and final answer in <answer> </answer> tags, "
                 "i.e., <think> reasoning process here </think><answer> answer here </answer>. ")
SIDE = 252
GRID_POS = [0, 36, 72, 108, 144, 180, 216, 251]
PIXEL_POSITIONS = [[y, x] for y in GRID_POS for x in GRID_POS]  # 64 fixed (y, x) positions
LOGIT_IDS = [i * 2374 for i in range(64)]
NEW_TOKENS = 32
PENALTY = 1.05
COMBOS = {  # dtype -> file per graph; embed_tokens has no 4-bit form (Gather), fp32 is used there
    "fp32": {"embed_tokens": "fp32", "vision_encoder": "fp32", "decoder_model_merged": "fp32"},
    "fp16": {"embed_tokens": "fp32", "vision_encoder": "fp16", "decoder_model_merged": "fp16"},
    "q8": {"embed_tokens": "q8", "vision_encoder": "q8", "decoder_model_merged": "q8"},
    "q4": {"embed_tokens": "fp32", "vision_encoder": "q4", "decoder_model_merged": "q4"},
    "q4f16": {"embed_tokens": "fp32", "vision_encoder": "q4f16", "decoder_model_merged": "q4f16"},
}
# Over the 30 MB budget of the committed tiny model (4.9 MB, 2.8 MB); exported and measured all the same.
NOT_COMMITTED = {"onnx/decoder_model_merged_fp16.onnx", "onnx/decoder_model_merged_q4f16.onnx"}
SPECIAL_IDS = {"<|vision_start|>": 151652, "<|vision_end|>": 151653, "<|image_pad|>": 151655, "<|video_pad|>": 151656,
               "<|im_start|>": 151644, "<|im_end|>": 151645, "<|endoftext|>": 151643}


def r6(x) -> float:
    return float(f"{float(x):.6g}")


def stats(t: torch.Tensor) -> dict:
    t = t.float()
    rows = t.shape[0]
    picks = {"first": 0, "middle": rows // 2, "last": rows - 1}
    return {"shape": list(t.shape), "mean": r6(t.mean()), "std": r6(t.std()), "min": r6(t.min()), "max": r6(t.max()),
            "row_indices": picks, "rows_first64": {k: [r6(v) for v in t[i, :64]] for k, i in picks.items()}}


def frame_samples(chw: torch.Tensor) -> dict:
    """Per-channel mean of a 252x252 (3, H, W) frame and its values at the 64 fixed positions."""
    chw = chw.float()
    return {"mean_rgb": [r6(chw[c].mean()) for c in range(3)],
            "values_rgb": [[r6(chw[c, y, x]) for c in range(3)] for y, x in PIXEL_POSITIONS]}


def build_processor(model_dir: Path):
    from transformers import AutoTokenizer, Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    tok = AutoTokenizer.from_pretrained(str(model_dir))
    for t, i in SPECIAL_IDS.items():
        got = tok.convert_tokens_to_ids(t)
        print(f"  token {t}: {got} {'ok' if got == i else 'MISMATCH, expected ' + str(i)}", flush=True)
    ip = Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, image_mean=CLIP_MEAN, image_std=CLIP_STD)
    vp = Qwen2VLVideoProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS, cap_pixels_per_frame=False)
    return tok, Qwen2VLProcessor(image_processor=ip, tokenizer=tok, video_processor=vp,
                                 chat_template=QWEN2_VL_CHAT_TEMPLATE)


def prompt_for(tok, case: dict) -> str:
    text = case["question"] + "\n" + "".join(f"{L}. {c}\n" for L, c in zip("ABCD", case["choices"])) + PROMPT_SUFFIX
    vision = ("<|vision_start|><|video_pad|><|vision_end|>" if case["clip"] else "") + \
        "<|vision_start|><|image_pad|><|vision_end|>"
    expected = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + vision + text +
                "<|im_end|>\n<|im_start|>assistant\n")
    content = ([{"type": "video"}] if case["clip"] else []) + [{"type": "image"}, {"type": "text", "text": text}]
    try:
        rendered = tok.apply_chat_template([{"role": "user", "content": content}], chat_template=QWEN2_VL_CHAT_TEMPLATE,
                                           tokenize=False, add_generation_prompt=True)
    except Exception as e:
        print(f"  apply_chat_template failed ({e!r}); using the protocol.md string", flush=True)
        return expected
    if rendered != expected:
        raise RuntimeError(f"chat template rendered {rendered!r}, protocol.md expects {expected!r}")
    return rendered


def own_patches(frames_f: torch.Tensor) -> torch.Tensor:
    """Independent rescale + normalise + patchify ([n, 3, 252, 252] float) to cross-check the processor."""
    x = frames_f / 255.0
    x = (x - torch.tensor(CLIP_MEAN)[:, None, None]) / torch.tensor(CLIP_STD)[:, None, None]
    n = x.shape[0]
    g = SIDE // 14
    p = x.reshape(n // 2, 2, 3, g // 2, 2, 14, g // 2, 2, 14).permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
    return p.reshape(n // 2 * g * g, 3 * 2 * 14 * 14)


def penalised_argmax(logits: np.ndarray, seen: set) -> int:
    """HF RepetitionPenaltyLogitsProcessor (float32) then greedy argmax."""
    lg = logits.astype(np.float32).copy()
    ids = np.fromiter(seen, dtype=np.int64)
    s = lg[ids]
    lg[ids] = np.where(s < 0, s * np.float32(PENALTY), s / np.float32(PENALTY))
    return int(np.argmax(lg))


def summarise_logits(last: np.ndarray, letter_ids: dict) -> dict:
    last = last.astype(np.float64)
    top = np.argsort(-last, kind="stable")[:20]
    m = last.max()
    lse = m + np.log(np.exp(last - m).sum())
    return {"top20": [[int(i), r6(last[i])] for i in top],
            "letter_logprobs": {k: r6(last[i] - lse) for k, i in letter_ids.items()},
            "logits_at_ids": [r6(last[i]) for i in LOGIT_IDS]}


class OrtModel:
    def __init__(self, model_dir: Path, combo: dict, layers: int, kv_heads: int, head_dim: int):
        import onnxruntime as ort  # here, so the helpers above import without it (reference_qwen25_local.py)

        so = ort.SessionOptions()
        so.intra_op_num_threads = 8
        self.files = {g: f"onnx/{g}{SUFFIX[dt]}.onnx" for g, dt in combo.items()}
        self.s = {g: ort.InferenceSession(str(model_dir / f), so, providers=["CPUExecutionProvider"])
                  for g, f in self.files.items()}
        self.layers, self.kv_heads, self.head_dim = layers, kv_heads, head_dim

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return self.s["embed_tokens"].run(None, {"input_ids": ids.astype(np.int64)})[0]

    def vision(self, pv: np.ndarray, grid: np.ndarray) -> np.ndarray:
        """Encode slice by slice (grid [1, h, w] per call) and concatenate, as the app does."""
        out, row = [], 0
        for t, h, w in grid.tolist():
            for _ in range(t):
                n = h * w
                out.append(self.s["vision_encoder"].run(None, {
                    "pixel_values": pv[row:row + n].astype(np.float32),
                    "grid_thw": np.array([[1, h, w]], dtype=np.int64)})[0])
                row += n
        return np.concatenate(out, 0)

    def decode(self, embeds, mask, pos, past, keep: int):
        feeds = {"inputs_embeds": embeds.astype(np.float32), "attention_mask": mask.astype(np.int64),
                 "position_ids": pos.astype(np.int64), "num_logits_to_keep": np.array(keep, dtype=np.int64)}
        for i in range(self.layers):
            feeds[f"past_key_values.{i}.key"], feeds[f"past_key_values.{i}.value"] = past[2 * i], past[2 * i + 1]
        out = self.s["decoder_model_merged"].run(None, feeds)
        return out[0], out[1:]


def run_onnx(om: OrtModel, inputs: dict, pos: np.ndarray, letter_ids: dict, pt_logits: np.ndarray,
             pt_vision: np.ndarray | None, pt_greedy: list) -> dict:
    ids = inputs["input_ids"].numpy()
    emb = om.embed(ids).copy()
    res = {"files": om.files, "files_committed": not any(f in NOT_COMMITTED for f in om.files.values())}
    if "pixel_values_videos" in inputs:
        vf = om.vision(inputs["pixel_values_videos"].numpy(), inputs["video_grid_thw"].numpy())
        emb[0, ids[0] == VIDEO_TOKEN_ID] = vf
        res["vision_max_abs_diff_video"] = r6(np.abs(vf - pt_vision).max())
    imf = om.vision(inputs["pixel_values"].numpy(), inputs["image_grid_thw"].numpy())
    emb[0, ids[0] == IMAGE_TOKEN_ID] = imf
    s_len = ids.shape[1]
    past = [np.zeros((1, om.kv_heads, 0, om.head_dim), np.float32)] * (2 * om.layers)
    logits, past = om.decode(emb, np.ones((1, s_len)), pos, past, 0)  # 0 = every position
    res["max_abs_logit_diff_all_positions"] = r6(np.abs(logits[0] - pt_logits).max())
    res["max_abs_logit_diff_last"] = r6(np.abs(logits[0, -1] - pt_logits[-1]).max())
    res.update(summarise_logits(logits[0, -1], letter_ids))
    seen, out, nxt_logits = set(ids[0].tolist()), [], logits[0, -1]
    next_pos = int(pos.max()) + 1
    for step in range(NEW_TOKENS):
        nxt = penalised_argmax(nxt_logits, seen)
        out.append(nxt)
        seen.add(nxt)
        if nxt in EOS_TOKEN_IDS or step == NEW_TOKENS - 1:
            break
        e = om.embed(np.array([[nxt]]))
        p = np.full((3, 1, 1), next_pos + step, dtype=np.int64)
        lg, past = om.decode(e, np.ones((1, s_len + step + 1)), p, past, 1)
        nxt_logits = lg[0, -1]
    res["greedy_ids"] = out
    res["greedy_matches_pytorch"] = out == pt_greedy
    return res


def check_vision_grids(model, model_dir: Path) -> dict:
    """The fp32 vision graph on grids other than the traced 1x4x6 and the 1x18x18 of the cases,
    slice by slice, against PyTorch's vision tower on the whole grid."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(model_dir / "onnx/vision_encoder.onnx"), providers=["CPUExecutionProvider"])
    res = {}
    g = torch.Generator().manual_seed(7)
    for t, h, w in [(1, 10, 14), (2, 20, 8), (3, 18, 18)]:
        pv = torch.randn(t * h * w, 1176, generator=g)
        with torch.no_grad():
            ref = model.model.visual(pv, grid_thw=torch.tensor([[t, h, w]])).pooler_output.numpy()
        n = h * w
        mine = np.concatenate([sess.run(None, {"pixel_values": pv[i * n:(i + 1) * n].numpy(),
                                               "grid_thw": np.array([[1, h, w]], np.int64)})[0] for i in range(t)])
        res[f"{t}x{h}x{w}"] = r6(np.abs(mine - ref).max())
    print(f"  vision graph per slice vs PyTorch whole grid: {res}", flush=True)
    return res


def run_case(case, cases_dir: Path, out_dir: Path, model, tok, proc, model_dir: Path, dims, letter_ids) -> dict:
    import torchvision.transforms.functional as TF
    from torchvision.transforms import InterpolationMode

    cid = case["case_id"]
    cdir = cases_dir / cid
    fx_dir = out_dir / cid
    fx_dir.mkdir(parents=True, exist_ok=True)
    fx = {k: case[k] for k in ("case_id", "sample_id", "clip", "still", "N", "fps", "n_sampled", "indices",
                               "question", "choices", "golden_choice_idx") if k in case}
    fx["still_made_from"] = case.get("still_made_from")
    fx["decoder"] = case.get("decoder")
    fx["resize"] = {"frames": "torchvision.transforms.functional.resize(frames as float32, [252, 252], BICUBIC, "
                              "antialias=True): float output, not rounded, not clamped",
                    "still": "PIL Image.resize((252, 252), BICUBIC) of the RGB still (uint8)",
                    "pixel_positions_yx": PIXEL_POSITIONS}
    prompt = prompt_for(tok, case)
    fx["prompt_text"] = prompt
    still = Image.open(cdir / case["still_png"]).convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    still.save(fx_dir / "still_252.png")  # what the processor got: lets JS tests skip the resize
    fx["still_252_png"] = f"{cid}/still_252.png"
    fx["still_resized"] = frame_samples(torch.from_numpy(np.asarray(still)).permute(2, 0, 1))
    kwargs = {"text": [prompt], "images": [still], "return_tensors": "pt"}
    video_f = None
    if case["clip"]:
        frames = [np.asarray(Image.open(cdir / f).convert("RGB")) for f in case["frames"]]
        video_u8 = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()
        video_f = TF.resize(video_u8.float(), [SIDE, SIDE], interpolation=InterpolationMode.BICUBIC, antialias=True)
        fx["resized_frames"] = [dict(source_index=i, **frame_samples(f)) for i, f in zip(case["indices"], video_f)]
        # qwen-vl-utils hands torchvision uint8 frames; torchvision then rounds and clamps its output.
        # protocol.md specifies the float path above; the uint8 path is recorded for comparison.
        video_r8 = TF.resize(video_u8, [SIDE, SIDE], interpolation=InterpolationMode.BICUBIC, antialias=True)
        for rec, f8, ff in zip(fx["resized_frames"], video_r8, video_f):
            rec["uint8_input_path"] = {"max_abs_diff_vs_float_path": r6((f8.float() - ff).abs().max()),
                                       **frame_samples(f8)}
        kwargs["videos"] = [video_f]
    inputs = proc(**kwargs)
    print(f"  {cid}: processor keys {sorted(inputs.keys())}", flush=True)
    if video_f is not None:
        fx["pixel_values_videos"] = stats(inputs["pixel_values_videos"])
        fx["video_grid_thw"] = inputs["video_grid_thw"].tolist()
        own = own_patches(video_f)
        fx["processor_vs_own_patchify_max_abs_diff"] = r6((own - inputs["pixel_values_videos"]).abs().max())
    fx["pixel_values"] = stats(inputs["pixel_values"])
    fx["image_grid_thw"] = inputs["image_grid_thw"].tolist()
    fx["input_ids"] = inputs["input_ids"][0].tolist()
    fx["prompt_tokens"] = len(fx["input_ids"])
    with torch.no_grad():
        out = model(**inputs)
        pt_logits = out.logits[0].float().numpy()
        pos, _ = model.model.get_rope_index(inputs["input_ids"], inputs["mm_token_type_ids"],
                                            inputs.get("image_grid_thw"), inputs.get("video_grid_thw"),
                                            inputs["attention_mask"])
        pt_vision = None
        if video_f is not None:
            pt_vision = model.model.visual(inputs["pixel_values_videos"], grid_thw=inputs["video_grid_thw"]).pooler_output
            pt_vision = pt_vision.numpy()
        gen = model.generate(**inputs, max_new_tokens=NEW_TOKENS, do_sample=False, repetition_penalty=PENALTY,
                             eos_token_id=EOS_TOKEN_IDS, pad_token_id=EOS_TOKEN_IDS[1])
    greedy = gen[0, inputs["input_ids"].shape[1]:].tolist()
    fx["pytorch"] = summarise_logits(pt_logits[-1], letter_ids)
    fx["pytorch"]["greedy_ids"] = greedy
    fx["pytorch"]["greedy_text"] = tok.decode(greedy, skip_special_tokens=True)
    fx["position_ids_last"] = pos[:, 0, -1].tolist()
    fx["onnx"] = {}
    for dt, combo in COMBOS.items():
        try:
            om = OrtModel(model_dir, combo, dims["layers"], dims["kv_heads"], dims["head_dim"])
        except Exception as e:
            print(f"  {cid} {dt}: cannot load ({e!r})", flush=True)
            continue
        try:
            r = run_onnx(om, inputs, pos.numpy(), letter_ids, pt_logits, pt_vision, greedy)
        except Exception as e:  # one broken dtype must not lose the others
            print(f"  {cid} {dt}: FAILED at run ({e!r})", flush=True)
            continue
        r["greedy_text"] = tok.decode(r["greedy_ids"], skip_special_tokens=True)
        fx["onnx"][dt] = r
        say_onnx(cid, dt, r)
    return fx


def say_onnx(cid: str, dt: str, r: dict) -> None:
    """One line per case and dtype: run_onnx's differences from PyTorch."""
    print(f"  {cid} {dt}: logits max|diff| last {r['max_abs_logit_diff_last']:.3g} all "
          f"{r['max_abs_logit_diff_all_positions']:.3g}; vision {r.get('vision_max_abs_diff_video', '-')}; "
          f"greedy==pytorch {r['greedy_matches_pytorch']}", flush=True)


def main() -> None:
    import onnxruntime as ort

    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", default="models/tiny-random-qwen2-vl")
    ap.add_argument("--cases", default=".device/cases")
    ap.add_argument("--out", default="e2e/fixtures/reference")
    ap.add_argument("--size", default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(8)
    model_dir, cases_dir, out_dir = Path(args.model_dir), Path(args.cases), Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    model = build_model(args.size, args.seed)
    dims = text_dims(model)
    tok, proc = build_processor(model_dir)
    letter_ids = {}
    for letter in "ABCD":
        enc = tok.encode(letter, add_special_tokens=False)
        assert len(enc) == 1, f"letter {letter} is not one token: {enc}"
        letter_ids[letter] = enc[0]
    cases = json.loads((cases_dir / "cases.json").read_text())
    index = {"model": {"id": model_dir.name, "size": args.size, "seed": args.seed,
                       "reference": "transformers Qwen2VLForConditionalGeneration, float32, CPU",
                       "versions": {"torch": torch.__version__, "onnxruntime": ort.__version__}},
             "letter_token_ids": letter_ids, "logit_ids": LOGIT_IDS, "new_tokens": NEW_TOKENS,
             "repetition_penalty": PENALTY, "dtype_files": COMBOS, "cases": []}
    import transformers
    index["model"]["versions"]["transformers"] = transformers.__version__
    index["vision_any_grid_check"] = check_vision_grids(model, model_dir)
    for case in cases:
        t0 = time.time()
        fx = run_case(case, cases_dir, out_dir, model, tok, proc, model_dir, dims, letter_ids)
        fx["model"] = index["model"]
        fx["letter_token_ids"] = letter_ids
        fx["logit_ids"] = LOGIT_IDS
        name = f"{case['case_id']}.json"
        (out_dir / name).write_text(json.dumps(fx, separators=(",", ":")))
        index["cases"].append({"case_id": case["case_id"], "file": name, "sample_id": case["sample_id"],
                               "clip": case["clip"], "n_sampled": case["n_sampled"], "prompt_tokens": fx["prompt_tokens"],
                               "max_abs_logit_diff_last": {d: r["max_abs_logit_diff_last"] for d, r in fx["onnx"].items()},
                               "max_abs_logit_diff_all_positions":
                                   {d: r["max_abs_logit_diff_all_positions"] for d, r in fx["onnx"].items()},
                               "vision_max_abs_diff_video":
                                   {d: r.get("vision_max_abs_diff_video") for d, r in fx["onnx"].items()},
                               "greedy_matches_pytorch": {d: r["greedy_matches_pytorch"] for d, r in fx["onnx"].items()}})
        print(f"case {case['case_id']} done in {time.time() - t0:.1f}s", flush=True)
    (out_dir / "index.json").write_text(json.dumps(index, indent=1))
    print("\n| dtype | " + " | ".join(c["case_id"] for c in index["cases"]) + " |")
    print("|---|" + "---|" * len(index["cases"]))
    for dt in COMBOS:
        cells = [f"{c['max_abs_logit_diff_last'].get(dt, float('nan')):.3g} / "
                 f"{c['max_abs_logit_diff_all_positions'].get(dt, float('nan')):.3g}" for c in index["cases"]]
        print(f"| {dt} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
