"""4-bit block quantisation in onnxruntime's MatMulNBits layout, in numpy.

The public recipe (transformers.js scripts/quantize.py: onnxruntime's MatMul4BitsQuantizer, block
32, symmetric, no zero points): per block of 32 values along K of each output column, the value of
largest magnitude v gives scale = v / -8; q = clamp(round_half_away(x / scale + 8), 0, 15) with the
+8 added in float32 before rounding, as onnxruntime does; a K that is not a multiple of 32 is
padded with zero nibbles. Two values per byte, the first in the low nibble. B is [N, K/32, 16]
uint8, scales [N, K/32].

Checked byte for byte against onnxruntime 1.30's quantizer on all 26 matrices of the committed
tiny model's q4 graphs (test_q4.py), and against its CPU MatMulNBits kernel (scripts/q4-kernel.test.ts).
"""

import numpy as np

BLOCK = 32


def quantize(w: np.ndarray, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """w: [K, N] float32 (MatMul's B). Returns (packed [N, nb, block/2] uint8, scales [N, nb] float32)."""
    w = np.asarray(w, dtype=np.float32)
    k, n = w.shape
    nb = (k + block - 1) // block
    cols = np.zeros((n, nb * block), np.float32)
    cols[:, :k] = w.T
    blocks = cols.reshape(n, nb, block)
    pick = np.argmax(np.abs(blocks), axis=2)[..., None]
    vmax = np.take_along_axis(blocks, pick, axis=2)[..., 0]
    scale = (vmax / np.float32(-8)).astype(np.float32)
    inv = np.where(scale != 0, np.float32(1) / np.where(scale != 0, scale, np.float32(1)), np.float32(0))
    v = (blocks * inv.astype(np.float32)[..., None]).astype(np.float32) + np.float32(8)
    q = np.clip(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)), 0, 15).astype(np.uint8)
    q.reshape(n, -1)[:, k:] = 0
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    return packed, scale


def dequantize(packed: np.ndarray, scale: np.ndarray, k: int) -> np.ndarray:
    """The [K, N] float32 matrix MatMulNBits multiplies by (for checks)."""
    n, nb, half = packed.shape
    q = np.empty((n, nb, half * 2), np.float32)
    q[..., 0::2] = packed & 0x0F
    q[..., 1::2] = packed >> 4
    w = (q - 8) * scale[..., None]
    return w.reshape(n, -1)[:, :k].T.copy()
