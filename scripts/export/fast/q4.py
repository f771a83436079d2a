"""4-bit block quantisation in onnxruntime's MatMulNBits layout (com.microsoft.MatMulNBits, bits=4).

MatMulNBits computes Y = X @ W with W [K, N] stored transposed and block-wise: B [N, n_blocks, block/2]
uint8 (two 4-bit values a byte, the lower K index in the low nibble), scales [N, n_blocks] float32 and,
symmetric, no zero points (the op's default zero point is 8). Dequantised: W[k, n] = (q - 8) * scale.

Symmetric like onnxruntime's MatMulNBitsQuantizer(is_symmetric=True) (its MLAS kernel): per block, the
value of largest magnitude m (sign kept) gives scale = m / -8, q = clip(rint(w * (1 / scale) + 8), 0, 15) in float32;
K is padded up to a whole block and the padding's bytes are 0. Checked byte for byte against the
quantizer's output committed in models/tiny-random-qwen2-vl/onnx/*_q4.onnx (see check_against_onnx).
"""

import numpy as np

BLOCK = 32


def quantize(weight_nk: np.ndarray, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """A Linear weight [N_out, K_in] (PyTorch's layout) -> (B [N, n_blocks, block/2] uint8, scales [N, n_blocks])."""
    w = np.asarray(weight_nk, dtype=np.float32)
    if w.ndim != 2:
        raise ValueError(f"q4: expected a 2-D weight, got shape {w.shape}")
    n, k = w.shape
    nb = (k + block - 1) // block
    padded = np.zeros((n, nb * block), np.float32)
    padded[:, :k] = w
    b = padded.reshape(n, nb, block)
    hi, lo = b.max(-1), b.min(-1)
    m = np.where(np.abs(hi) > np.abs(lo), hi, lo)
    scale = (m / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(scale != 0, np.float32(1) / scale, np.float32(0)).astype(np.float32)
    # The zero point is added before rounding, in float32, as MLAS does (it decides rare ties).
    q = np.clip(np.rint(b * inv[..., None] + np.float32(8)), 0, 15).astype(np.uint8)
    packed = (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)
    # The quantizer leaves the bytes of the K padding at 0 (not 0x88): keep its bytes exactly.
    flat = packed.reshape(n, nb * block // 2)
    flat[:, (k + 1) // 2:] = 0
    return flat.reshape(n, nb, block // 2), scale


def dequantize(packed: np.ndarray, scales: np.ndarray, k: int) -> np.ndarray:
    """(B, scales) -> the Linear weight [N, K] the op multiplies with (tests and reference runs)."""
    n, nb, half = packed.shape
    q = np.empty((n, nb, half * 2), np.float32)
    q[..., 0::2] = packed & 0x0F
    q[..., 1::2] = packed >> 4
    w = (q - 8) * scales[..., None]
    return w.reshape(n, nb * half * 2)[:, :k]


def check_against_onnx(fp32_path, q4_path) -> int:
    """Quantise every MatMul weight of an fp32 graph and compare with the MatMulNBitsQuantizer's q4 graph.
    Returns the number of weights compared; raises on the first mismatch."""
    import onnx
    from onnx import numpy_helper

    fp = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(fp32_path)).graph.initializer}
    q = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(q4_path)).graph.initializer}
    count = 0
    for name, w in fp.items():
        if name + "_Q4" not in q:
            continue
        packed, scales = quantize(w.T)  # MatMul weights are [K, N]
        if not np.array_equal(packed, q[name + "_Q4"]) or not np.array_equal(scales, q[name + "_scales"].reshape(scales.shape)):
            raise AssertionError(f"q4 packing differs from onnxruntime's quantizer for {name} in {q4_path}")
        count += 1
    return count
