"""A small ONNX graph writer: nodes, initializers (inline, in external-data chunks, or pointing at bytes
already on disk in another file), inputs and outputs. numpy + onnx only (no torch, no onnxruntime)."""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17  # the default domain; com.microsoft contrib ops are opset 1
MS = "com.microsoft"
CHUNK_BYTES = 1_900_000_000  # one external-data file stays below what a browser can hold in one ArrayBuffer
INLINE_LIMIT = 64 * 1024 * 1024  # graphs whose weights are smaller keep them inline (one file)

DTYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int64): TensorProto.INT64,
          np.dtype(np.int32): TensorProto.INT32, np.dtype(np.uint8): TensorProto.UINT8,
          np.dtype(np.int8): TensorProto.INT8}


@dataclass
class Shared:
    """An initializer whose bytes already lie in `location` (relative to the graph) at `offset`."""
    location: str
    offset: int
    length: int


@dataclass
class Graph:
    name: str
    nodes: list = field(default_factory=list)
    inits: dict = field(default_factory=dict)  # name -> np.ndarray
    shared: dict = field(default_factory=dict)  # name -> (np.ndarray, Shared)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    renames: dict = field(default_factory=dict)
    _n: int = 0

    def uid(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def init(self, name: str, value) -> str:
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        if name in self.inits:
            if not np.array_equal(self.inits[name], arr):
                raise ValueError(f"{self.name}: initializer {name} defined twice with different values")
            return name
        self.inits[name] = np.array(arr, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        return name

    def const(self, value, dtype=np.int64) -> str:
        arr = np.asarray(value, dtype=dtype)
        return self.init(f"const_{arr.dtype}_{'_'.join(str(x) for x in arr.reshape(-1).tolist()) or 'empty'}"
                         f"_r{arr.ndim}", arr)

    def share(self, name: str, value: np.ndarray, where: Shared) -> str:
        self.shared[name] = (np.ascontiguousarray(value), where)
        return name

    def node(self, op: str, inputs, outputs=1, domain: str = "", name: str | None = None, **attrs):
        name = name or self.uid(op)
        outs = [f"{name}/out{i}" for i in range(outputs)] if isinstance(outputs, int) else list(outputs)
        self.nodes.append(helper.make_node(op, list(inputs), outs, name=name, domain=domain, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def input(self, name: str, elem, shape) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        return name

    def output(self, name: str, elem, shape, source: str) -> None:
        """Declare `source` (a node's output) a graph output named `name`: renamed in place, no Identity
        node (an Identity would copy, and break the KV buffers that present_* share with past_*)."""
        if source in self.renames or any(o.name == name for o in self.outputs):
            raise ValueError(f"{self.name}: output {name} declared twice")
        self.renames[source] = name
        self.outputs.append(helper.make_tensor_value_info(name, elem, shape))

    def weight_bytes(self) -> int:
        return sum(a.nbytes for a in self.inits.values())

    def save(self, path: Path) -> list[str]:
        """Write the graph; returns the files it needs beside itself (external data), in load order."""
        path = Path(path)
        big = self.weight_bytes() > INLINE_LIMIT
        tensors, files = [], []
        chunk, offset, handle = -1, 0, None

        def next_chunk():
            nonlocal chunk, offset, handle
            if handle:
                handle.close()
            chunk += 1
            offset = 0
            name = path.name + "_data" + ("" if chunk == 0 else f"_{chunk}")
            files.append(name)
            handle = open(path.parent / name, "wb")
            return name

        for old in path.parent.glob(path.name + "_data*"):
            old.unlink()
        location = None
        written: dict[bytes, tuple[str, int]] = {}  # identical bytes (e.g. a tied q4 embedding) stored once
        for name, arr in self.inits.items():
            if big and arr.nbytes >= 4096:
                t = TensorProto(name=name, data_type=DTYPES[arr.dtype], dims=list(arr.shape))
                raw = arr.tobytes()
                key = hashlib.sha256(raw).digest()
                if key not in written:
                    if location is None or offset + arr.nbytes > CHUNK_BYTES:
                        location = next_chunk()
                    pad = (-offset) % 64
                    handle.write(b"\0" * pad)
                    offset += pad
                    handle.write(raw)
                    written[key] = (location, offset)
                    offset += arr.nbytes
                _set_external(t, written[key][0], written[key][1], arr.nbytes)
            else:
                t = numpy_helper.from_array(arr, name)
            tensors.append(t)
        if handle:
            handle.close()
        for name, (arr, where) in self.shared.items():
            t = TensorProto(name=name, data_type=DTYPES[arr.dtype], dims=list(arr.shape))
            _set_external(t, where.location, where.offset, where.length)
            tensors.append(t)
            if where.location not in files:
                files.append(where.location)
        for n in self.nodes:
            for seq in (n.input, n.output):
                for j, v in enumerate(seq):
                    if v in self.renames:
                        seq[j] = self.renames[v]
        g = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, initializer=tensors)
        model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)],
                                  producer_name="seedbench-web scripts/export/fast")
        model.ir_version = 8
        onnx.save(model, str(path))
        return files


def _set_external(t: TensorProto, location: str, offset: int, length: int) -> None:
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v


def find_shared(file: Path, value: np.ndarray) -> Shared:
    """Where the raw bytes of `value` lie in an existing file (e.g. the initializer of another graph)."""
    data = Path(file).read_bytes()
    raw = np.ascontiguousarray(value).tobytes()
    at = data.find(raw)
    if at < 0:
        raise ValueError(f"{file}: does not contain the bytes of the weight to share")
    if data.find(raw, at + 1) >= 0:
        raise ValueError(f"{file}: the weight's bytes occur twice; refusing an ambiguous share")
    return Shared(Path(file).name, at, len(raw))
