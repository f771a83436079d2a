"""Run transformers' own Qwen2.5-VL modeling file without the transformers package (no PyPI here).

    shim_root = build_shim(Path("/path/with/modeling_qwen2_5_vl.py+configuration_qwen2_5_vl.py"), tmp)
    sys.path.insert(0, str(shim_root))
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VLForConditionalGeneration

Used by reference_qwen25_local.py with transformers 4.50.0's two files (Apache-2.0, read from a
public source tree at run time, never committed). The two files are copied UNCHANGED into a
package `transformers.models.qwen2_5_vl`; what they import from the rest of transformers is
replaced by the stand-ins below. Each is either inert for an fp32, eager-attention, no-cache
forward on CPU (docstring decorators, flash-attention probes, cache and generation classes only
used with use_cache=True, the SDPA mask helper), or a plain container (PretrainedConfig: keyword
arguments as attributes; PreTrainedModel: nn.Module holding its config, with its parameters'
dtype and device). Two compute something:
ACT2FN (SiLU and GELU as torch.nn modules, what transformers maps those names to) and the
'default' RoPE init (inverse frequencies 1 / theta^(2i/d), attention scaling 1, as transformers'
_compute_default_rope_parameters).
"""

import shutil
from pathlib import Path

SHIMS = {
    "__init__.py": "",
    "models/__init__.py": "",
    "models/qwen2_5_vl/__init__.py": "",
    "activations.py": '''
from torch import nn


class _Act(dict):
    def __getitem__(self, key):
        return dict.__getitem__(self, key)()


ACT2FN = _Act(silu=nn.SiLU, gelu=nn.GELU, swish=nn.SiLU)
''',
    "cache_utils.py": '''
class Cache:  # only used with use_cache=True
    pass


class DynamicCache(Cache):
    pass


class SlidingWindowCache(Cache):
    pass


class StaticCache(Cache):
    pass
''',
    "generation/__init__.py": '''
class GenerationMixin:  # generate() is not used: greedy decoding is a loop of full forwards
    pass
''',
    "modeling_attn_mask_utils.py": '''
class AttentionMaskConverter:  # only the SDPA path calls it; the shim runs eager attention
    @staticmethod
    def _ignore_causal_mask_sdpa(*a, **k):
        raise NotImplementedError("SDPA mask path: the shim runs eager attention")

    @staticmethod
    def _unmask_unattended(*a, **k):
        raise NotImplementedError("SDPA mask path: the shim runs eager attention")
''',
    "modeling_outputs.py": '''
from dataclasses import dataclass
from typing import Any, Optional


class ModelOutput:
    pass


@dataclass
class BaseModelOutputWithPast(ModelOutput):
    last_hidden_state: Any = None
    past_key_values: Optional[Any] = None
    hidden_states: Optional[Any] = None
    attentions: Optional[Any] = None
''',
    "modeling_rope_utils.py": '''
import torch


def _default(config, device=None, seq_len=None, **kwargs):
    base = config.rope_theta
    factor = getattr(config, "partial_rotary_factor", 1.0)
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    dim = int(head_dim * factor)
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float().to(device) / dim))
    return inv_freq, 1.0


ROPE_INIT_FUNCTIONS = {"default": _default}


def rope_config_validation(config, ignore_keys=None):
    return None
''',
    "modeling_utils.py": '''
from torch import nn


class PreTrainedModel(nn.Module):
    def __init__(self, config, *args, **kwargs):
        super().__init__()
        self.config = config

    def post_init(self):
        return None

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    @property
    def device(self):
        return next(self.parameters()).device

    @classmethod
    def _from_config(cls, config, **kwargs):
        return cls(config)
''',
    "configuration_utils.py": '''
class PretrainedConfig:
    def __init__(self, **kwargs):
        self.output_attentions = False
        self.output_hidden_states = False
        self.use_return_dict = False
        self.pad_token_id = None
        self._attn_implementation = "eager"
        for k, v in kwargs.items():
            setattr(self, k, v)
''',
    "utils/__init__.py": '''
import logging as _logging


def _identity_decorator(*args, **kwargs):
    def wrap(fn):
        return fn
    return wrap


add_start_docstrings = _identity_decorator
add_start_docstrings_to_model_forward = _identity_decorator
replace_return_docstrings = _identity_decorator


def is_flash_attn_2_available():
    return False


def is_flash_attn_greater_or_equal_2_10():
    return False


class _Logger:
    def __init__(self, name):
        self._l = _logging.getLogger(name)

    def warning_once(self, *a, **k):
        self._l.warning(*a)

    def __getattr__(self, name):
        return getattr(self._l, name)


class logging:  # noqa: N801 (transformers.utils.logging's interface)
    @staticmethod
    def get_logger(name):
        return _Logger(name)
''',
}
FILES = ("modeling_qwen2_5_vl.py", "configuration_qwen2_5_vl.py")


def build_shim(hf_dir: Path, root: Path) -> Path:
    """Writes the shim package under root/transformers and copies the two files in unchanged."""
    pkg = root / "transformers"
    for rel, text in SHIMS.items():
        p = pkg / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text.lstrip("\n"))
    for f in FILES:
        shutil.copy(hf_dir / f, pkg / "models" / "qwen2_5_vl" / f)
    return root
