"""The committed tiny model's weights, read back from its fp32 ONNX graphs under canonical
checkpoint names (checkpoint.py), so that graphs of other interfaces are built from exactly the
same numbers ("same weights" by construction). numpy + onnx only. load_tiny25_weights does the
same for the tiny Qwen2.5-VL (the Qwen2-VL text weights + its own traced vision tower).

Named initializers (biases, norms, the embedding) keep their module names; the traced MatMul
weights are anonymous (onnx::MatMul_N) and are named from the MatMul node that reads them
(/q_proj/MatMul is layer 0, /q_proj_1/MatMul layer 1, ...). MatMul holds W.T; HF's Linear holds W.
"""

import re
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

DECODER = re.compile(r"^/(?:mlp/)?(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|lm_head)(?:_(\d+))?/MatMul$")
VISION = re.compile(r"^/(?:mlp/)?(qkv|proj|fc1|fc2|gate_proj|up_proj|down_proj|mlp\.0|mlp\.2)(?:_(\d+))?/MatMul$")
DEC_NAME = {"q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
            "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
            "down_proj": "mlp.down_proj"}
VIS_NAME = {"qkv": "attn.qkv", "proj": "attn.proj", "fc1": "mlp.fc1", "fc2": "mlp.fc2", "gate_proj": "mlp.gate_proj",
            "up_proj": "mlp.up_proj", "down_proj": "mlp.down_proj"}


def _graph(path: Path):
    m = onnx.load(str(path))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    return m, inits


def load_tiny_weights(model_dir: Path, vision: bool = True) -> dict[str, np.ndarray]:
    """vision=False: the text model only (the tiny Qwen2.5-VL, whose vision graph is not Qwen2-VL's)."""
    onnx_dir = Path(model_dir) / "onnx"
    out: dict[str, np.ndarray] = {}

    _, emb = _graph(onnx_dir / "embed_tokens.onnx")
    out["model.embed_tokens.weight"] = emb["embed.weight"].astype(np.float32)

    m, inits = _graph(onnx_dir / "decoder_model_merged.onnx")
    for name, a in inits.items():
        if name.startswith("lm."):
            out["model." + name[3:]] = a
    for node in m.graph.node:
        hit = DECODER.match(node.name) if node.op_type == "MatMul" else None
        if not hit:
            continue
        weight = inits[node.input[1]].T.copy()
        kind, layer = hit.group(1), int(hit.group(2) or 0)
        if kind == "lm_head":
            out["lm_head.weight"] = weight
        else:
            out[f"model.layers.{layer}.{DEC_NAME[kind]}.weight"] = weight

    if vision:
        out.update(vision_weights(onnx_dir / "vision_encoder.onnx"))

    # The tiny model ties lm_head to the embedding: say so by leaving lm_head out.
    if "lm_head.weight" in out and np.array_equal(out["lm_head.weight"], out["model.embed_tokens.weight"]):
        del out["lm_head.weight"]
    return out


def vision_weights(path: Path) -> dict[str, np.ndarray]:
    """The vision tower of a traced vision_encoder.onnx (Qwen2-VL's or Qwen2.5-VL's VisionSlice25:
    both name their patch matrix patch_w and scope the block MatMuls by module)."""
    out: dict[str, np.ndarray] = {}
    m, inits = _graph(path)
    for name, a in inits.items():
        if name.startswith("visual."):
            out[name] = a
    patch = inits["patch_w"]  # [3*2*14*14, E]: the Conv3d kernel flattened and transposed
    out["visual.patch_embed.proj.weight"] = patch.T.reshape(patch.shape[1], 3, 2, 14, 14).copy()
    for node in m.graph.node:
        hit = VISION.match(node.name) if node.op_type == "MatMul" else None
        if not hit or node.input[1] not in inits:
            continue
        weight = inits[node.input[1]].T.copy()
        kind, block = hit.group(1), int(hit.group(2) or 0)
        if kind.startswith("mlp."):
            out[f"visual.merger.{kind}.weight"] = weight
        else:
            out[f"visual.blocks.{block}.{VIS_NAME[kind]}.weight"] = weight

    return out


def load_tiny25_weights(qwen2_dir: Path, qwen25_dir: Path) -> dict[str, np.ndarray]:
    """The committed tiny Qwen2.5-VL: the tiny Qwen2-VL's text weights (its graphs are shared) and
    the vision tower of models/tiny-random-qwen2_5-vl/onnx/vision_encoder.onnx."""
    out = {k: v for k, v in load_tiny_weights(qwen2_dir).items() if not k.startswith("visual.")}
    vis = vision_weights(Path(qwen25_dir) / "onnx" / "vision_encoder.onnx")
    if any(".mlp.fc1." in k for k in vis) or not any(".mlp.gate_proj." in k for k in vis):
        raise SystemExit(f"{qwen25_dir}: its vision_encoder.onnx is not a Qwen2.5-VL tower (no gated MLP)")
    out.update(vis)
    return out
