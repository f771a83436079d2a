"""Export a random-weight Qwen2-VL in the transformers.js / onnx-community layout.

    python3 scripts/export/export_onnx.py --size tiny --seed 0 --out models/tiny-random-qwen2-vl \
        --tokenizer-dir .device

Writes config.json, generation_config.json, preprocessor_config.json, tokenizer_config.json (the
Qwen2-VL chat template), a copy of tokenizer.json, and onnx/{embed_tokens,vision_encoder,
decoder_model_merged}{,_fp16,_quantized,_q4,_q4f16}.onnx.
"""

import argparse
import inspect
import json
import shutil
import tempfile
import time
from pathlib import Path

import onnx
import torch

from model_def import (BOS_TOKEN_ID, EOS_TOKEN_IDS, Decoder, EmbedTokens, VisionSlice, build_model,
                       decoder_io_names, mrope_section, text_dims)

OPSET = 17
SUFFIX = {"fp32": "", "fp16": "_fp16", "q8": "_quantized", "q4": "_q4", "q4f16": "_q4f16"}
GRAPHS = ("embed_tokens", "vision_encoder", "decoder_model_merged")
# Gather (embed_tokens) is untouched by 4-bit MatMul quantisation: its q4 files would equal fp32.
DEFAULT_DTYPES = {
    "embed_tokens": ["fp32", "q8"],
    "vision_encoder": ["fp32", "fp16", "q8", "q4", "q4f16"],
    "decoder_model_merged": ["fp32", "fp16", "q8", "q4", "q4f16"],
}

QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}"
    "<|im_end|>\n{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in "
    "content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] "
    "== 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}"
    "{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}{% if add_generation_prompt %}"
    "<|im_start|>assistant\n{% endif %}"
)
MIN_PIXELS, MAX_PIXELS = 56 * 56, 28 * 28 * 16384  # Qwen2-VL's own values; a 252x252 frame stays 252x252
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


CHUNK_BYTES = 2_000_000_000  # browsers cannot hold one ArrayBuffer much over 2 GB
EXTERNAL_CHUNKS: dict[str, int] = {}  # file name -> number of external data chunks (for config.json)


def save_model(model: onnx.ModelProto, path: Path, big: bool) -> None:
    """Small models: one self-contained file. Large ones: weights in chunks named as transformers.js
    expects (NAME.onnx_data, NAME.onnx_data_1, ...), each under CHUNK_BYTES."""
    if not big:
        onnx.save(model, str(path))
        return
    from onnx.external_data_helper import set_external_data

    for old in path.parent.glob(path.name + "_data*"):
        old.unlink()
    chunk, offset, handles = 0, 0, {}
    for t in model.graph.initializer:  # initializers only, as onnx's own converter does by default
        if not t.HasField("raw_data") or len(t.raw_data) < 1024:
            continue
        n = len(t.raw_data)
        if offset > 0 and offset + n > CHUNK_BYTES:
            chunk, offset = chunk + 1, 0
        name = path.name + "_data" + ("" if chunk == 0 else f"_{chunk}")
        fh = handles.get(name) or handles.setdefault(name, open(path.parent / name, "wb"))
        pad = (-offset) % 64
        fh.write(b"\0" * pad)
        offset += pad
        fh.write(t.raw_data)
        set_external_data(t, location=name, offset=offset, length=n)
        t.data_location = onnx.TensorProto.EXTERNAL
        t.ClearField("raw_data")
        offset += n
    for fh in handles.values():
        fh.close()
    onnx.save(model, str(path))
    EXTERNAL_CHUNKS[path.name] = len(handles)


def export_graph(module, args, path: Path, ins, outs, dyn, big: bool) -> None:
    t0 = time.time()
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        tmp_path = Path(tmp) / path.name
        with torch.no_grad():
            torch.onnx.export(module, args, str(tmp_path), dynamo=False, opset_version=OPSET, input_names=ins,
                              output_names=outs, dynamic_axes=dyn, do_constant_folding=True)
        # Re-save so that external data (models over 2 GB) lands in chunks beside the graph.
        save_model(onnx.load(str(tmp_path)), path, big)
    print(f"exported {path.name} in {time.time() - t0:.1f}s", flush=True)


def quantize_q8(src: Path, dst: Path, ops: list[str], big: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    if big:
        raise NotImplementedError("q8 of models over 2 GB is not wired to the chunked external data layout")

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=ops, per_channel=False,
                     reduce_range=False, use_external_data_format=big,
                     extra_options={"MatMulConstBOnly": True})  # never quantise activation x activation


def quantize_q4(src: Path, dst: Path, big: bool) -> None:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    kw = dict(block_size=32, is_symmetric=True)
    if "bits" in inspect.signature(MatMulNBitsQuantizer.__init__).parameters:
        kw["bits"] = 4
    q = MatMulNBitsQuantizer(onnx.load(str(src)), **kw)
    q.process()
    save_model(q.model.model, dst, big)


def to_fp16(src: Path, dst: Path, big: bool) -> None:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    m = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True, disable_shape_infer=big)
    save_model(m, dst, big)


def make_variants(onnx_dir: Path, name: str, dtypes: list[str], big: bool) -> None:
    fp32 = onnx_dir / f"{name}.onnx"
    for dt in dtypes:
        if dt == "fp32" or (name == "embed_tokens" and dt in ("q4", "q4f16")):
            continue  # 4-bit MatMul quantisation leaves Gather alone: those files would equal fp32/fp16
        dst = onnx_dir / f"{name}{SUFFIX[dt]}.onnx"
        t0 = time.time()
        try:
            if dt == "q8":
                quantize_q8(fp32, dst, ["Gather"] if name == "embed_tokens" else ["MatMul"], big)
            elif dt == "q4":
                quantize_q4(fp32, dst, big)
            elif dt == "fp16":
                to_fp16(fp32, dst, big)
            elif dt == "q4f16":
                q4 = onnx_dir / f"{name}_q4.onnx"
                if not q4.exists():
                    quantize_q4(fp32, q4, big)
                to_fp16(q4, dst, big)
            print(f"  {dst.name}: {time.time() - t0:.1f}s", flush=True)
        except Exception as e:  # report and go on: one failed variant must not lose the others
            print(f"  FAILED {dst.name}: {e!r}", flush=True)
            if dst.exists():
                dst.unlink()


def write_configs(model, out: Path, tokenizer_dir: Path, size: str, seed: int,
                  architecture: str = "Qwen2VLForConditionalGeneration", model_type: str = "qwen2_vl",
                  processor_class: str = "Qwen2VLProcessor", comment: str | None = None) -> None:
    cfg = model.config.to_dict()
    tc = cfg["text_config"]
    d = text_dims(model)
    # transformers.js reads the text fields at the top level (transformers 5 nests them).
    for k in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "rms_norm_eps", "max_position_embeddings", "hidden_act", "bos_token_id"):
        cfg[k] = tc[k]
    cfg.update(head_dim=d["head_dim"], rope_theta=1000000.0, eos_token_id=EOS_TOKEN_IDS[0],
               rope_scaling={"type": "mrope", "mrope_section": mrope_section(model)}, tie_word_embeddings=True,
               architectures=[architecture], model_type=model_type, torch_dtype="float32")
    cfg["_comment"] = comment or f"Random weights (size {size}, seed {seed}) made by scripts/export/export_onnx.py; not a trained model."
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    gen = {"bos_token_id": BOS_TOKEN_ID, "pad_token_id": BOS_TOKEN_ID, "do_sample": True, "eos_token_id": EOS_TOKEN_IDS,
           "repetition_penalty": 1.05, "top_k": 1, "top_p": 0.001}
    (out / "generation_config.json").write_text(json.dumps(gen, indent=2))
    pre = {"processor_class": processor_class, "image_processor_type": "Qwen2VLImageProcessor",
           "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
           "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "rescale_factor": 1 / 255, "resample": 3,
           "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS,
           "size": {"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS},
           "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2}
    (out / "preprocessor_config.json").write_text(json.dumps(pre, indent=2))
    tok_cfg = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    tok_cfg.update(chat_template=QWEN2_VL_CHAT_TEMPLATE, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                   model_max_length=32768, tokenizer_class="Qwen2Tokenizer")
    (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2, ensure_ascii=False))
    shutil.copy(tokenizer_dir / "tokenizer.json", out / "tokenizer.json")


def export_all(size: str, seed: int, out: Path, tokenizer_dir: Path, dtypes=None) -> "torch.nn.Module":
    dtypes = dtypes or DEFAULT_DTYPES
    big = size != "tiny"
    onnx_dir = out / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    torch.manual_seed(seed)
    model = build_model(size, seed)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"built {size} model ({n_params / 1e6:.2f} M parameters) in {time.time() - t0:.1f}s", flush=True)
    write_configs(model, out, tokenizer_dir, size, seed)
    d = text_dims(model)
    hidden = d["hidden"]

    ids = torch.tensor([[BOS_TOKEN_ID, 9707, 11, 1879, 0]], dtype=torch.int64)
    export_graph(EmbedTokens(model), (ids,), onnx_dir / "embed_tokens.onnx", ["input_ids"], ["inputs_embeds"],
                 {"input_ids": {0: "batch_size", 1: "sequence_length"},
                  "inputs_embeds": {0: "batch_size", 1: "sequence_length"}}, big)

    # Example slice: grid 1 x 4 x 6 (h != w so that a row/column mix-up cannot trace by accident).
    pv = torch.randn(24, 1176)
    grid = torch.tensor([[1, 4, 6]], dtype=torch.int64)
    export_graph(VisionSlice(model), (pv, grid), onnx_dir / "vision_encoder.onnx", ["pixel_values", "grid_thw"],
                 ["image_features"], {"pixel_values": {0: "num_patches"}, "image_features": {0: "num_features"}}, big)

    ins, outs, dyn = decoder_io_names(d["layers"])
    s = 5
    past = []
    for _ in range(d["layers"]):  # traced once with a zero-length past: the graph serves prefill and decode
        past += [torch.zeros(1, d["kv_heads"], 0, d["head_dim"]), torch.zeros(1, d["kv_heads"], 0, d["head_dim"])]
    args = (torch.randn(1, s, hidden), torch.ones(1, s, dtype=torch.int64),
            torch.arange(s, dtype=torch.int64).view(1, 1, s).expand(3, 1, s).contiguous(),
            torch.tensor(0, dtype=torch.int64), *past)
    export_graph(Decoder(model), args, onnx_dir / "decoder_model_merged.onnx", ins, outs, dyn, big)

    for name in GRAPHS:
        want = dtypes.get(name, ["fp32"])
        if name == "embed_tokens" and "q4f16" in want and "fp16" not in want:
            want = want + ["fp16"]  # the half-precision embedding that goes with q4f16
        make_variants(onnx_dir, name, want, big)
    if EXTERNAL_CHUNKS:  # tell transformers.js which files have external data, and in how many chunks
        cfg = json.loads((out / "config.json").read_text())
        cfg["transformers.js_config"] = {"use_external_data_format": dict(sorted(EXTERNAL_CHUNKS.items()))}
        (out / "config.json").write_text(json.dumps(cfg, indent=2))
    return model


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", choices=["tiny", "2b"], default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokenizer-dir", default=".device")
    ap.add_argument("--dtypes", default=None, help="e.g. 'fp32,q4' for every graph (default: all)")
    args = ap.parse_args()
    dtypes = {g: args.dtypes.split(",") for g in GRAPHS} if args.dtypes else None
    t0 = time.time()
    export_all(args.size, args.seed, Path(args.out), Path(args.tokenizer_dir), dtypes)
    print(f"export done in {time.time() - t0:.1f}s", flush=True)
    for f in sorted(Path(args.out).rglob("*")):
        if f.is_file():
            print(f"{f.stat().st_size:>14,d}  {f.relative_to(args.out)}")


if __name__ == "__main__":
    main()
