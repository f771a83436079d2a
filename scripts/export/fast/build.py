"""build(): the fast graphs of a Qwen2-VL model from its config and canonical weights.

    from fast import build
    build(config, weights, "models/my-model", dtypes=["fp32", "q4"])

`weights` maps the original hub checkpoint names (model.embed_tokens.weight, model.layers.{i}.self_attn.
q_proj.weight, visual.blocks.{i}.attn.qkv.weight, ...; see onnx_weights.expected_shapes) to numpy arrays.
Writes onnx/decoder_fast{,_q4}.onnx, onnx/vision_fast{,_q4}.onnx (weights over 64 MB in external-data
chunks beside them) and onnx/fast.json, the manifest the app reads: the files of each dtype, the shapes
and the rotary tables' inverse frequencies. `share` maps a weight name to an existing file in onnx/ that
already holds its raw bytes (the tiny model's embedding lives in embed_tokens.onnx): the graphs then
reference those bytes instead of storing another copy.
"""

import json
import time
from pathlib import Path

import numpy as np

from .config import text_shape, vision_shape
from .decoder import PENALTY, build_decoder, kv_head_dim
from .graph import find_shared
from .onnx_weights import check_shapes
from .vision import build_vision, vision_inv_freq

FORMAT = "seedbench-fast/1"
SUFFIX = {"fp32": "", "q4": "_q4"}


def text_inv_freq(ts) -> np.ndarray:
    """Qwen2's rotary inverse frequencies in float32: 1 / theta^(arange(0, head_dim, 2) / head_dim)."""
    d = ts.head_dim
    return (1.0 / (np.float32(ts.rope_theta) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))).astype(np.float32)


def build(config: dict, weights, out_dir, dtypes=("fp32", "q4"), share: dict | None = None, log=print,
          embed_q4: bool | None = None) -> dict:
    """embed_q4: None (default) picks GatherBlockQuantized for q4 models with hidden % 32 == 0; False keeps an
    fp32 Gather (onnxruntime-web's asyncify wasm build, the one the app ships, has no CPU GatherBlockQuantized
    kernel: such graphs do not load on wasm)."""
    out_dir = Path(out_dir)
    onnx_dir = out_dir / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    check_shapes(weights, config)
    ts, vs = text_shape(config), vision_shape(config)
    shared = {name: find_shared(onnx_dir / file, weights[name]) for name, file in (share or {}).items()}
    for dt in dtypes:
        if dt not in SUFFIX:
            raise ValueError(f"build: dtype {dt} is not one of {sorted(SUFFIX)}")
    graphs = {}
    for dt in dtypes:
        quant = dt == "q4"
        entry = {}
        # q4 models whose hidden size fills whole 32-blocks look tokens up in the lm_head's 4-bit bytes
        # (GatherBlockQuantized): an fp32 copy of a 2B model's embedding alone is 933 MB of GPU memory.
        use_embed_q4 = quant and ts.hidden % 32 == 0 and "model.embed_tokens.weight" not in shared
        if embed_q4 is not None:
            use_embed_q4 = use_embed_q4 and embed_q4
        for kind, make in (("decoder", lambda: build_decoder(ts, weights, quant,
                                                             share_embed=shared.get("model.embed_tokens.weight"),
                                                             name=f"decoder_fast{SUFFIX[dt]}", embed_q4=use_embed_q4)),
                           ("vision", lambda: build_vision(vs, weights, quant, name=f"vision_fast{SUFFIX[dt]}"))):
            t0 = time.time()
            g = make()
            path = onnx_dir / f"{kind}_fast{SUFFIX[dt]}.onnx"
            data = g.save(path)
            entry[kind] = {"file": f"onnx/{path.name}", "data": [{"path": d, "file": f"onnx/{d}"} for d in data],
                           "nodes": len(g.nodes)}
            size = path.stat().st_size + sum((onnx_dir / d).stat().st_size for d in data if d not in (share or {}).values())
            log(f"  {path.name}: {len(g.nodes)} nodes, {size:,} bytes of its own in {time.time() - t0:.1f}s"
                + (f" (external data: {', '.join(data)})" if data else ""))
        graphs[dt] = entry
    manifest = {
        "format": FORMAT,
        "text": {"vocab": ts.vocab, "hidden": ts.hidden, "layers": ts.layers, "heads": ts.heads,
                 "kv_heads": ts.kv_heads, "head_dim": ts.head_dim, "kv_head_dim": kv_head_dim(ts.head_dim),
                 "mrope_section": list(ts.mrope_section),
                 "inv_freq": [float(x) for x in text_inv_freq(ts)]},
        "vision": {"embed": vs.embed, "heads": vs.heads, "head_dim": vs.embed // vs.heads, "patch": vs.patch,
                   "temporal_patch": vs.temporal_patch, "merge": vs.merge, "out_hidden": vs.out_hidden,
                   "inv_freq": [float(x) for x in vision_inv_freq(vs)]},
        "repetition_penalty": PENALTY,
        "graphs": graphs,
    }
    (onnx_dir / "fast.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
