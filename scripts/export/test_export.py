"""Checks of the numpy + onnx exporter that need no torch (run by scripts/export.test.ts).

    python3 scripts/export/test_export.py OUT_DIR

1. q4.quantize gives onnxruntime 1.30's MatMulNBitsQuantizer bytes (packed weights and scales) on
   all 26 matrices of the committed tiny model's q4 graphs; q8.py gives quantize_dynamic's bytes
   (int8 weights, scales, zero points; the embedding's uint8 Gather data) of its *_quantized graphs.
2. The safetensors reader reads BF16, F16 and F32 exactly, sharded (index.json) or not, under
   transformers 5 names (model.language_model.*, model.visual.*) as well as 4's.
3. A checkpoint folder of the tiny model's weights (sharded, transformers 5 names) converts to the
   same fp32 graph bytes as the twin built from the committed ONNX (the two routes agree).
4. The tiny Qwen2.5-VL as a checkpoint (transformers 4 and 5 names) converts to the same graphs,
   its text graphs byte-identical to the Qwen2-VL route's, its vision graph in Qwen2.5-VL's
   interface (run against the committed one by scripts/export.test.ts), its configs Qwen2.5-VL's.
5. Writes OUT_DIR/kernel/{nbits,dense}.onnx: one MatMulNBits from q4.quantize and the MatMul of its
   dequantized weights, for the onnxruntime kernel check in scripts/export.test.ts.
6. The tiny embedding written as row chunks (a per-tensor limit forced small): each chunk one
   initializer under the limit in its own data file, the graph's interface byte-equal to the whole
   table's, convert() listing the chunks in config.json; writes OUT_DIR/embed/ (whole + chunked
   graphs per variant, cases.json) for scripts/export.test.ts to run both in onnxruntime.
Prints one line per check; exits 1 on the first failure.
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import q4  # noqa: E402
import q8  # noqa: E402
from checkpoint import SafetensorsWeights, shapes_from_config, write_safetensors  # noqa: E402
from convert import convert  # noqa: E402
from hub_graphs import build_embed, embed_row_spans  # noqa: E402
from onnx_build import F32, MS_DOMAIN  # noqa: E402
from tiny_weights import load_tiny_weights  # noqa: E402

TINY = ROOT / "models" / "tiny-random-qwen2-vl"


def fail(msg: str) -> None:
    print(f"FAIL {msg}")
    sys.exit(1)


def check_q4() -> None:
    n = 0
    for graph in ("decoder_model_merged", "vision_encoder"):
        fp32 = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(TINY / "onnx" / f"{graph}.onnx")).graph.initializer}
        quant = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(TINY / "onnx" / f"{graph}_q4.onnx")).graph.initializer}
        for name, w in fp32.items():
            if name + "_Q4" not in quant:
                continue
            packed, scales = q4.quantize(w)
            if not np.array_equal(packed, quant[name + "_Q4"]):
                fail(f"q4: {graph} {name}: {(packed != quant[name + '_Q4']).sum()} bytes differ from onnxruntime's")
            if not np.array_equal(scales.reshape(quant[name + "_scales"].shape), quant[name + "_scales"]):
                fail(f"q4: {graph} {name}: scales differ from onnxruntime's")
            back = q4.dequantize(packed, scales, w.shape[0])
            # Half a step, or one at the clipped end (the range is -8..7 steps, the largest maps to -8).
            if np.abs(back - w).max() > np.abs(scales).max() * 1.0001:
                fail(f"q4: {graph} {name}: dequantized error over one step")
            n += 1
    if n != 26:
        fail(f"q4: compared {n} matrices, expected 26")
    print(f"ok q4: {n} matrices byte-identical to onnxruntime's MatMulNBitsQuantizer (block 32, symmetric)")


def check_q8() -> None:
    """q8.py gives quantize_dynamic's bytes: every MatMul weight of the committed *_quantized.onnx graphs
    (int8, scale, zero point 0) and the embedding's uint8 Gather data, scale and zero point."""
    n = 0
    for graph in ("decoder_model_merged", "vision_encoder"):
        fp32 = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(TINY / "onnx" / f"{graph}.onnx")).graph.initializer}
        quant = {t.name: numpy_helper.to_array(t)
                 for t in onnx.load(str(TINY / "onnx" / f"{graph}_quantized.onnx")).graph.initializer}
        for name, w in fp32.items():
            if name + "_quantized" not in quant:
                continue
            q, scale = q8.quantize_weight(w)
            ref = quant[name + "_quantized"]
            if ref.dtype != np.int8 or not np.array_equal(q, ref):
                fail(f"q8: {graph} {name}: {(q != ref).sum()} bytes differ from onnxruntime's quantize_dynamic")
            if scale.tobytes() != quant[name + "_scale"].tobytes() or quant[name + "_zero_point"] != 0:
                fail(f"q8: {graph} {name}: scale / zero point differ from onnxruntime's")
            n += 1
    if n != 26:
        fail(f"q8: compared {n} matrices, expected 26")
    embed = numpy_helper.to_array(onnx.load(str(TINY / "onnx" / "embed_tokens.onnx")).graph.initializer[0])
    ref = {t.name: numpy_helper.to_array(t)
           for t in onnx.load(str(TINY / "onnx" / "embed_tokens_quantized.onnx")).graph.initializer}
    q, scale, zp = q8.quantize_gather(embed)
    if (ref["embed.weight_quantized"].dtype != np.uint8 or not np.array_equal(q, ref["embed.weight_quantized"])
            or scale.tobytes() != ref["embed.weight_scale"].tobytes() or zp != ref["embed.weight_zero_point"]):
        fail("q8: the embedding's uint8 Gather data / scale / zero point differ from onnxruntime's")
    print(f"ok q8: {n} matrices and the embedding byte-identical to onnxruntime's quantize_dynamic (int8 / uint8)")


def check_safetensors(tmp: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 7)).astype(np.float32)
    bf = ((x.view(np.uint32) >> 16) << 16).view(np.float32)  # exactly representable in bf16
    for dtype, want in (("BF16", bf), ("F16", x.astype(np.float16).astype(np.float32)), ("F32", x)):
        d = tmp / f"st-{dtype}"
        d.mkdir(parents=True, exist_ok=True)
        write_safetensors(d / "model.safetensors", {"model.language_model.norm.weight": want}, dtype)
        got = SafetensorsWeights(d)["model.norm.weight"]
        if got.dtype != np.float32 or not np.array_equal(got, want):
            fail(f"safetensors: {dtype} read back differently")
    print("ok safetensors: BF16, F16, F32 exact; transformers 5 names mapped to canonical ones")


def check_checkpoint_route(tmp: Path) -> None:
    weights = load_tiny_weights(TINY)
    ckpt = tmp / "tiny-checkpoint"
    ckpt.mkdir(parents=True, exist_ok=True)
    renamed = {("model.language_model." + k[6:] if k.startswith("model.") else "model." + k): v for k, v in weights.items()}
    names = sorted(renamed)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    for f, keys in shards.items():
        write_safetensors(ckpt / f, {k: renamed[k] for k in keys}, "F32")
    index = {"metadata": {}, "weight_map": {k: f for f, keys in shards.items() for k in keys}}
    (ckpt / "model.safetensors.index.json").write_text(json.dumps(index))
    cfg = json.loads((TINY / "config.json").read_text())
    (ckpt / "config.json").write_text(json.dumps(cfg))
    for f in ("generation_config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"):
        (ckpt / f).write_bytes((TINY / f).read_bytes())
    a, b = tmp / "from-checkpoint", tmp / "from-onnx"
    convert(ckpt, a, ["fp32", "q4"], "float32", "public")
    convert(TINY, b, ["fp32", "q4"], "float32", "public", weights=weights, cfg=cfg, tokenizer_dir=TINY)
    for f in sorted((b / "onnx").iterdir()):
        if (a / "onnx" / f.name).read_bytes() != f.read_bytes():
            fail(f"checkpoint route: onnx/{f.name} differs from the one built from the committed ONNX")
    print("ok checkpoint: sharded safetensors (transformers 5 names) -> same graph bytes as the twin's route")


def check_qwen25_route(tmp: Path) -> None:
    """The tiny Qwen2.5-VL as a checkpoint (make_random_checkpoint --size tiny25, both name layouts)
    converts: the same graph bytes either way; text graphs byte-identical to the Qwen2-VL checkpoint
    route's (the same text weights: Qwen2.5-VL's language model is Qwen2-VL's); the vision graph in
    Qwen2.5-VL's interface (scripts/export.test.ts runs it against the committed one); config.json
    kept as Qwen2.5-VL with its time scale; the fast decoder written beside the reference vision graph."""
    import contextlib
    import io

    from make_random_checkpoint import tiny25

    outs = []
    for names in ("4", "5"):
        ckpt, out = tmp / f"tiny25-ckpt-{names}", tmp / f"tiny25-export-{names}"
        ckpt.mkdir(parents=True, exist_ok=True)
        tiny25(ckpt, names, TINY)
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            convert(ckpt, out, ["fp32", "q4"], "float32", "public")  # as check_checkpoint_route
        if "fast engine graphs: written for fp32, q4" not in said.getvalue():
            fail(f"qwen2_5_vl: no fast graphs written:\n{said.getvalue()}")
        manifest = json.loads((out / "onnx" / "fast.json").read_text())
        if manifest["vision"].get("graph") != "reference":
            fail(f"qwen2_5_vl: fast.json vision {manifest['vision']}: the fast engine runs the model's own vision graph")
        outs.append(out)
    for f in sorted((outs[0] / "onnx").iterdir()):
        if (outs[1] / "onnx" / f.name).read_bytes() != f.read_bytes():
            fail(f"qwen2_5_vl: onnx/{f.name} differs between transformers 4 and 5 tensor names")
    q2 = tmp / "from-checkpoint" / "onnx"  # check_checkpoint_route's Qwen2-VL export of the same text weights
    text = [f.name for f in sorted(q2.iterdir()) if f.name.startswith(("embed_tokens", "decoder_model_merged"))]
    if len(text) < 5:  # embed fp32 / q4, decoder fp32 (+ its external data) / q4
        fail(f"qwen2_5_vl: the Qwen2-VL route wrote only {text}")
    for f in text:
        if (outs[0] / "onnx" / f).read_bytes() != (q2 / f).read_bytes():
            fail(f"qwen2_5_vl: onnx/{f} differs from the Qwen2-VL export of the same text weights")
    vis = onnx.load(str(outs[0] / "onnx" / "vision_encoder.onnx")).graph
    got = [i.name for i in vis.input], [o.name for o in vis.output]
    if got != (["pixel_values", "image_grid_thw"], ["image_features"]):
        fail(f"qwen2_5_vl: vision_encoder.onnx interface {got}")
    cfg = json.loads((outs[0] / "config.json").read_text())
    want = {"model_type": "qwen2_5_vl", "architectures": ["Qwen2_5_VLForConditionalGeneration"]}
    if any(cfg.get(k) != v for k, v in want.items()) or cfg["vision_config"].get("tokens_per_second") != 2:
        fail(f"qwen2_5_vl: config.json {cfg.get('model_type')} {cfg.get('architectures')} "
             f"tokens_per_second {cfg['vision_config'].get('tokens_per_second')}")
    pre = json.loads((outs[0] / "preprocessor_config.json").read_text())
    if pre.get("processor_class") != "Qwen2_5_VLProcessor":
        fail(f"qwen2_5_vl: preprocessor_config.json processor_class {pre.get('processor_class')}")
    print(f"ok qwen2_5_vl checkpoint: transformers 4 and 5 names -> same graphs; text graphs = the Qwen2-VL "
          f"route's; vision graph (pixel_values, image_grid_thw) at {outs[0] / 'onnx' / 'vision_encoder.onnx'}")


def write_kernel_graphs(out: Path) -> None:
    rng = np.random.default_rng(1)
    k, n = 72, 40  # K not a multiple of 32: the padded last block is exercised
    w = rng.standard_normal((k, n)).astype(np.float32)
    packed, scales = q4.quantize(w)
    dense = q4.dequantize(packed, scales, k)
    out.mkdir(parents=True, exist_ok=True)
    x = helper.make_tensor_value_info("x", F32, ["m", k])
    y = helper.make_tensor_value_info("y", F32, ["m", n])
    for name, node, inits, opsets in (
        ("nbits", helper.make_node("MatMulNBits", ["x", "B", "scales"], ["y"], domain=MS_DOMAIN, K=k, N=n, bits=4,
                                   block_size=32),
         [numpy_helper.from_array(packed, "B"), numpy_helper.from_array(scales, "scales")],
         [helper.make_opsetid("", 17), helper.make_opsetid(MS_DOMAIN, 1)]),
        ("dense", helper.make_node("MatMul", ["x", "W"], ["y"]), [numpy_helper.from_array(dense, "W")],
         [helper.make_opsetid("", 17)]),
    ):
        m = helper.make_model(helper.make_graph([node], name, [x], [y], inits), opset_imports=opsets)
        m.ir_version = 8
        onnx.save(m, str(out / f"{name}.onnx"))
    print(f"ok kernel graphs written to {out}")


# (dtype, io, limit): limits that cut the 151,936-row table into 3 or 4 chunks at rows aligned to
# nothing in particular (50,646; 37,984); the fp16 tables exercise Where on float16 (f16io) and the
# Cast to float32 after it (q4f16).
EMBED_VARIANTS = {"fp32": ("fp32", "float32", 3_500_000), "q4f16": ("q4f16", "float32", 1_300_000),
                  "fp16-f16io": ("fp16", "float16", 2_000_000)}
CHUNK_OPS = {"Cast", "Unsqueeze", "Less", "GreaterOrEqual", "And", "Sub", "Where", "Gather", "Identity"}


def check_chunked_embed(out: Path) -> None:
    weights = load_tiny_weights(TINY)
    cfg = json.loads((TINY / "config.json").read_text())
    cfg.pop("transformers.js_config", None)
    s = shapes_from_config(cfg)
    cases = {"vocab": s.vocab, "hidden": s.hidden, "variants": {}}
    for name, (dtype, io, limit) in EMBED_VARIANTS.items():
        d = out / name
        if d.exists():
            for f in d.iterdir():
                f.unlink()
        whole, chunked = d / "whole.onnx", d / "chunked.onnx"
        if build_embed(s, weights, dtype, io, whole, False):
            fail(f"chunked embed {name}: the whole table got external data")
        files = build_embed(s, weights, dtype, io, chunked, False, tensor_limit=limit)
        spans = embed_row_spans(s.vocab, s.hidden * (2 if dtype in ("fp16", "q4f16") else 4), limit)
        if len(spans) < 3 or len(files) != len(spans):
            fail(f"chunked embed {name}: {len(spans)} spans, {len(files)} data files")
        onnx.checker.check_model(str(chunked))
        a, b = onnx.load(str(whole)), onnx.load(str(chunked), load_external_data=False)
        for field in ("input", "output"):
            if [x.SerializeToString() for x in getattr(a.graph, field)] != [x.SerializeToString() for x in getattr(b.graph, field)]:
                fail(f"chunked embed {name}: graph {field}s differ from the whole table's")
        big = [t for t in b.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        where = {t.name: {e.key: e.value for e in t.external_data} for t in big}
        if sorted(w["location"] for w in where.values()) != sorted(files) or len(set(files)) != len(big):
            fail(f"chunked embed {name}: chunks and data files do not pair one to one: {where}")
        for t in big:
            if int(where[t.name]["length"]) > limit or (d / where[t.name]["location"]).stat().st_size > limit:
                fail(f"chunked embed {name}: {t.name} or its file is over the {limit}-byte limit")
        ops = {n.op_type for n in b.graph.node}
        if not ops <= CHUNK_OPS:
            fail(f"chunked embed {name}: unexpected ops {sorted(ops - CHUNK_OPS)}")
        full = numpy_helper.to_array(a.graph.initializer[0])
        parts = [numpy_helper.to_array(t, base_dir=str(d)) for t in onnx.load(str(chunked)).graph.initializer if t.name in where]
        if not np.array_equal(np.concatenate(parts).view(np.uint8), full.view(np.uint8)):
            fail(f"chunked embed {name}: the chunks are not the table's rows in order")
        cases["variants"][name] = {"dtype": dtype, "io": io, "limit": limit, "spans": spans, "files": files}
    # Through convert(): the chunk files listed for transformers.js as any external data.
    exp = out / "export"
    convert(TINY, exp, ["q4"], "float32", "public", weights=weights, cfg=cfg, tokenizer_dir=TINY, fast=False,
            tensor_limit=3_500_000)
    listed = json.loads((exp / "config.json").read_text())["transformers.js_config"]["use_external_data_format"]
    if listed.get("embed_tokens_q4.onnx") != 3 or "embed_tokens_q4.onnx_data_2" not in os_names(exp / "onnx"):
        fail(f"chunked embed: convert() lists {listed} (want embed_tokens_q4.onnx: 3 data files)")
    cases["export"] = str(exp)
    (out / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    summary = ", ".join(f"{n} {len(v['spans'])} chunks (rows per chunk {v['spans'][0][1]})" for n, v in cases["variants"].items())
    print(f"ok chunked embed: {summary}; one data file per chunk under the limit, interface unchanged; "
          f"convert() lists embed_tokens_q4.onnx with 3 data files")


def os_names(d: Path) -> set[str]:
    return {p.name for p in d.iterdir()}


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/export-test")
    out.mkdir(parents=True, exist_ok=True)
    check_q4()
    check_q8()
    check_safetensors(out)
    check_checkpoint_route(out)
    check_qwen25_route(out)
    write_kernel_graphs(out / "kernel")
    check_chunked_embed(out / "embed")


if __name__ == "__main__":
    main()
