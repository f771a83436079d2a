"""GPU benchmark of the Qwen2-VL-2B-shaped export (random weights): PyTorch eager bf16 on the GPU,
then the same inputs through onnxruntime-web's WebGPU kernels on Dawn (webgpu_bench.mjs, Node),
then onnxruntime-python (CPU) on the same q4 graphs as a correctness check of the WebGPU numbers.

    python3 scripts/gpu-bench/gpu_bench.py --work /tmp/gb --out $OUT   (see run.sh)

Inputs, the same for every engine: 16 frames = 8 temporal slices of [324, 1176] pixel_values plus
the still's slice (normal(0, 1), seed 1), and an 850-token prompt's inputs_embeds (text ids, 648
video pads, 81 image pads, looked up in the model's embedding table). Prefill and decode timings
do not depend on the values; the vision features are not merged into the prompt (a copy).
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "export"))

PROMPT = 850
SLICES = 8  # 16 frames, temporal patch 2
DECODE_STEPS = 64
REPEATS = 3
T_START = time.time()


def log(msg: str) -> None:
    print(msg, flush=True)


def median(v):
    return float(np.median(np.asarray(v))) if v else None


def write_inputs(model, work: Path) -> dict:
    rng = np.random.default_rng(1)
    pv = rng.standard_normal((SLICES + 1, 324, 1176), dtype=np.float32)
    pv.tofile(work / "pixel_values.f32")
    ids = rng.integers(0, 150000, size=PROMPT).astype(np.int64)
    ids[20:20 + 648] = 151656  # <|video_pad|>
    ids[20 + 650:20 + 650 + 81] = 151655  # <|image_pad|>
    ids.tofile(work / "ids.i64")
    table = model.model.language_model.embed_tokens.weight.detach().float().numpy()
    table.tofile(work / "embed.f32")  # the JS side looks tokens up here (no embed graph on the GPU)
    emb = table[ids]
    emb.astype(np.float32).tofile(work / "prefill_embeds.f32")
    return {"pixel_values": list(pv.shape), "prompt_tokens": PROMPT, "hidden": int(table.shape[1])}


def torch_bench(model, work: Path) -> dict:
    import torch

    res: dict = {"engine": "PyTorch eager (no torch.compile), bf16, CUDA", "torch": torch.__version__}
    dev = torch.device("cuda")
    res["gpu"] = torch.cuda.get_device_name(0)
    # Memory bandwidth: device-to-device copy of 4 GiB, bytes read + written.
    a = torch.empty(2**30, dtype=torch.float32, device=dev)
    b = torch.empty_like(a)
    for _ in range(3):
        b.copy_(a)
    torch.cuda.synchronize()
    t = []
    for _ in range(10):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        b.copy_(a)
        e.record()
        torch.cuda.synchronize()
        t.append(s.elapsed_time(e) / 1e3)
    res["copy_bandwidth_GBps"] = 2 * a.numel() * 4 / median(t) / 1e9
    del a, b
    torch.cuda.empty_cache()

    model = model.to(dev, torch.bfloat16)
    res["attn_implementation"] = getattr(model.config, "_attn_implementation", None)
    text_params = sum(p.numel() for n, p in model.named_parameters() if ".visual." not in f".{n}")
    res["text_weight_bytes_bf16"] = text_params * 2
    pv = torch.from_numpy(np.fromfile(work / "pixel_values.f32", np.float32).reshape(SLICES + 1, 324, 1176))
    clip = pv[:SLICES].reshape(-1, 1176).to(dev, torch.bfloat16)
    still = pv[SLICES].to(dev, torch.bfloat16)
    grid_clip = torch.tensor([[SLICES, 18, 18]], device=dev)
    grid_still = torch.tensor([[1, 18, 18]], device=dev)

    def timed(fn, reps=REPEATS):
        fn()
        torch.cuda.synchronize()
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            out.append((time.perf_counter() - t0) * 1e3)
        return median(out)

    with torch.no_grad():
        visual = model.model.visual
        try:
            res["vision_16_frames_ms"] = timed(lambda: visual(clip, grid_thw=grid_clip))
            res["vision_still_ms"] = timed(lambda: visual(still, grid_thw=grid_still))
            res["vision_path"] = "Hugging Face Qwen2VisionTransformer, whole grid [8, 18, 18]"
        except Exception as e:  # noqa: BLE001 - the export's eager per-slice wrapper instead
            from model_def import VisionSlice

            res["hf_vision_error"] = repr(e)
            res["vision_path"] = "scripts/export/model_def.py VisionSlice, one slice per call"
            vs = VisionSlice(model).to(dev, torch.bfloat16)
            g1 = torch.tensor([[1, 18, 18]], device=dev)
            slices = clip.view(SLICES, 324, 1176)
            res["vision_16_frames_ms"] = timed(lambda: [vs(slices[k], g1) for k in range(SLICES)])
            res["vision_still_ms"] = timed(lambda: vs(still, g1))
        lm, head = model.model.language_model, model.lm_head
        emb = torch.from_numpy(np.fromfile(work / "prefill_embeds.f32", np.float32).reshape(1, PROMPT, -1))
        emb = emb.to(dev, torch.bfloat16)
        pos = torch.arange(PROMPT, device=dev).view(1, 1, -1).expand(3, 1, -1)

        def prefill():
            o = lm(inputs_embeds=emb, position_ids=pos, use_cache=True)
            return head(o.last_hidden_state[:, -1:]), o.past_key_values

        table = lm.embed_tokens
        try:
            res["prefill_ms"] = timed(prefill)
            logits, cache = prefill()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for step in range(DECODE_STEPS):
                nxt = logits[:, -1].argmax(-1, keepdim=True)  # greedy; argmax stays on the GPU
                p = torch.full((3, 1, 1), PROMPT + step, device=dev)
                o = lm(inputs_embeds=table(nxt), position_ids=p, past_key_values=cache, use_cache=True)
                cache = o.past_key_values
                logits = head(o.last_hidden_state)
                int(logits[0, -1].argmax())  # the app reads each token back on the CPU too
            dt = time.perf_counter() - t0
            res["text_path"] = "Hugging Face Qwen2VLTextModel + lm_head, DynamicCache"
        except Exception as e:  # noqa: BLE001 - the export's eager wrapper (same weights) instead
            from model_def import Decoder

            res["hf_text_error"] = repr(e)
            res["text_path"] = "scripts/export/model_def.py Decoder (eager, concatenated KV)"
            d = Decoder(model).to(dev)
            kvh, layers = model.config.text_config.num_key_value_heads, model.config.text_config.num_hidden_layers
            empty = [torch.zeros(1, kvh, 0, 128, device=dev, dtype=torch.bfloat16)] * (2 * layers)
            one = torch.tensor(1, device=dev)

            def prefill2():
                return d(emb, torch.ones(1, PROMPT, dtype=torch.int64, device=dev), pos, one, *empty)

            res["prefill_ms"] = timed(prefill2)
            logits, *past = prefill2()
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for step in range(DECODE_STEPS):
                nxt = logits[:, -1].argmax(-1, keepdim=True)
                p = torch.full((3, 1, 1), PROMPT + step, device=dev)
                mask = torch.ones(1, PROMPT + step + 1, dtype=torch.int64, device=dev)
                logits, *past = d(table(nxt), mask, p, one, *past)
                int(logits[0, -1].argmax())
            dt = time.perf_counter() - t0
        res["decode_tokens_per_s"] = DECODE_STEPS / dt
        res["decode_steps"] = DECODE_STEPS
        res["ttft_ms"] = res["vision_16_frames_ms"] + res["vision_still_ms"] + res["prefill_ms"]
        kv = 2 * model.config.text_config.num_hidden_layers * model.config.text_config.num_key_value_heads
        res["kv_bytes_at_prompt_bf16"] = kv * 128 * PROMPT * 2
    model.to("cpu")
    del model
    torch.cuda.empty_cache()
    return res


def onnx_weight_bytes(model_dir: Path, name: str) -> int:
    files = [f for f in (model_dir / "onnx").iterdir() if f.name.startswith(name)]
    return sum(f.stat().st_size for f in files)


def ort_check(model_dir: Path, work: Path, wg: dict) -> dict:
    """onnxruntime-python (CPU) on the same q4 graphs and inputs: are the WebGPU outputs right?"""
    import onnxruntime as ort

    res = {"providers": ort.get_available_providers()}
    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 8
    cfg = json.loads((model_dir / "config.json").read_text())
    layers, kvh, hd = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"]
    vis = ort.InferenceSession(str(model_dir / "onnx/vision_encoder_q4.onnx"), so, providers=["CPUExecutionProvider"])
    pv = np.fromfile(work / "pixel_values.f32", np.float32).reshape(SLICES + 1, 324, 1176)
    t0 = time.perf_counter()
    feats = vis.run(None, {"pixel_values": pv[0], "grid_thw": np.array([[1, 18, 18]], np.int64)})[0]
    res["cpu_vision_slice_ms"] = (time.perf_counter() - t0) * 1e3
    if (work / "wg_vision0.f32").exists():
        w = np.fromfile(work / "wg_vision0.f32", np.float32).reshape(feats.shape)
        res["vision_max_abs_diff"] = float(np.abs(w - feats).max())
        res["vision_feature_std"] = float(feats.std())
    del vis
    dec = ort.InferenceSession(str(model_dir / "onnx/decoder_model_merged_q4.onnx"), so, providers=["CPUExecutionProvider"])
    emb = np.fromfile(work / "prefill_embeds.f32", np.float32).reshape(1, PROMPT, -1)
    feed = {"inputs_embeds": emb, "attention_mask": np.ones((1, PROMPT), np.int64),
            "position_ids": np.broadcast_to(np.arange(PROMPT), (3, 1, PROMPT)).astype(np.int64),
            "num_logits_to_keep": np.array(1, np.int64)}
    for i in range(layers):
        for k in ("key", "value"):
            feed[f"past_key_values.{i}.{k}"] = np.zeros((1, kvh, 0, hd), np.float32)
    t0 = time.perf_counter()
    logits = dec.run(["logits"], feed)[0][0, -1]
    res["cpu_prefill_ms"] = (time.perf_counter() - t0) * 1e3
    if (work / "wg_logits.f32").exists():
        w = np.fromfile(work / "wg_logits.f32", np.float32)
        res["logits_max_abs_diff"] = float(np.abs(w - logits).max())
        res["logits_std"] = float(logits.std())
        res["argmax_equal"] = bool(int(w.argmax()) == int(logits.argmax()))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/gb")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/gb-out"))
    ap.add_argument("--model-dir", default="/tmp/qwen2-vl-2b-random")
    ap.add_argument("--node", default="node")
    ap.add_argument("--skip-export", action="store_true")
    a = ap.parse_args()
    work, out, model_dir = Path(a.work), Path(a.out), Path(a.model_dir)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def save():
        (out / "gpu-bench.json").write_text(json.dumps(report, indent=2))

    import torch
    from export_onnx import export_all

    logging.disable(logging.INFO)  # the q4 quantiser logs every node

    t0 = time.time()
    tok = work / "tok"
    tok.mkdir(exist_ok=True)
    (tok / "tokenizer_config.json").write_text("{}")  # the benchmark needs no tokenizer
    (tok / "tokenizer.json").write_text("{}")
    dtypes = {"embed_tokens": ["fp32"], "vision_encoder": ["fp32", "q4"], "decoder_model_merged": ["fp32", "q4"]}
    model = export_all("2b", 0, model_dir, tok, dtypes)
    report["export_s"] = time.time() - t0
    log(f"export (fp32 + q4) done in {report['export_s']:.0f} s")
    report["inputs"] = write_inputs(model, work)
    for g in ("vision_encoder_q4", "decoder_model_merged_q4"):
        report.setdefault("onnx_bytes", {})[g] = onnx_weight_bytes(model_dir, g + ".onnx")
    save()
    try:
        report["torch"] = torch_bench(model, work)
        log(json.dumps(report["torch"], indent=1))
    except Exception as e:  # noqa: BLE001 - report and go on to the WebGPU side
        report["torch"] = {"error": repr(e)}
        log(f"torch bench failed: {e!r}")
    del model
    save()
    t0 = time.time()
    budget = max(60.0, 570.0 - (time.time() - T_START))
    try:
        r = subprocess.run([a.node, str(HERE / "webgpu_bench.mjs"), str(model_dir), str(work)],
                           capture_output=True, text=True, timeout=budget)
        log(r.stderr[-4000:])
        log(r.stdout[-4000:])
        report["webgpu"] = json.loads(r.stdout.strip().splitlines()[-1])
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")
        log(err[-4000:])
        report["webgpu"] = {"error": f"timed out after {budget:.0f} s", "stderr_tail": err[-2000:]}
    except Exception as e:  # noqa: BLE001
        report["webgpu"] = {"error": repr(e)}
    report["webgpu_wall_s"] = time.time() - t0
    save()
    if time.time() - T_START > 500:
        report["ort_cpu_check"] = {"skipped": "out of time"}
        save()
        return
    try:
        report["ort_cpu_check"] = ort_check(model_dir, work, report.get("webgpu", {}))
        log(json.dumps(report["ort_cpu_check"], indent=1))
    except Exception as e:  # noqa: BLE001
        report["ort_cpu_check"] = {"error": repr(e)}
    save()


if __name__ == "__main__":
    main()
