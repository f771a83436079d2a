"""A small ONNX graph builder (onnx.helper underneath) that writes weights as it goes.

numpy + onnx only: no torch, no onnxruntime. Names are generated in build order, so building the
same graph twice gives byte-identical files. With external data, each weight is written to
NAME.onnx_data as soon as it is added (64-byte aligned, a new NAME.onnx_data_1, ... past
chunk_bytes), so a 7B checkpoint converts without holding its graphs in memory.
"""

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F32, F16, I64, BOOL, U8 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT64, TensorProto.BOOL, TensorProto.UINT8
I32 = TensorProto.INT32
NP_TO_ONNX = {np.dtype(np.float32): F32, np.dtype(np.float16): F16, np.dtype(np.int64): I64,
              np.dtype(np.int32): I32, np.dtype(np.uint8): U8, np.dtype(np.bool_): BOOL}
OPSET = 17
MS_DOMAIN = "com.microsoft"
# Chrome holds one ArrayBuffer of at most 0x7fe00000 bytes, and transformers.js fetches each
# external-data chunk into one: chunks stay under it (one weight over it cannot load in a browser).
CHUNK_BYTES = 2_000_000_000
EXTERNAL_MIN_BYTES = 1024


class Graph:
    def __init__(self, name: str, path: Path, external: bool, chunk_bytes: int = CHUNK_BYTES):
        self.name, self.path, self.external, self.chunk_bytes = name, path, external, chunk_bytes
        self.nodes: list = []
        self.inits: list = []
        self.inputs: list = []
        self.outputs: list = []
        self.n = 0
        self.uses_ms = False
        self.data_files: list[str] = []
        self._fh = None
        self._offset = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(path.name + "_data*"):
            old.unlink()

    def fresh(self, hint: str) -> str:
        self.n += 1
        return f"/{hint}_{self.n}"

    def input(self, name: str, elem, shape) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        return name

    def output(self, value: str, name: str, elem, shape) -> str:
        if value != name:
            self.op("Identity", [value], name=name)
        self.outputs.append(helper.make_tensor_value_info(name, elem, shape))
        return name

    def weight(self, name: str, array: np.ndarray, own_file: bool = False) -> str:
        """own_file (external data only): start a new data file for this weight, so that no file
        holds more than it (the embedding's row chunks: each file under the per-tensor limit)."""
        a = np.ascontiguousarray(array)
        if not self.external or a.nbytes < EXTERNAL_MIN_BYTES:
            self.inits.append(numpy_helper.from_array(a, name))
            return name
        if self._fh is None or (self._offset > 0 and (own_file or self._offset + a.nbytes > self.chunk_bytes)):
            if self._fh:
                self._fh.close()
            data = self.path.name + "_data" + ("" if not self.data_files else f"_{len(self.data_files)}")
            self.data_files.append(data)
            self._fh, self._offset = open(self.path.parent / data, "wb"), 0
        pad = (-self._offset) % 64
        self._fh.write(b"\0" * pad)
        self._offset += pad
        self._fh.write(a.tobytes())
        t = TensorProto(name=name, data_type=NP_TO_ONNX[a.dtype], dims=list(a.shape))
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.data_files[-1]), ("offset", str(self._offset)), ("length", str(a.nbytes))):
            e = t.external_data.add()
            e.key, e.value = k, v
        self._offset += a.nbytes
        self.inits.append(t)
        return name

    def const(self, value, dtype=np.int64) -> str:
        """A small constant (shapes, axes, scalars), always inline."""
        self.n += 1
        name = f"/const_{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list, n_out: int = 1, name: str | None = None, domain: str = "", **attrs):
        outs = [name] if name and n_out == 1 else [self.fresh(f"{op_type}_out{i}") for i in range(n_out)]
        if domain == MS_DOMAIN:
            self.uses_ms = True
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self.fresh(op_type), domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    def save(self) -> list[str]:
        """Write NAME.onnx (the data files are already written); returns the data file names."""
        if self._fh:
            self._fh.close()
            self._fh = None
        opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid(MS_DOMAIN, 1)] if self.uses_ms else [])
        g = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        m = helper.make_model(g, opset_imports=opsets, producer_name="seedbench-web scripts/export")
        m.ir_version = 8  # onnx 1.12's; read by onnxruntime 1.30 and onnxruntime-web 1.31
        data = m.SerializeToString()
        if len(data) >= 2**31:
            raise ValueError(f"{self.path.name}: {len(data)} bytes is over protobuf's 2 GB: use external data")
        self.path.write_bytes(data)
        return list(self.data_files)


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in [path, *path.parent.glob(path.name + "_data*")])
