"""Decoder graphs whose weights are graph inputs ("feed" variants), so that two sessions share one copy.

On WebGPU the app runs a decoder in two onnxruntime sessions: prefill (other shapes every question) and
the captured decode session (graph capture binds one set of shapes). onnxruntime uploads a session's
initializers into GPU buffers of its own, so each session held the decoder's weights: 0.97 GB twice for
the 2B q4 model (bench/gpu-h200-vision-whole.json `memory_ab`). A feed variant is the same graph with every weight that
lies in external data (or, for small models, in the source .onnx file itself: a8.py `external_refs`)
turned into a graph input of the same name, dtype and shape; the manifest lists where each weight's bytes
lie (`graphs.<dtype>.feed.weights`: file, offset, length), the app uploads each one once and feeds the
same GPU buffer to both sessions (src/model/fast/weights.ts). Initializers below a8.INLINE_SHARE_BYTES
(small constants) stay inline. The variant holds the graph only: a few kB for the tiny model.
"""

from pathlib import Path

import onnx
from onnx import helper
from onnx.external_data_helper import ExternalDataInfo

from .a8 import external_refs


def write_feed(src: Path, dst: Path) -> tuple[list[dict], int]:
    """Write dst: the graph src with its external weights as inputs (inline ones of a8.INLINE_SHARE_BYTES
    or more are first pointed into src itself; the a8 and step variants already refer to their source's
    bytes). Returns (the weights, as the manifest lists them: name, type (onnx's element type name, lower
    case), dims, file (relative to the graph's folder), offset, length; dst's node count)."""
    src, dst = Path(src), Path(dst)
    m = onnx.load(str(src), load_external_data=False)
    g = m.graph
    external_refs(src, g.initializer)
    weights, keep = [], []
    for t in g.initializer:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            keep.append(t)
            continue
        at = ExternalDataInfo(t)
        weights.append({"name": t.name, "type": onnx.TensorProto.DataType.Name(t.data_type).lower(),
                        "dims": [int(d) for d in t.dims], "file": at.location, "offset": int(at.offset),
                        "length": int(at.length)})
        g.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    if not weights:
        raise ValueError(f"{src}: no external weights to feed")
    del g.initializer[:]
    g.initializer.extend(keep)
    g.name = g.name + "_feed"
    onnx.save(m, str(dst))
    return weights, len(g.node)


def merge_weights(tables: list[list[dict]]) -> list[dict]:
    """One table for a dtype's feed graphs: a name the graphs share must name the same bytes."""
    out: dict[str, dict] = {}
    for table in tables:
        for w in table:
            seen = out.setdefault(w["name"], w)
            if seen != w:
                raise ValueError(f"feed: {w['name']} lies at {seen} in one graph and at {w} in another")
    return list(out.values())
