"""The official evaluation's generation (SEED-Bench-R1's infer.py, as protocol.md describes it), written
by us: Qwen2VLForConditionalGeneration in bf16 on CUDA, the Qwen2-VL processor on the question's clip
frames and still, greedy decoding with repetition penalty 1.05. Timed per stage.

The frames are the app's own model-ready 252 x 252 frames (PNG, lossless), so both engines see the same
pixels; the processor does not resize them (252 x 252 is inside min/max pixels).
"""

import time
from pathlib import Path

import numpy as np

EOS = [151645, 151643]
PENALTY = 1.05


def _sync():
    import torch

    torch.cuda.synchronize()


def load(model, model_dir: Path):
    """The model on the GPU in bf16, and the processor (reference.py's)."""
    import torch
    from reference import build_processor

    model = model.to(device="cuda", dtype=torch.bfloat16).eval()
    tok, proc = build_processor(model_dir)
    return model, tok, proc


def inputs_for(proc, question, frames_dir: Path):
    """Processor inputs from the prompt the app used (its official wording) and the frames."""
    from PIL import Image
    import torch

    meta = question["frames"]
    clip = [np.asarray(Image.open(frames_dir / f).convert("RGB")) for f in meta["files"] if f.startswith("clip-")]
    still = Image.open(frames_dir / next(f for f in meta["files"] if f.startswith("still."))).convert("RGB")
    kwargs = {"text": [question["prompt_text"]], "images": [still], "return_tensors": "pt"}
    if clip:
        kwargs["videos"] = [torch.from_numpy(np.stack(clip)).permute(0, 3, 1, 2).contiguous()]
    return proc(**kwargs)


def run_question(model, proc, question, frames_dir: Path, new_tokens: int) -> dict:
    import torch

    t0 = time.perf_counter()
    inputs = inputs_for(proc, question, frames_dir)
    processor_ms = (time.perf_counter() - t0) * 1000
    inputs = {k: v.to("cuda") for k, v in inputs.items()}
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(torch.bfloat16)
    if "pixel_values_videos" in inputs:
        inputs["pixel_values_videos"] = inputs["pixel_values_videos"].to(torch.bfloat16)
    gen = dict(do_sample=False, repetition_penalty=PENALTY, eos_token_id=EOS, pad_token_id=EOS[1])
    with torch.no_grad():
        # Vision alone (both visuals), as the model runs them inside generate.
        _sync()
        t = time.perf_counter()
        if "pixel_values_videos" in inputs:
            model.model.visual(inputs["pixel_values_videos"], grid_thw=inputs["video_grid_thw"])
        model.model.visual(inputs["pixel_values"], grid_thw=inputs["image_grid_thw"])
        _sync()
        vision_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        model.generate(**inputs, max_new_tokens=1, **gen)
        _sync()
        ttft_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        out = model.generate(**inputs, max_new_tokens=new_tokens, **gen)
        _sync()
        gen_ms = (time.perf_counter() - t) * 1000
    ids = out[0, inputs["input_ids"].shape[1]:].tolist()
    n = len(ids)
    tps = (n - 1) / ((gen_ms - ttft_ms) / 1000) if n > 1 and gen_ms > ttft_ms else None
    return {
        "input_ids": inputs["input_ids"][0].tolist(),
        "processor_ms": processor_ms,
        "vision_ms": vision_ms,
        "ttft_ms": ttft_ms,
        "prefill_ms": max(0.0, ttft_ms - vision_ms),
        "generate_ms": gen_ms,
        "new_tokens": n,
        "decode_tokens_per_s": tps,
        "output_ids": ids,
    }
