"""A copy of a fast decoder graph with one more output computed by GatherBlockQuantized, the op the fast
q4 graphs of real models (hidden % 32 == 0) look up their embedding with and the app's wasm build of
onnxruntime-web has no kernel for. The tiny model's hidden size (16) never gets one, so e2e/fast.spec.ts
serves this copy to prove the load on wasm falls back to the reference graphs.
    python3 scripts/export/fast/with_kernel_probe.py IN.onnx OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

src, dst = sys.argv[1], sys.argv[2]
model = onnx.load(src, load_external_data=False)  # the external data stays where the app serves it
g = model.graph
g.initializer.extend([
    numpy_helper.from_array(np.zeros((4, 16), np.uint8), "probe_q4"),  # 4 rows of 32 4-bit values
    numpy_helper.from_array(np.ones((4, 1), np.float32), "probe_scales"),
    numpy_helper.from_array(np.zeros((1,), np.int32), "probe_ids"),
])
g.node.append(helper.make_node("GatherBlockQuantized", ["probe_q4", "probe_ids", "probe_scales"], ["probe"],
                               domain="com.microsoft", name="probe", block_size=32, gather_axis=0,
                               quantize_axis=1, bits=4))
g.output.append(helper.make_tensor_value_info("probe", TensorProto.FLOAT, [1, 32]))
onnx.save(model, dst)
