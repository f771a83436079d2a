"""Fast Qwen2-VL graphs for the app (see build.py); numpy + onnx only, so it runs anywhere."""

from .build import build
from .config import text_shape, vision_shape
from .onnx_weights import check_shapes, expected_shapes

__all__ = ["build", "check_shapes", "expected_shapes", "text_shape", "vision_shape"]
