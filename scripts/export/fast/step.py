"""The decode-step graph ("step"): a decoder graph without its repetition penalty, its argmax and its
visual merge.

A captured WebGPU decode step replays every dispatch of its graph, and in Chromium each dispatch costs
the GPU process's one thread its recording and validation (bench/gpu-h200-vision-groups-2.json
`decode_trace`: that thread bounded the decode rate). The penalty and the two-level argmax are ~20
small ops, ~20 dispatches of a step (the tiny model's ~47, the 2B's ~250); the app does their work in
one dispatch of its own after the replay (src/model/fast/gpu.ts `pickNext`). A decode step's one token
is never a visual pad, so the visual merge (Gather of visual_embeds, Greater, Where: 3 dispatches) is left out too: the token
embedding feeds the first layer directly. So this variant keeps only what `logits` and the present_*
outputs need: the same nodes otherwise, no `seen`, `visual_rows` or `visual_embeds` input, no
`next_token` output, and its attention in standard ops over the whole cache (step_attention.py: no
indirect dispatch). Like the a8 variant it holds the graph only and refers to the source graph's bytes
(a8.py `external_refs`)."""

from pathlib import Path

import onnx

from .a8 import external_refs
from .step_attention import DEFAULT, VARIANTS, replace_attention

DROPPED_OUTPUT = "next_token"
DROPPED_INPUT = "seen"
VISUAL_MERGE = "visual_merge"  # decoder.py: Where(visual_rows > 0, the visual row, the token embedding)
VISUAL_INPUTS = ("visual_rows", "visual_embeds")


def write_step(src: Path, dst: Path, attention: str = DEFAULT) -> tuple[list[str], int]:
    """Write dst: src's nodes that its outputs other than next_token need, the attention in standard ops
    (step_attention.DEFAULT, or another of its VARIANTS) or kept GroupQueryAttention ("gqa": the earlier
    step graph; both for benchmark A/Bs). Returns (the external-data files dst needs, in load order; its
    node count)."""
    if attention != "gqa" and attention not in VARIANTS:
        raise ValueError(f"write_step: attention {attention!r} is not 'gqa' or one of {VARIANTS}")
    src, dst = Path(src), Path(dst)
    m = onnx.load(str(src), load_external_data=False)
    g = m.graph
    if DROPPED_OUTPUT not in [o.name for o in g.output]:
        raise ValueError(f"{src}: no {DROPPED_OUTPUT} output to drop")
    keep_outputs = [o for o in g.output if o.name != DROPPED_OUTPUT]
    merges = [n for n in g.node if n.name == VISUAL_MERGE]
    if len(merges) != 1 or merges[0].op_type != "Where":
        raise ValueError(f"{src}: no single Where node named {VISUAL_MERGE}")
    merged, token = merges[0].output[0], merges[0].input[2]
    for n in g.node:  # the merge's readers read the token embedding instead
        n.input[:] = [token if x == merged else x for x in n.input]
    # Walk back from the kept outputs: a node stays if something kept reads one of its outputs.
    producer = {out: i for i, n in enumerate(g.node) for out in n.output if out}
    need = [o.name for o in keep_outputs]
    kept: set[int] = set()
    while need:
        name = need.pop()
        i = producer.get(name)
        if i is None or i in kept:
            continue
        kept.add(i)
        need.extend(x for x in g.node[i].input if x)
    nodes = [n for i, n in enumerate(g.node) if i in kept]
    used = {x for n in nodes for x in n.input} | {o.name for o in keep_outputs}
    for name in (DROPPED_INPUT, *VISUAL_INPUTS):
        if name in used:
            raise ValueError(f"{src}: {name} is used by more than the penalty and the visual merge")
    inits = [t for t in g.initializer if t.name in used]
    inputs = [i for i in g.input if i.name in used]
    files = external_refs(src, inits)
    del g.node[:]
    g.node.extend(nodes)
    del g.initializer[:]
    g.initializer.extend(inits)
    del g.input[:]
    g.input.extend(inputs)
    del g.output[:]
    g.output.extend(keep_outputs)
    g.name = g.name + "_step"
    if attention != "gqa":
        replace_attention(m, attention)  # no GroupQueryAttention: its indirect dispatches (step_attention.py)
    onnx.save(m, str(dst))
    return files, len(g.node)
