#!/usr/bin/env python3
"""What a decode step's dispatches cost Chromium, without a model (dispatch/index.html).

    python3 scripts/gpu-bench/fast/dispatch.py --out $OUT            (GPU machine, after Chromium's set-up)
    python3 scripts/gpu-bench/fast/dispatch.py --out /tmp/d --local  (here: SwiftShader, fewer steps)

The 2B's captured decode step was 229 dispatches in one pass, 28 of them indirect (onnxruntime's attention
under capture), and Chromium's GPU process bounded its rate (bench/gpu-h200-vision-groups-2.json
decode_trace; this table is why the step's attention is now standard ops: scripts/export/fast/step_attention.py). Each
variant below changes one thing against the step-shaped baseline (229 direct dispatches, 4 storage
buffers + 1 uniform each, 8 pipelines): 28 indirect, fewer or more bindings, fewer dispatches. Each runs
in the default browser and in one started with Dawn's skip_validation, so the table says what validation
costs per dispatch and what an indirect dispatch adds. Writes <out>/dispatch.json and prints the table.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cdp import NVIDIA_FLAGS, SWIFTSHADER_FLAGS, Browser, Site  # noqa: E402

BASE = {"dispatches": 229, "bindings": 4, "indirectEvery": 0, "pipelines": 8, "buffers": 64, "inflight": 3}
VARIANTS = {
    "step-shaped: 229 direct": {},
    "201 direct + 28 indirect": {"indirectEvery": 8},
    "229 direct, 2 storage buffers": {"bindings": 2},
    "229 direct, 8 storage buffers": {"bindings": 8},
    "201 direct (28 fewer)": {"dispatches": 201},
}


def run(chromium, flags, env, site, out, name, steps, warm):
    rows = {}
    with Browser(chromium, flags, out / f"chromium-{name}.log", env) as b:
        page = b.page(site.url("/index.html"))
        page.wait_for("!!window.dispatchBenchReady", 10)
        # Twice over: the first round also warms the browser (shader compilation, its first devices); the
        # second is the one reported.
        for rnd in (1, 2):
            for label, v in VARIANTS.items():
                opts = {**BASE, **v, "steps": steps, "warm": warm}
                r = page.eval(f"dispatchBench({json.dumps(opts)})", 300)
                rows[label] = {"settings": opts, **r, **({"first_round": rows[label]} if rnd == 2 else {})}
                print(f"  {name:16} round {rnd} {label:32} {r['msPerStep']:7.3f} ms/step  {r['usPerDispatch']:6.1f} us/dispatch  "
                      f"(page encodes {r['encodeMsPerStep']:.3f} ms/step)", flush=True)
        version = b.version()
    return rows, version


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--chromium", default="/opt/chromium/chromium")
    ap.add_argument("--local", action="store_true", help="here: SwiftShader")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    flags = SWIFTSHADER_FLAGS if args.local else NVIDIA_FLAGS
    env = {} if args.local else {"LD_LIBRARY_PATH": "/opt/crlibs:/usr/local/nvidia/lib64"}
    chromium = "/usr/bin/chromium" if args.local else args.chromium
    steps = min(args.steps, 40) if args.local else args.steps
    report = {"bench": "scripts/gpu-bench/fast/dispatch.py", "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "browsers": {}}
    with Site({"/": Path(__file__).resolve().parent / "dispatch"}) as site:
        for name, extra in (("default", []), ("skip_validation", ["--enable-dawn-features=skip_validation"])):
            rows, version = run(chromium, [*flags, *extra], env, site, out, name, steps, 20)
            report["browsers"][name] = rows
            report["chromium"] = version
    base = "step-shaped: 229 direct"
    d, s = report["browsers"]["default"], report["browsers"]["skip_validation"]
    report["summary"] = {
        "validation_us_per_dispatch": (d[base]["msPerStep"] - s[base]["msPerStep"]) * 1000 / BASE["dispatches"],
        "indirect_extra_us_each": {k: (b["201 direct + 28 indirect"]["msPerStep"] - b[base]["msPerStep"]) * 1000 / 28
                                   for k, b in report["browsers"].items()},
        "ms_per_step": {k: {label: r["msPerStep"] for label, r in b.items()} for k, b in report["browsers"].items()},
    }
    (out / "dispatch.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["summary"], indent=1))


if __name__ == "__main__":
    main()
