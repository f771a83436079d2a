"""q4 graphs with int8 activations ("a8"): the same graph, every MatMulNBits with accuracy_level 4.

onnxruntime then quantises each MatMulNBits input to int8 at run time and multiplies with integer dot
products: on WebGPU the DP4A kernels (adapters with `subgroups`; K % 128 == 0, N % 16 == 0; the input is
quantised per 128 values, scale max|x| / 127), on the CPU MLAS's int8 path. It is what onnxruntime-genai's
model builder writes for fp32-activation int4 models (`int4_accuracy_level=4`). The weights are the q4
graph's own bytes: the variant holds the graph only and refers to the q4 graph's external data, or, for
weights the q4 graph holds inline, to their bytes inside the q4 .onnx file itself (so a small model's
variant is a few kB)."""

from pathlib import Path

import onnx

from .graph import _set_external

ACCURACY_LEVEL = 4
INLINE_SHARE_BYTES = 1024  # smaller initializers stay inline (constants, norms)


def external_refs(src: Path, initializers) -> list[str]:
    """Point a variant's initializers at bytes that already lie on disk: external ones keep their file,
    inline ones of INLINE_SHARE_BYTES or more are pointed into src itself. Returns the files, in load order."""
    blob = src.read_bytes()
    files: list[str] = []
    for t in initializers:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            loc = next(e.value for e in t.external_data if e.key == "location")
        elif t.HasField("raw_data") and len(t.raw_data) >= INLINE_SHARE_BYTES:
            raw = t.raw_data
            at = blob.find(raw)
            if at < 0:  # protobuf stores raw_data verbatim, so this cannot happen for a file onnx wrote
                raise ValueError(f"{src}: the bytes of {t.name} are not in the file")
            _set_external(t, src.name, at, len(raw))
            loc = src.name
        else:
            continue
        if loc not in files:
            files.append(loc)
    return files


def write_a8(src: Path, dst: Path) -> tuple[list[str], int]:
    """Write dst: src with accuracy_level 4 on every MatMulNBits. Returns (the external-data files dst needs,
    in load order; its node count)."""
    src, dst = Path(src), Path(dst)
    m = onnx.load(str(src), load_external_data=False)
    files = external_refs(src, m.graph.initializer)
    changed = 0
    for n in m.graph.node:
        if n.op_type == "MatMulNBits" and n.domain == "com.microsoft":
            keep = [a for a in n.attribute if a.name != "accuracy_level"]
            del n.attribute[:]
            n.attribute.extend(keep)
            n.attribute.append(onnx.helper.make_attribute("accuracy_level", ACCURACY_LEVEL))
            changed += 1
    if not changed:
        raise ValueError(f"{src}: no MatMulNBits to give int8 activations")
    m.graph.name = m.graph.name + "_a8"
    onnx.save(m, str(dst))
    return files, len(m.graph.node)
