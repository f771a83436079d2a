"""onnxruntime (Python, CPU) on the app's fast graphs, fed exactly as src/model/fast/engine.ts feeds them:
the correctness reference for the app's WebGPU run of the same q4 graphs, and the CPU speed reference
for the app's wasm run (same graphs, same thread count).

A manifest with `"vision": {"graph": "reference"}` (Qwen2.5-VL) lists the model's reference vision graph: it
runs once per temporal slice (grid [1, h, w]) as the app runs it, the rows gathered under a zero row 0.
rope_positions here is Qwen2-VL's rule; Qwen2.5-VL's videos need their time-scaled positions, so run() takes
them from the caller (`positions`, e.g. the checkpoint's own get_rope_index) and refuses a video without."""

import json
import time
from pathlib import Path

import numpy as np

IMAGE, VIDEO, VISION_START = 151655, 151656, 151652


def rope_positions(ids, grids, merge=2):
    """[3, L] positions and delta, as src/model/rope.ts (transformers' get_rope_index, one sequence)."""
    L = len(ids)
    pos = np.zeros((3, L), np.int64)
    image_i = video_i = 0
    nxt = 0
    i = 0
    while i < L:
        tok = ids[i]
        prev = ids[i - 1] if i > 0 else -1
        if tok not in (IMAGE, VIDEO) or prev != VISION_START:
            pos[:, i] = nxt
            nxt += 1
            i += 1
            continue
        grid = grids["image"][image_i] if tok == IMAGE else grids["video"][video_i]
        if tok == IMAGE:
            image_i += 1
        else:
            video_i += 1
        gt, gh, gw = grid[0], grid[1] // merge, grid[2] // merge
        count = gt * gh * gw
        k = np.arange(count)
        pos[0, i:i + count] = nxt + k // (gh * gw)
        pos[1, i:i + count] = nxt + (k // gw) % gh
        pos[2, i:i + count] = nxt + k % gw
        nxt = int(pos[:, i:i + count].max()) + 1
        i += count
    return pos, nxt - L


def rope_table(pos, delta, capacity, inv_freq, section, width):
    L = pos.shape[1]
    half = len(inv_freq)
    axis = np.concatenate([np.full(n, s % 3) for s, n in enumerate(section)])
    p = np.empty((capacity, half), np.float32)
    p[:L] = pos[axis, :].T
    p[L:] = (np.arange(L, capacity) + delta)[:, None]
    ang = (p * np.asarray(inv_freq, np.float32)).astype(np.float32)
    cos = np.ones((capacity, width), np.float32)
    sin = np.zeros((capacity, width), np.float32)
    cos[:, :half] = np.cos(ang.astype(np.float64))
    sin[:, :half] = np.sin(ang.astype(np.float64))
    return cos, sin


def vision_table(h, w, inv_freq, merge=2):
    q = len(inv_freq)
    p = np.arange(h * w)
    blk, r = p // (merge * merge), p % (merge * merge)
    row = (blk // (w // merge)) * merge + r // merge
    col = (blk % (w // merge)) * merge + r % merge
    f = np.asarray(inv_freq, np.float32)
    ang = np.concatenate([(row[:, None].astype(np.float32) * f), (col[:, None].astype(np.float32) * f)], 1)
    return np.cos(ang.astype(np.float64)).astype(np.float32), np.sin(ang.astype(np.float64)).astype(np.float32)


class FastCpu:
    def __init__(self, model_dir: Path, dtype: str, threads: int, capacity: int):
        import onnxruntime as ort

        self.manifest = json.loads((model_dir / "onnx" / "fast.json").read_text())
        files = self.manifest["graphs"][dtype]
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        t0 = time.time()
        self.reference_vision = self.manifest["vision"].get("graph") == "reference"
        self.vision = ort.InferenceSession(str(model_dir / files["vision"]["file"]), so, providers=["CPUExecutionProvider"])
        self.decoder = ort.InferenceSession(str(model_dir / files["decoder"]["file"]), so, providers=["CPUExecutionProvider"])
        self.load_s = time.time() - t0
        self.capacity = capacity

    def encode_reference(self, pixel_slices):
        """The reference vision graph slice by slice (pixel_values [P, 1176], its grid input [[1, h, w]])."""
        P = pixel_slices.shape[1]
        side = int(round(P ** 0.5))
        names = [i.name for i in self.vision.get_inputs()]
        grid = next((n for n in ("image_grid_thw", "grid_thw") if n in names), None)
        if grid is None:
            raise ValueError(f"reference vision graph: no grid input among {names}")
        rows = [self.vision.run(["image_features"], {"pixel_values": s, grid: np.array([[1, side, side]], np.int64)})[0]
                for s in pixel_slices.astype(np.float32)]
        hidden = self.manifest["text"]["hidden"]
        return np.concatenate([np.zeros((1, hidden), np.float32), *[r.astype(np.float32) for r in rows]], 0)

    def run(self, input_ids, pixel_slices, grids, new_tokens: int, positions=None) -> dict:
        """pixel_slices: [T, P, 1176] float32 (clip slices then the still's), grids as rope_positions takes;
        positions: ([3, L] int64, delta) to use instead of rope_positions (needed for Qwen2.5-VL videos)."""
        t = self.manifest["text"]
        v = self.manifest["vision"]
        t0 = time.perf_counter()
        if self.reference_vision:
            if positions is None and grids.get("video"):
                raise ValueError("fast.json lists a reference vision graph (Qwen2.5-VL): pass the video's time-scaled "
                                 "positions (rope_positions is Qwen2-VL's rule)")
            feats = self.encode_reference(pixel_slices)
        else:
            P = pixel_slices.shape[1]
            side = int(round(P ** 0.5))
            vcos, vsin = vision_table(side, side, v["inv_freq"], v["merge"])
            feats = self.vision.run(None, {"pixel_values": pixel_slices, "cos_cache": vcos, "sin_cache": vsin})[0]
        vision_ms = (time.perf_counter() - t0) * 1000
        ids = list(input_ids)
        pos, delta = positions if positions is not None else rope_positions(ids, grids)
        pos = np.asarray(pos, np.int64).reshape(3, len(ids))
        D = t["kv_head_dim"]
        cos, sin = rope_table(pos, delta, self.capacity, t["inv_freq"], t["mrope_section"], D // 2)
        rows = np.zeros((len(ids), 1), np.int32)
        k = 1
        for i, tok in enumerate(ids):
            if tok in (IMAGE, VIDEO):
                rows[i, 0] = k
                k += 1
        kv = {}
        for layer in range(t["layers"]):
            for name in ("key", "value"):
                kv[f"past_{name}.{layer}"] = np.zeros((1, t["kv_heads"], self.capacity, D), np.float32)
        seen = np.zeros(t["vocab"], np.float32)
        seen[np.asarray(ids)] = 1
        feeds = {"input_ids": np.asarray(ids, np.int32)[:, None], "visual_rows": rows, "visual_embeds": feats,
                 "seqlens_k": np.array([len(ids) - 1], np.int32), "total_sequence_length": np.array(len(ids), np.int32),
                 "cos_cache": cos, "sin_cache": sin, "logit_rows": np.array([len(ids) - 1], np.int64), "seen": seen, **kv}
        names = [o.name for o in self.decoder.get_outputs()]
        t0 = time.perf_counter()
        out = dict(zip(names, self.decoder.run(None, feeds)))
        prefill_ms = (time.perf_counter() - t0) * 1000
        first_logits = out["logits"][0].copy()
        tokens = [int(out["next_token"][0, 0])]
        zero = np.zeros((1, t["hidden"]), np.float32)
        past = len(ids)
        t0 = time.perf_counter()
        while len(tokens) < new_tokens:
            prev = tokens[-1]
            for layer in range(t["layers"]):
                for name in ("key", "value"):
                    feeds[f"past_{name}.{layer}"] = out[f"present_{name}.{layer}"]
            feeds.update({"input_ids": np.array([[prev]], np.int32), "visual_rows": np.zeros((1, 1), np.int32),
                          "visual_embeds": zero, "seqlens_k": np.array([past], np.int32),
                          "total_sequence_length": np.array(past + 1, np.int32), "logit_rows": np.array([0], np.int64),
                          "seen": seen})
            out = dict(zip(names, self.decoder.run(None, feeds)))
            seen[prev] = 1
            past += 1
            tokens.append(int(out["next_token"][0, 0]))
        decode_s = time.perf_counter() - t0
        return {"vision_ms": vision_ms, "prefill_ms": prefill_ms, "first_logits": first_logits, "output_ids": tokens,
                "decode_tokens_per_s": (len(tokens) - 1) / decode_s if decode_s > 0 and len(tokens) > 1 else None}
