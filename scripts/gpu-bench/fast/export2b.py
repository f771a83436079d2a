"""Qwen2-VL-2B-shaped random weights (scripts/export/model_def.py, seed 0: the same weights the official
evaluation then runs in bf16) exported for the app by our builder (scripts/export/fast): a model
folder with config.json, the tokenizer and onnx/{decoder,vision}_fast_q4.onnx (+ external data)."""

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPORT = HERE.parent.parent / "export"
sys.path.insert(0, str(EXPORT))


def hub_weights(model, prefix: str = "") -> dict:
    """transformers 5's parameter names -> the hub checkpoint's (what fast.build() takes), fp32 numpy; only
    those whose hub name starts with prefix."""
    out = {}
    for name, p in model.state_dict().items():
        if name.startswith("model.language_model."):
            key = "model." + name[len("model.language_model."):]
        elif name.startswith("model.visual."):
            key = name[len("model."):]
        elif name == "lm_head.weight":
            continue  # tied to the embedding (checked below)
        else:
            raise KeyError(f"unexpected parameter {name}")
        if key.startswith(prefix):
            out[key] = p.detach().float().cpu().numpy()
    return out


def export(size: str, seed: int, out: Path, tokenizer_dir: Path, log=print):
    import torch
    from export_onnx import write_configs
    from model_def import build_model
    from fast import build

    t0 = time.time()
    model = build_model(size, seed)
    log(f"built {size} model in {time.time() - t0:.1f}s")
    assert model.lm_head.weight.data_ptr() == model.model.language_model.embed_tokens.weight.data_ptr()
    out.mkdir(parents=True, exist_ok=True)
    write_configs(model, out, tokenizer_dir, size, seed)
    config = json.loads((out / "config.json").read_text())
    t1 = time.time()
    weights = hub_weights(model)
    manifest = build(config, weights, out, dtypes=["q4"], log=log)
    # The rotary tables: torch's own inverse frequencies (the builder's numpy ones may differ by an ulp).
    manifest["text"]["inv_freq"] = [float(x) for x in model.model.language_model.rotary_emb.inv_freq.float()]
    manifest["vision"]["inv_freq"] = [float(x) for x in model.model.visual.rotary_pos_emb.inv_freq.float()]
    (out / "onnx" / "fast.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"exported the fast q4 graphs in {time.time() - t1:.1f}s")
    del weights
    torch.set_grad_enabled(False)
    return model


def export_wasm_variant(model, main: Path, out: Path, log=print) -> Path:
    """The same weights' fast q4 graphs with an fp32 embedding Gather instead of GatherBlockQuantized, which
    onnxruntime-web's wasm build has no kernel for (the app then falls back to reference graphs, which this
    benchmark folder lacks): the folder the wasm phase loads. ~40 s and 1.9 GB more on disk."""
    import shutil
    from fast import build

    out.mkdir(parents=True, exist_ok=True)
    for f in main.iterdir():
        if f.is_file():
            shutil.copy(f, out / f.name)
    config = json.loads((out / "config.json").read_text())
    t0 = time.time()
    weights = hub_weights(model)
    manifest = build(config, weights, out, dtypes=["q4"], log=log, embed_q4=False)
    main_manifest = json.loads((main / "onnx" / "fast.json").read_text())
    manifest["text"]["inv_freq"] = main_manifest["text"]["inv_freq"]
    manifest["vision"]["inv_freq"] = main_manifest["vision"]["inv_freq"]
    (out / "onnx" / "fast.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"exported the wasm variant (fp32 embedding) in {time.time() - t0:.1f}s")
    return out


MANIFEST = "onnx/fast.json"


def link_folder(main: Path, out: Path, fresh: set[str]) -> None:
    """`out` as `main` with hard links (no second copy on disk), except the files in `fresh` (paths relative to
    main) and the manifest, which the caller writes anew: writing through a link would change the main
    folder's file."""
    import os

    for f in main.rglob("*"):
        if f.is_file():
            rel = f.relative_to(main)
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            if not (out / rel).exists() and str(rel) not in fresh | {MANIFEST}:
                os.link(f, out / rel)


def export_step_variant(main: Path, out: Path, attention: str, log=print) -> Path:
    """The main folder with its q4 step graph (and its feed variant) written with `attention` (fast/step.py:
    "gqa", GroupQueryAttention as before step_attention.py, or a step_attention.VARIANTS name): the folder a
    decode-step A/B loads. Every other file is a hard link to the main folder's."""
    from fast.feed import write_feed
    from fast.step import write_step

    t0 = time.time()
    manifest = json.loads((main / "onnx" / "fast.json").read_text())
    entry = manifest["graphs"]["q4"]
    step, feed = entry["step"], entry["feed"]["step"]
    fresh = {step["file"], feed["file"]}
    link_folder(main, out, fresh)
    _, step["nodes"] = write_step(out / entry["decoder"]["file"], out / step["file"], attention)
    _, feed["nodes"] = write_feed(out / step["file"], out / feed["file"])
    (out / "onnx" / "fast.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"exported the step variant (attention {attention}: {step['nodes']} nodes) in {time.time() - t0:.1f}s")
    return out


def export_vision_variant(model, main: Path, out: Path, groups: int, log=print) -> Path:
    """The main folder with its q4 and a8 vision graphs rebuilt with `groups` (fast/vision.py: the heads and MLP
    columns in groups; 1: whole): the folder a vision A/B loads. Every other file is a hard link to the main
    folder's (no second copy on disk); the vision files are written anew, never linked (that would overwrite the
    main folder's)."""
    from fast.a8 import write_a8
    from fast.config import vision_shape
    from fast.vision import build_vision

    t0 = time.time()
    manifest = json.loads((main / "onnx" / "fast.json").read_text())
    entry = manifest["graphs"]["q4"]
    vision, vision_a8 = entry["vision"], entry["a8"]["vision"]
    fresh = {vision["file"], vision_a8["file"], *(d["file"] for d in vision["data"] + vision_a8["data"])}
    link_folder(main, out, fresh)
    config = json.loads((out / "config.json").read_text())
    weights = hub_weights(model, "visual.")
    g = build_vision(vision_shape(config), weights, True, name=Path(vision["file"]).stem, groups=groups)
    data = g.save(out / vision["file"])
    vision.update(data=[{"path": d, "file": f"onnx/{d}"} for d in data], nodes=len(g.nodes))
    data, nodes = write_a8(out / vision["file"], out / vision_a8["file"])
    vision_a8.update(data=[{"path": d, "file": f"onnx/{d}"} for d in data], nodes=nodes)
    (out / "onnx" / "fast.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"exported the vision variant (groups {groups}: {len(g.nodes)} nodes) in {time.time() - t0:.1f}s")
    return out
