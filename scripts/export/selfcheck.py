"""The export's self-check: one real question through PyTorch (the checkpoint) and through
onnxruntime (the exported graphs), compared. Needs torch, transformers, onnxruntime, Pillow and
torchvision (the GPU machine has them); `npm run export -- ... --check` calls it.

    python3 scripts/export/selfcheck.py --ckpt CHECKPOINT_DIR --model EXPORT_DIR [--dtype fp32] \
        [--case clip-f71fb12c] [--tokens 32] [--out result.json]

The question is a reference case of e2e/fixtures/reference (default: the EgoPlan-Bench2 example
clip f71fb12c, 6 sampled frames, 447 prompt tokens): its committed frames resized as protocol.md
says (torchvision bicubic + antialias, float), its still, transformers' Qwen2VLProcessor, the
fixture's exact prompt (its input_ids are checked equal). PyTorch runs the checkpoint in float32
(TF32 off); onnxruntime (CPU) runs the exported graphs as the hub interface allows: each visual's
whole grid in one vision call, the prompt in one decoder pass (every position's logits), then
greedy decoding with the official repetition penalty 1.05 through the KV cache, positions from the
checkpoint's own get_rope_index. Qwen2.5-VL (model_type qwen2_5_vl in the checkpoint's config.json):
PyTorch runs Qwen2_5_VLForConditionalGeneration with second_per_grid_ts = 2 / (n / N x fps), the
official frame sampling's, in float32 (the fixture's n, N and fps); onnxruntime gets PyTorch's own
positions (so the logits judge the export), and the result says whether the app's rule
(qwen25.own_position_ids: the video's t index floor(t x second_per_grid_ts x tokens_per_second),
tokens_per_second from the EXPORTED config.json, as the app reads it) gives the same ones
(positions_equal_pytorch; transformers 5.x does not for videos, bench/qwen25-hf517/README.md). Where the folder has the fast engine's graphs (onnx/fast.json) for the
dtype, they run too (fast/ortcpu.py: fed as the app feeds them) and are held to the same tolerance. Prints the max |logit difference| (last prompt position and all
positions) and whether the greedy tokens agree; exits 1 when they do not or the difference is over
--tol (float32 graphs; other dtypes are reported, and fail only with --strict).
"""

import inspect
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

SUFFIX = {"fp32": "", "fp16": "_fp16", "q4": "_q4", "q4f16": "_q4f16"}
EOS = (151645, 151643)
IMAGE, VIDEO = 151655, 151656
# The PyTorch reference's penalty, greedy step and frame side (one definition for both scripts).
from reference import PENALTY, SIDE, penalised_argmax  # noqa: E402


def family_of(folder: Path) -> str:
    return json.loads((folder / "config.json").read_text()).get("model_type", "qwen2_vl")


def second_per_grid(fx: dict) -> float | None:
    """A clip's second_per_grid_ts as the official pipeline gives it (the app's secondPerGrid):
    qwen-vl-utils' sample_fps = n / N x fps, temporal_patch_size 2 over it, held in float32."""
    if not fx["clip"]:
        return None
    return float(np.float32(2 / (fx["n_sampled"] / max(fx["N"], 1e-6) * fx["fps"])))


def case_inputs(model_dir: Path, case_id: str):
    import torch
    import torchvision.transforms.functional as TF
    from PIL import Image
    from torchvision.transforms import InterpolationMode
    from transformers import AutoTokenizer, Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    fx_dir = ROOT / "e2e" / "fixtures" / "reference"
    fx = json.loads((fx_dir / f"{case_id}.json").read_text())
    pre = json.loads((model_dir / "preprocessor_config.json").read_text())
    mn, mx = pre.get("min_pixels", 3136), pre.get("max_pixels", 12845056)
    tok = AutoTokenizer.from_pretrained(str(model_dir))
    proc = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(min_pixels=mn, max_pixels=mx, image_mean=pre["image_mean"],
                                              image_std=pre["image_std"]),
        video_processor=Qwen2VLVideoProcessor(min_pixels=mn, max_pixels=mx, cap_pixels_per_frame=False),
        tokenizer=tok, chat_template=tok.chat_template)
    still = Image.open(fx_dir / fx["still_252_png"]).convert("RGB")
    kwargs = {"text": [fx["prompt_text"]], "images": [still], "return_tensors": "pt"}
    if fx["clip"]:
        paths = [fx_dir / case_id / f"frame_{i:02d}_src{ix:04d}.png" for i, ix in enumerate(fx["indices"])]
        if not all(f.exists() for f in paths):
            sys.exit(f"selfcheck: case {case_id}: its clip frames are not in {fx_dir / case_id} (only some cases commit them)")
        frames = [np.asarray(Image.open(f).convert("RGB")) for f in paths]
        u8 = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).contiguous()
        kwargs["videos"] = [TF.resize(u8.float(), [SIDE, SIDE], interpolation=InterpolationMode.BICUBIC, antialias=True)]
    inputs = proc(**kwargs)
    ids = inputs["input_ids"][0].tolist()
    if ids != fx["input_ids"]:
        raise SystemExit(f"{case_id}: the tokenizer of {model_dir} gives other input_ids than the fixture's "
                         f"({len(ids)} vs {len(fx['input_ids'])} tokens)")
    return fx, inputs


def pytorch_side(ckpt: Path, inputs, tokens: int, device: str, spg: float | None = None):
    import torch
    import transformers

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    q25 = family_of(ckpt) == "qwen2_5_vl"
    cls = transformers.Qwen2_5_VLForConditionalGeneration if q25 else transformers.Qwen2VLForConditionalGeneration
    t0 = time.time()
    try:
        model = cls.from_pretrained(str(ckpt), dtype=torch.float32)
    except TypeError:
        model = cls.from_pretrained(str(ckpt), torch_dtype=torch.float32)
    model = model.to(device).eval()
    load_s = time.time() - t0
    feed = {k: v.to(device) for k, v in inputs.items()}
    extra = {}
    with torch.no_grad():
        t0 = time.time()
        if q25:
            from qwen25 import hf_position_ids

            feed.pop("second_per_grid_ts", None)  # ours, from the official sampling, below
            sec = None if spg is None else torch.tensor([spg], dtype=torch.float32, device=device)
            # The positions HF's forward hands its text model (any transformers version), and its logits.
            pos, out, feed = hf_position_ids(model, feed, sec)
            logits = out.logits[0].float().cpu().numpy()
            if sec is not None:
                extra["second_per_grid_ts"] = sec
        else:
            logits = model(**feed).logits[0].float().cpu().numpy()
            rope = model.model.get_rope_index
            if "mm_token_type_ids" in inspect.signature(rope).parameters:
                # transformers 5.x: the modality of each token is passed in (0 text, 1 image, 2 video).
                ids = feed["input_ids"]
                types = (ids == IMAGE).int() + 2 * (ids == VIDEO).int()
                pos, _ = rope(ids, types, feed.get("image_grid_thw"), feed.get("video_grid_thw"), feed["attention_mask"])
            else:
                pos, _ = rope(feed["input_ids"], feed.get("image_grid_thw"), feed.get("video_grid_thw"),
                              feed["attention_mask"])
        vis = model.model.visual
        feats = {}
        for key, grid_key, token in (("pixel_values_videos", "video_grid_thw", VIDEO), ("pixel_values", "image_grid_thw", IMAGE)):
            if key in feed:
                f = vis(feed[key], grid_thw=feed[grid_key])
                feats[token] = (f.pooler_output if hasattr(f, "pooler_output") else f).float().cpu().numpy()
        gen = model.generate(**feed, **extra, max_new_tokens=tokens, do_sample=False, repetition_penalty=PENALTY,
                             eos_token_id=list(EOS), pad_token_id=EOS[1], top_k=None, top_p=None, temperature=None)
        greedy = gen[0, feed["input_ids"].shape[1]:].tolist()
        run_s = time.time() - t0
    info = {"load_s": round(load_s, 1), "run_s": round(run_s, 1), "device": device, "class": cls.__name__,
            "transformers": transformers.__version__}
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return logits, pos.cpu().numpy(), feats, greedy, info


class Graphs:
    def __init__(self, model_dir: Path, dtype: str, threads: int):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        t0 = time.time()
        self.s = {g: ort.InferenceSession(str(model_dir / "onnx" / f"{g}{SUFFIX[dtype]}.onnx"), so,
                                          providers=["CPUExecutionProvider"])
                  for g in ("embed_tokens", "vision_encoder", "decoder_model_merged")}
        self.load_s = time.time() - t0
        dec = self.s["decoder_model_merged"]
        self.types = {i.name: i.type for i in dec.get_inputs()}
        vis_in = {i.name: i.type for i in self.s["vision_encoder"].get_inputs()}
        self.pixel_type = vis_in["pixel_values"]
        # Qwen2-VL's graphs name the grid grid_thw, Qwen2.5-VL's image_grid_thw (transformers.js feeds each so).
        self.grid_name = "image_grid_thw" if "image_grid_thw" in vis_in else "grid_thw"
        self.past = [(i.name, i.shape) for i in dec.get_inputs() if i.name.startswith("past_key_values.")]

    @staticmethod
    def np_type(t: str):
        return np.float16 if "float16" in t else np.float32

    def embed(self, ids) -> np.ndarray:
        return self.s["embed_tokens"].run(None, {"input_ids": np.asarray(ids, np.int64).reshape(1, -1)})[0].astype(np.float32)

    def vision(self, pv: np.ndarray, grid: np.ndarray) -> np.ndarray:
        return self.s["vision_encoder"].run(None, {"pixel_values": pv.astype(self.np_type(self.pixel_type)),
                                                    self.grid_name: grid.astype(np.int64)})[0].astype(np.float32)

    def decode(self, embeds: np.ndarray, pos: np.ndarray, past: dict, past_len: int):
        n = embeds.shape[1]
        feeds = {"inputs_embeds": embeds.astype(self.np_type(self.types["inputs_embeds"])),
                 "attention_mask": np.ones((1, past_len + n), np.int64), "position_ids": pos.astype(np.int64), **past}
        if "num_logits_to_keep" in self.types:
            feeds["num_logits_to_keep"] = np.array(0, np.int64)  # every position, as the hub graph gives
        names = [o.name for o in self.s["decoder_model_merged"].get_outputs()]
        out = dict(zip(names, self.s["decoder_model_merged"].run(None, feeds)))
        nxt = {k.replace("present.", "past_key_values."): v for k, v in out.items() if k.startswith("present.")}
        return out["logits"][0].astype(np.float32), nxt


def onnx_side(model_dir: Path, dtype: str, inputs, pos: np.ndarray, tokens: int, threads: int):
    g = Graphs(model_dir, dtype, threads)
    t0 = time.time()
    ids = inputs["input_ids"][0].numpy()
    emb = g.embed(ids)
    feats = {}
    for key, grid_key, token in (("pixel_values_videos", "video_grid_thw", VIDEO), ("pixel_values", "image_grid_thw", IMAGE)):
        if key in inputs:
            feats[token] = g.vision(inputs[key].numpy(), inputs[grid_key].numpy())  # the whole grid in one call
            emb[0, ids == token] = feats[token]
    past = {name: np.zeros((1, shape[1], 0, shape[3]), g.np_type(g.types[name])) for name, shape in g.past}
    logits, past = g.decode(emb, pos, past, 0)
    seen, greedy, nxt_logits = set(ids.tolist()), [], logits[-1]
    next_pos, length = int(pos.max()) + 1, len(ids)
    for step in range(tokens):
        nxt = penalised_argmax(nxt_logits, seen)
        greedy.append(nxt)
        seen.add(nxt)
        if nxt in EOS or step == tokens - 1:
            break
        lg, past = g.decode(g.embed([nxt]), np.full((3, 1, 1), next_pos + step, np.int64), past, length + step)
        nxt_logits = lg[-1]
    return logits, feats, greedy, {"load_s": round(g.load_s, 1), "run_s": round(time.time() - t0, 1),
                                   "threads": threads}


def fast_side(model_dir: Path, dtype: str, inputs, tokens: int, threads: int, positions=None):
    """The fast engine's graphs (onnx/fast.json) on onnxruntime CPU, fed as the app feeds them; None
    when the folder has none for this dtype. positions: ([3, L] int64, delta) for Qwen2.5-VL (PyTorch's,
    as the reference side gets them)."""
    from fast.ortcpu import FastCpu

    manifest = model_dir / "onnx" / "fast.json"
    if not manifest.exists() or dtype not in json.loads(manifest.read_text())["graphs"]:
        return None
    grid = inputs["image_grid_thw"][0].tolist()
    parts = [inputs[k].numpy() for k in ("pixel_values_videos", "pixel_values") if k in inputs]
    slices = np.concatenate(parts, 0).astype(np.float32).reshape(-1, grid[1] * grid[2], parts[0].shape[-1])
    grids = {"image": inputs["image_grid_thw"].tolist(),
             "video": inputs["video_grid_thw"].tolist() if "video_grid_thw" in inputs else []}
    ids = inputs["input_ids"][0].tolist()
    t0 = time.time()
    cpu = FastCpu(model_dir, dtype, threads, len(ids) + tokens + 2)
    r = cpu.run(ids, slices, grids, tokens, positions=positions)
    return r["first_logits"], r["output_ids"], {"load_s": round(cpu.load_s, 1), "run_s": round(time.time() - t0, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True, help="the Hugging Face checkpoint folder that was converted")
    ap.add_argument("--model", required=True, help="the exported folder (npm run export --out)")
    ap.add_argument("--dtype", default="fp32", choices=list(SUFFIX))
    ap.add_argument("--case", default="clip-f71fb12c")
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--tol", type=float, default=0.01,
                    help="max |logit difference| allowed at float32 (the tiny export: 7.6e-6 at the last position)")
    ap.add_argument("--strict", action="store_true", help="fail on differences at non-float32 dtypes too")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--device", default=None, help="PyTorch device (default cuda when available)")
    ap.add_argument("--out", default=None, help="write the result as JSON here")
    a = ap.parse_args(argv)
    import torch

    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    fx, inputs = case_inputs(Path(a.model), a.case)
    family = family_of(Path(a.ckpt))
    if family_of(Path(a.model)) != family:
        raise SystemExit(f"{a.model} is {family_of(Path(a.model))}, {a.ckpt} is {family}")
    spg = second_per_grid(fx) if family == "qwen2_5_vl" else None
    pt_logits, pos, pt_feats, pt_greedy, pt_info = pytorch_side(Path(a.ckpt), inputs, a.tokens, device, spg)
    positions = {}
    if family == "qwen2_5_vl":
        from qwen25 import own_position_ids

        # The app's positions: its rule, its second_per_grid_ts, the exported config's tokens_per_second.
        tps = json.loads((Path(a.model) / "config.json").read_text())["vision_config"].get("tokens_per_second", 4)
        ids = inputs["input_ids"][0].tolist()
        own = own_position_ids(ids, inputs["image_grid_thw"].tolist(),
                               inputs["video_grid_thw"].tolist() if "video_grid_thw" in inputs else None,
                               None if spg is None else [spg], tps)
        differ = int((own != pos[:, 0]).any(0).sum())
        positions = {"second_per_grid_ts": spg, "tokens_per_second": tps, "positions_equal_pytorch": differ == 0,
                     "positions_differing": differ}
        # onnxruntime gets PyTorch's positions, so the logits judge the export alone. The app's rule is
        # transformers 4.50's (Qwen2.5-VL's release code); 5.x changed it for videos (bench/qwen25-hf517/
        # README.md), so a difference here is reported, and the app's rule is checked by the e2e fixtures.
    ox_logits, ox_feats, ox_greedy, ox_info = onnx_side(Path(a.model), a.dtype, inputs, pos, a.tokens, a.threads)
    last = float(np.abs(ox_logits[-1] - pt_logits[-1]).max())
    every = float(np.abs(ox_logits - pt_logits).max())
    vision = {str(k): float(np.abs(ox_feats[k] - pt_feats[k]).max()) for k in pt_feats}
    n = min(len(pt_greedy), len(ox_greedy))
    agree = pt_greedy == ox_greedy
    first_diff = next((i for i in range(n) if pt_greedy[i] != ox_greedy[i]), None)
    result = {
        "case": a.case, "family": family, **positions, "prompt_tokens": int(inputs["input_ids"].shape[1]), "dtype": a.dtype,
        "max_abs_logit_diff_last": last, "max_abs_logit_diff_all_positions": every,
        "logit_std_last": float(pt_logits[-1].std()), "vision_max_abs_diff": vision,
        "greedy_tokens": n, "greedy_agree": agree, "first_difference_at": first_diff,
        "pytorch_greedy": pt_greedy, "onnx_greedy": ox_greedy, "pytorch": pt_info, "onnxruntime": ox_info,
    }
    ok = agree and (last <= a.tol and every <= 10 * a.tol) if (a.dtype == "fp32" or a.strict) else True
    fast_pos = None
    if family == "qwen2_5_vl":
        p3 = pos[:, 0].astype(np.int64)  # [3, L], PyTorch's (pytorch_side returns numpy)
        fast_pos = (p3, int(p3.max()) + 1 - p3.shape[1])
    fast = fast_side(Path(a.model), a.dtype, inputs, a.tokens, a.threads, fast_pos)
    if fast is not None:
        f_logits, f_greedy, f_info = fast
        f_last = float(np.abs(f_logits - pt_logits[-1]).max())
        fn = min(len(pt_greedy), len(f_greedy))
        f_first = next((i for i in range(fn) if pt_greedy[i] != f_greedy[i]), None)
        f_agree = f_first is None and len(f_greedy) >= len(pt_greedy)
        result["fast"] = {"max_abs_logit_diff_last": f_last, "greedy_agree": f_agree, "first_difference_at": f_first,
                          "fast_greedy": f_greedy, "onnxruntime": f_info}
        if a.dtype == "fp32" or a.strict:
            ok = ok and f_agree and f_last <= a.tol
    result["ok"] = ok
    print(f"self-check {a.model} ({a.dtype}) vs {a.ckpt} on {a.case} ({result['prompt_tokens']} prompt tokens):")
    print(f"  max |logit diff|: last position {last:.3g}, all positions {every:.3g} (logit std {result['logit_std_last']:.3g});"
          f" vision features {', '.join(f'{v:.3g}' for v in vision.values())}")
    print(f"  greedy tokens ({n}): {'AGREE' if agree else f'DIFFER from token {first_diff}'}")
    if positions:
        print(f"  Qwen2.5-VL positions (the app's rule, second_per_grid_ts {spg}, tokens_per_second "
              f"{positions['tokens_per_second']}): {'EQUAL' if positions['positions_equal_pytorch'] else 'DIFFER'} "
              f"to this transformers' ({positions['positions_differing']} tokens differ; onnxruntime was fed "
              f"PyTorch's, so the logits compare the export alone; 5.x vs 4.50: bench/qwen25-hf517/README.md)")
    print(f"  PyTorch ({device}) load {pt_info['load_s']}s run {pt_info['run_s']}s; onnxruntime CPU load {ox_info['load_s']}s run {ox_info['run_s']}s")
    if fast is not None:
        f = result["fast"]
        said = "AGREE" if f["greedy_agree"] else f"DIFFER from token {f['first_difference_at']}"
        print(f"  fast graphs (onnx/fast.json, {a.dtype}): max |logit diff| last position {f['max_abs_logit_diff_last']:.3g};"
              f" greedy {said}")
    else:
        print(f"  fast graphs: none for {a.dtype} in this folder")
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1))
    if not ok:
        if fast is not None and not (result["fast"]["greedy_agree"] and result["fast"]["max_abs_logit_diff_last"] <= a.tol):
            print("SELF-CHECK FAILED: the fast graphs differ from PyTorch (see above)", file=sys.stderr)
        print(f"SELF-CHECK FAILED: {'greedy tokens differ' if not agree else ''}"
              f"{' and ' if not agree and max(last, every / 10) > a.tol else ''}"
              f"{f'logits differ by {max(last, every):.3g} (tolerance {a.tol})' if max(last, every / 10) > a.tol else ''}",
              file=sys.stderr)
        return 1
    held = a.dtype == "fp32" or a.strict
    print("  self-check passed" if held else
          f"  self-check passed: {a.dtype} differences are reported, not held to the tolerance (--strict holds them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
