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

Qwen2.5-VL (config model_type qwen2_5_vl): its text model is Qwen2's with M-RoPE, so the same decoder graph
serves (the app fills the rotary tables with Qwen2.5-VL's time-scaled positions); its vision tower (window
attention, RMSNorm, gated MLP) has no fast graph here: the manifest says `"vision": {"graph": "reference"}` and
lists the folder's own reference vision graph (onnx/vision_encoder{,_q4}.onnx, which must be there already),
which the app runs per temporal slice as the reference engine does. Exact by construction, and vision is a
small part of a question's time (the decode steps dominate).
"""

import json
import time
from pathlib import Path

import numpy as np
import onnx

import q8  # scripts/export/q8.py

from .a8 import write_a8
from .feed import merge_weights, write_feed
from .step import write_step
from .config import text_shape, vision_shape
from .decoder import PENALTY, build_decoder, kv_head_dim
from .graph import find_shared
from .onnx_weights import check_shapes
from .vision import build_vision, vision_inv_freq

FORMAT = "seedbench-fast/1"
SUFFIX = {"fp32": "", "q4": "_q4", "q8": "_q8"}
REF_SUFFIX = {"fp32": "", "q4": "_q4", "q8": "_quantized"}  # the reference export's file names
# q8's activations are quantised per tensor at run time: the fast vision graph (every slice in one run) would
# quantise over other rows than the reference's per-slice graph, so q8 lists the reference q8 vision graph.
REFERENCE_VISION_DTYPES = ("q8",)
VISION_KINDS = ("fast", "reference")
STEP_DTYPES = ("fp32", "q4")  # the dtypes with a decode-step graph (step.py); q8 has no WebGPU kernels


def vision_kind(config: dict) -> str:
    """Which vision graph the manifest lists: Qwen2-VL's tower is built here; Qwen2.5-VL's is the reference one."""
    return "reference" if config.get("model_type") == "qwen2_5_vl" else "fast"


def reference_vision(onnx_dir: Path, dt: str) -> dict:
    """The manifest entry of the folder's reference vision graph at dtype dt, with the external data it names."""
    path = onnx_dir / f"vision_encoder{REF_SUFFIX[dt]}.onnx"
    if not path.exists():
        raise FileNotFoundError(f"build: {path} not found (a reference-vision manifest lists the folder's own vision graph)")
    m = onnx.load(str(path), load_external_data=False)
    data: list[str] = []
    for t in m.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            loc = next(e.value for e in t.external_data if e.key == "location")
            if loc not in data:
                data.append(loc)
    for d in data:
        if not (onnx_dir / d).exists():
            raise FileNotFoundError(f"build: {onnx_dir / d} not found (external data of {path.name})")
    return {"file": f"onnx/{path.name}", "data": [{"path": d, "file": f"onnx/{d}"} for d in data],
            "nodes": len(m.graph.node)}


Q8_SHARES = (("embed", "model.embed_tokens.weight"), ("lm_head", "lm_head.weight"))


def share_value(name: str, weights) -> np.ndarray:
    """The bytes a `share` entry points at: a weight, or (name@q8) the reference q8 graphs' quantised form
    of it (the embedding's uint8 Gather data; the lm_head's int8 weight, the embedding's when tied)."""
    if not name.endswith("@q8"):
        return weights[name]
    base = name[: -len("@q8")]
    if base == "model.embed_tokens.weight":
        return q8.quantize_gather(weights[base])[0]
    if base == "lm_head.weight":
        return q8.quantize_weight((weights[base] if base in weights else weights["model.embed_tokens.weight"]).T)[0]
    raise ValueError(f"build: no q8 form of {base} to share")


# The fast vision graph's heads and MLP columns in 2 groups: a 16-frame question's 60 MB scores and MLP rows
# become 30 MB ones, and onnxruntime's WebGPU buffer cache keeps fewer bytes (the 2B on the H200, peak GPU
# memory in one call: 2.65 GB whole, 2.33 GB in 2 groups, 2.41 GB in 4; time to first token 242, 242 and
# 255 ms: bench/gpu-h200-vision-groups-2.json `app_2b_memory_ab`).
VISION_GROUPS = 2


def text_inv_freq(ts) -> np.ndarray:
    """Qwen2's rotary inverse frequencies in float32: 1 / theta^(arange(0, head_dim, 2) / head_dim)."""
    d = ts.head_dim
    return (1.0 / (np.float32(ts.rope_theta) ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))).astype(np.float32)


def build(config: dict, weights, out_dir, dtypes=("fp32", "q4"), share: dict | None = None, log=print,
          embed_q4: bool | None = None, vision: str | None = None, q8_vision: str = "reference",
          a8: bool = True, vision_groups: int = VISION_GROUPS) -> dict:
    """vision: "fast" (build vision_fast*.onnx) or "reference" (list onnx/vision_encoder*.onnx); None: by the
    config's model_type (vision_kind). embed_q4: None (default) picks GatherBlockQuantized for q4 models with hidden % 32 == 0; False keeps an
    fp32 Gather (onnxruntime-web's asyncify wasm build, the one the app ships, has no CPU GatherBlockQuantized
    kernel: such graphs do not load on wasm). q8_vision: "reference" (default: the folder's vision_encoder_quantized.onnx,
    per slice, exact against the reference q8 export) or "fp32" / "q4": that dtype's fast vision graph, also built
    (for folders with no reference q8 vision graph, e.g. the benchmark's 2B-shaped model). vision_groups: the fast
    vision graph's attention heads and MLP columns in up to this many groups (vision.py; 1: whole)."""
    out_dir = Path(out_dir)
    onnx_dir = out_dir / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    vision = vision or vision_kind(config)
    if vision not in VISION_KINDS:
        raise ValueError(f"build: vision {vision!r} is not one of {VISION_KINDS}")
    check_shapes(weights, config, vision=vision == "fast")
    ts = text_shape(config)
    shared = {name: find_shared(onnx_dir / file, share_value(name, weights)) for name, file in (share or {}).items()}
    for dt in dtypes:
        if dt not in SUFFIX:
            raise ValueError(f"build: dtype {dt} is not one of {sorted(SUFFIX)}")
    if q8_vision != "reference" and (vision != "fast" or q8_vision not in ("fp32", "q4") or q8_vision not in dtypes):
        raise ValueError(f"build: q8_vision {q8_vision!r} must be 'reference' or a fast vision dtype built too")
    ref_dtypes = REFERENCE_VISION_DTYPES if q8_vision == "reference" else ()
    # Before anything is written: every dtype's reference vision graph is there.
    ref_vision = {dt: reference_vision(onnx_dir, dt) for dt in dtypes if vision == "reference" or dt in ref_dtypes}
    graphs = {}
    for dt in dtypes:
        quant = dt == "q4"
        int8 = dt == "q8"
        entry = {}
        # q4 models whose hidden size fills whole 32-blocks look tokens up in the lm_head's 4-bit bytes
        # (GatherBlockQuantized): an fp32 copy of a 2B model's embedding alone is 933 MB of GPU memory.
        use_embed_q4 = quant and ts.hidden % 32 == 0 and "model.embed_tokens.weight" not in shared
        if embed_q4 is not None:
            use_embed_q4 = use_embed_q4 and embed_q4
        makers = [("decoder", lambda: build_decoder(ts, weights, quant,
                                                    share_embed=shared.get("model.embed_tokens.weight"),
                                                    name=f"decoder_fast{SUFFIX[dt]}", embed_q4=use_embed_q4,
                                                    int8=int8, share_q8={k: shared[f"{w}@q8"] for k, w in Q8_SHARES
                                                                         if f"{w}@q8" in shared}))]
        if vision == "fast" and dt == "q8" and q8_vision != "reference":
            pass  # listed below: the q8_vision dtype's fast vision graph
        elif vision == "fast" and dt not in ref_dtypes:
            makers.append(("vision", lambda: build_vision(vision_shape(config), weights, quant,
                                                          name=f"vision_fast{SUFFIX[dt]}", groups=vision_groups)))
        else:
            entry["vision"] = dict(ref_vision[dt])
            if vision == "fast":  # this dtype only: the app reads `graph` per dtype
                entry["vision"]["graph"] = "reference"
            log(f"  vision: the reference graph {entry['vision']['file']} ({entry['vision']['nodes']} nodes)")
        for kind, make in makers:
            t0 = time.time()
            g = make()
            path = onnx_dir / f"{kind}_fast{SUFFIX[dt]}.onnx"
            data = g.save(path)
            entry[kind] = {"file": f"onnx/{path.name}", "data": [{"path": d, "file": f"onnx/{d}"} for d in data],
                           "nodes": len(g.nodes)}
            size = path.stat().st_size + sum((onnx_dir / d).stat().st_size for d in data if d not in (share or {}).values())
            log(f"  {path.name}: {len(g.nodes)} nodes, {size:,} bytes of its own in {time.time() - t0:.1f}s"
                + (f" (external data: {', '.join(data)})" if data else ""))
        if dt in STEP_DTYPES:  # WebGPU decode steps (q8 has no WebGPU kernels): penalty and argmax left to the app
            src = out_dir / entry["decoder"]["file"]
            dst = src.with_name(src.stem + "step.onnx") if dt != "fp32" else src.with_name(src.stem + "_step.onnx")
            data, nodes = write_step(src, dst)
            entry["step"] = {"file": f"onnx/{dst.name}", "data": [{"path": d, "file": f"onnx/{d}"} for d in data],
                             "nodes": nodes}
            log(f"  {dst.name}: the decode step without penalty and argmax ({nodes} nodes), {dst.stat().st_size:,} bytes")
        if quant and a8:
            entry["a8"] = {}
            for kind in ("decoder", "vision"):
                if kind not in entry or entry[kind].get("graph") == "reference":
                    continue  # a reference vision graph has no a8 variant: the exact one serves
                src = out_dir / entry[kind]["file"]
                dst = src.with_name(src.stem + "a8.onnx")
                data, nodes = write_a8(src, dst)
                entry["a8"][kind] = {"file": f"onnx/{dst.name}", "data": [{"path": d, "file": f"onnx/{d}"} for d in data],
                                     "nodes": nodes}
                log(f"  {dst.name}: int8 activations (accuracy_level 4), {dst.stat().st_size:,} bytes")
        if dt in STEP_DTYPES:  # WebGPU: prefill and decode sessions fed one copy of the weights (feed.py)
            entry["feed"] = feed_variants(out_dir, entry, log)
        graphs[dt] = entry
    manifest = {
        "format": FORMAT,
        "text": {"vocab": ts.vocab, "hidden": ts.hidden, "layers": ts.layers, "heads": ts.heads,
                 "kv_heads": ts.kv_heads, "head_dim": ts.head_dim, "kv_head_dim": kv_head_dim(ts.head_dim),
                 "mrope_section": list(ts.mrope_section),
                 "inv_freq": [float(x) for x in text_inv_freq(ts)]},
        "vision": fast_vision_manifest(vision_shape(config)) if vision == "fast" else reference_vision_manifest(config),
        "repetition_penalty": PENALTY,
        "graphs": graphs,
    }
    if "q8" in graphs and q8_vision != "reference":
        graphs["q8"]["vision"] = graphs[q8_vision]["vision"]
    manifest["graphs"] = {dt: {"decoder": e["decoder"], "vision": e["vision"], **({"step": e["step"]} if "step" in e else {}),
                               **({"a8": e["a8"]} if "a8" in e else {}),
                               **({"feed": e["feed"]} if "feed" in e else {})}
                          for dt, e in graphs.items()}
    (onnx_dir / "fast.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def feed_variants(out_dir: Path, entry: dict, log) -> dict:
    """The feed variants (feed.py) of a dtype's decoder, step and a8 decoder graphs, and their weights table."""
    sources = {"decoder": entry["decoder"], "step": entry.get("step"), "a8": entry.get("a8", {}).get("decoder")}
    feed, tables = {}, []
    for kind, g in sources.items():
        if g is None:
            continue
        src = out_dir / g["file"]
        dst = src.with_name(src.stem + "_feed.onnx")
        table, nodes = write_feed(src, dst)
        tables.append(table)
        feed[kind] = {"file": f"onnx/{dst.name}", "data": [], "nodes": nodes}
        log(f"  {dst.name}: {len(table)} weights as inputs, {dst.stat().st_size:,} bytes")
    weights = merge_weights(tables)
    return {"weights": [{**w, "file": f"onnx/{w['file']}"} for w in weights], **feed}


def fast_vision_manifest(vs) -> dict:
    return {"embed": vs.embed, "heads": vs.heads, "head_dim": vs.embed // vs.heads, "patch": vs.patch,
            "temporal_patch": vs.temporal_patch, "merge": vs.merge, "out_hidden": vs.out_hidden,
            "inv_freq": [float(x) for x in vision_inv_freq(vs)]}


def reference_vision_manifest(config: dict) -> dict:
    """What the app needs of a reference vision graph: the patch rows' layout and the merged width it returns."""
    v = config.get("vision_config") or {}
    return {"graph": "reference", "patch": int(v.get("patch_size", 14)),
            "temporal_patch": int(v.get("temporal_patch_size", 2)), "merge": int(v.get("spatial_merge_size", 2)),
            "out_hidden": int(v.get("out_hidden_size") or text_shape(config).hidden)}
