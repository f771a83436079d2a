"""8-bit per-tensor quantisation as the reference q8 export does it (export_onnx.py quantize_q8:
onnxruntime's quantize_dynamic, weight_type QInt8, per_channel False, reduce_range False), in numpy.

- MatMul weights (`quantize_weight`): symmetric int8, range [-127, 127], zero point 0,
  scale = max|w| / 127 (float32); q = clip(round_half_even(w / scale), -127, 127).
- Gather weights (the embedding, `quantize_gather`): onnxruntime quantises them asymmetric uint8
  [0, 255] over [min(w, 0), max(w, 0)]: scale = (rmax - rmin) / 255, zero point round(-rmin / scale).

The activations are quantised at run time by DynamicQuantizeLinear (uint8, asymmetric, per tensor),
so a graph matches the reference only where each DynamicQuantizeLinear sees the same rows.
Checked byte for byte against the committed tiny model's *_quantized.onnx (test_export.py check_q8).
"""

import numpy as np


def quantize_weight(w: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """w: MatMul's B [K, N] float32. Returns (int8 [K, N], scale)."""
    w = np.asarray(w, dtype=np.float32)
    absmax = np.float32(max(abs(float(w.min())), abs(float(w.max()))))
    scale = np.float32(absmax / np.float32(127)) if absmax > 0 else np.float32(1)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


def quantize_gather(w: np.ndarray) -> tuple[np.ndarray, np.float32, np.uint8]:
    """w: a Gather's data [V, H] float32. Returns (uint8 [V, H], scale, zero point)."""
    w = np.asarray(w, dtype=np.float32)
    rmin = np.float32(min(float(w.min()), 0.0))
    rmax = np.float32(max(float(w.max()), 0.0))
    scale = np.float32((rmax - rmin) / np.float32(255)) if rmax > rmin else np.float32(1)
    zp = np.uint8(np.clip(np.rint(-rmin / scale), 0, 255))
    q = np.clip(np.rint(w / scale) + np.float32(zp), 0, 255).astype(np.uint8)
    return q, scale, zp
