"""One-op graphs for npm run bench:cpu's kernel phase (scripts/bench-cpu/kernels.ts): the same [1, K] x [K, N]
product as fp32 MatMul, 4-bit MatMulNBits (block 32, scripts/export/q4.py: the fast q4 graphs' format) and
8-bit DynamicQuantizeLinear + MatMulInteger (the reference q8 exports' pattern), at Qwen2-VL-2B's gate_proj
shape (K 1536, N 8960) and the tiny model's lm_head shape (K 16, N 151936); and one GatherBlockQuantized
lookup (the 2B q4 embedding's op).

    /usr/bin/python3 scripts/bench-cpu/kernels.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto as TP, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "export"))
import q4  # noqa: E402

SHAPES = {"2b_gate": (1536, 8960), "tiny_lm_head": (16, 151936)}


def save(out: Path, name: str, nodes, inputs, inits, opset=17) -> None:
    g = helper.make_graph(nodes, name, inputs, [helper.make_tensor_value_info("y", TP.FLOAT, None)],
                          initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 8
    onnx.save(m, str(out / f"{name}.onnx"))


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for shape, (k, n) in SHAPES.items():
        x = [helper.make_tensor_value_info("x", TP.FLOAT, [1, k])]
        w = (rng.standard_normal((k, n), dtype=np.float32) * k ** -0.5).astype(np.float32)
        save(out, f"{shape}_fp32", [helper.make_node("MatMul", ["x", "w"], ["y"])], x, {"w": w})
        packed, scales = q4.quantize(w)
        save(out, f"{shape}_q4", [helper.make_node("MatMulNBits", ["x", "w", "s"], ["y"], domain="com.microsoft", K=k, N=n,
                                                    bits=4, block_size=q4.BLOCK)], x, {"w": packed, "s": scales})
        ws = np.float32(np.abs(w).max() / 127)
        wq = np.clip(np.round(w / ws), -127, 127).astype(np.int8)
        save(out, f"{shape}_q8", [
            helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"]),
            helper.make_node("MatMulInteger", ["xq", "wq", "xz", "wz"], ["yi"]),
            helper.make_node("Cast", ["yi"], ["yf"], to=TP.FLOAT),
            helper.make_node("Mul", ["xs", "ws"], ["s"]),
            helper.make_node("Mul", ["yf", "s"], ["y"])], x,
            {"wq": wq, "wz": np.array(0, np.int8), "ws": np.array(ws, np.float32)})
    v, h = 4096, 1536
    packed, scales = q4.quantize(rng.standard_normal((h, v), dtype=np.float32))
    save(out, "embed_gbq", [helper.make_node("GatherBlockQuantized", ["data", "ids", "scales"], ["y"], domain="com.microsoft",
                                             bits=4, block_size=q4.BLOCK, gather_axis=0, quantize_axis=1)],
         [helper.make_tensor_value_info("ids", TP.INT32, [1, 1])], {"data": packed.reshape(v, h // 2), "scales": scales})


if __name__ == "__main__":
    main()
