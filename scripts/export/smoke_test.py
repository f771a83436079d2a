"""Load an exported model's graphs in onnxruntime (CPU) and time one vision slice, a prefill and a few
decode steps. Used for the 2b export, which is too large to bring back.

    python3 scripts/export/smoke_test.py --model-dir /tmp/qwen2-vl-2b-random --dtype q4
"""

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

SUFFIX = {"fp32": "", "fp16": "_fp16", "q8": "_quantized", "q4": "_q4", "q4f16": "_q4f16"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--dtype", default="q4")
    ap.add_argument("--prompt", type=int, default=850)
    ap.add_argument("--steps", type=int, default=8)
    a = ap.parse_args()
    d = Path(a.model_dir)
    cfg = json.loads((d / "config.json").read_text())
    layers, kv, hd = cfg["num_hidden_layers"], cfg["num_key_value_heads"], cfg["head_dim"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 16
    sess = {}
    for g in ("embed_tokens", "vision_encoder", "decoder_model_merged"):
        f = d / "onnx" / f"{g}{SUFFIX[a.dtype]}.onnx"
        if not f.exists():
            f = d / "onnx" / f"{g}.onnx"
        t0 = time.time()
        sess[g] = ort.InferenceSession(str(f), so, providers=["CPUExecutionProvider"])
        print(f"loaded {f.name} in {time.time() - t0:.1f}s", flush=True)
    t0 = time.time()
    feats = sess["vision_encoder"].run(None, {"pixel_values": np.random.randn(324, 1176).astype(np.float32),
                                              "grid_thw": np.array([[1, 18, 18]], np.int64)})[0]
    print(f"vision slice [1,18,18] -> {feats.shape} in {time.time() - t0:.2f}s", flush=True)
    ids = np.random.randint(0, 150000, size=(1, a.prompt)).astype(np.int64)
    emb = sess["embed_tokens"].run(None, {"input_ids": ids})[0]
    past = {}
    for i in range(layers):
        past[f"past_key_values.{i}.key"] = np.zeros((1, kv, 0, hd), np.float32)
        past[f"past_key_values.{i}.value"] = np.zeros((1, kv, 0, hd), np.float32)
    pos = np.broadcast_to(np.arange(a.prompt), (3, 1, a.prompt)).astype(np.int64)
    t0 = time.time()
    out = sess["decoder_model_merged"].run(None, {"inputs_embeds": emb, "attention_mask": np.ones((1, a.prompt), np.int64),
                                                  "position_ids": pos, "num_logits_to_keep": np.array(1, np.int64), **past})
    print(f"prefill {a.prompt} tokens -> logits {out[0].shape} in {time.time() - t0:.2f}s", flush=True)
    names = [o.name for o in sess["decoder_model_merged"].get_outputs()]
    t0 = time.time()
    for step in range(a.steps):
        past = {n.replace("present", "past_key_values"): v for n, v in zip(names[1:], out[1:])}
        nxt = np.array([[int(out[0][0, -1].argmax())]], np.int64)
        e = sess["embed_tokens"].run(None, {"input_ids": nxt})[0]
        total = a.prompt + step + 1
        out = sess["decoder_model_merged"].run(None, {"inputs_embeds": e, "attention_mask": np.ones((1, total), np.int64),
                                                      "position_ids": np.full((3, 1, 1), total - 1, np.int64),
                                                      "num_logits_to_keep": np.array(1, np.int64), **past})
    dt = time.time() - t0
    print(f"{a.steps} decode steps in {dt:.2f}s ({a.steps / dt:.1f} tok/s, CPU)", flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB", flush=True)


if __name__ == "__main__":
    main()
