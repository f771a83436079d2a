#!/usr/bin/env python3
"""What Chromium's own WebGPU device holds in GPU memory, before any model buffer (nvidia-smi).

    python3 scripts/gpu-bench/fast/devicemem.py --out $OUT            (GPU machine, after Chromium's set-up)
    python3 scripts/gpu-bench/fast/devicemem.py --out /tmp/m --local  (here: SwiftShader, no nvidia-smi: steps only)

The 2B's main run (bench/gpu-h200.json) reads 0.05 GB before load and 1.81 GB once loaded, ~0.3 GB more
than its weights and KV cache. This opens a page with no model and marks nvidia-smi's level: the browser
open, an adapter, a device, 1 GiB of buffers written on it (the calibration: that much more), the buffers
destroyed, more submits (Dawn frees a destroyed buffer's memory only after later work), 1 GiB again (reused or
new memory), 1 GiB of staging-style buffers (mapped at creation, MAP_WRITE), a second device. Writes <out>/devicemem.json and prints the marks.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import GpuMemory  # noqa: E402
from cdp import NVIDIA_FLAGS, SWIFTSHADER_FLAGS, Browser, Site  # noqa: E402

WRITE_1GIB = """(async () => { const d = window.d; window.bufs = [];
    for (let i = 0; i < 16; i++) { const b = d.createBuffer({ size: 64 << 20,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }); d.queue.writeBuffer(b, 0,
      new Uint8Array(64 << 20)); window.bufs.push(b); }
    await d.queue.onSubmittedWorkDone(); return true; })()"""
DESTROY = """(async () => { for (const b of window.bufs) b.destroy(); window.bufs = [];
    await window.d.queue.onSubmittedWorkDone(); return true; })()"""
STEPS = {
    "adapter": """(async () => { for (let i = 0; i < 5 && !window.a; i++) { window.a = await
        navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
        if (!window.a) await new Promise((r) => setTimeout(r, 1000)); } return !!window.a; })()""",
    "device": "window.a.requestDevice().then((d) => { window.d = d; return true; })",
    "+1 GiB of buffers, written": WRITE_1GIB,
    "buffers destroyed": DESTROY,
    "more submits": """(async () => { const d = window.d; for (let i = 0; i < 20; i++) {
          d.queue.submit([d.createCommandEncoder().finish()]); await d.queue.onSubmittedWorkDone();
          await new Promise((r) => setTimeout(r, 50)); } return true; })()""",
    "+1 GiB again": WRITE_1GIB,
    "destroyed again": DESTROY,
    "+1 GiB mapped at creation": """(async () => { const d = window.d; window.bufs = [];
        for (let i = 0; i < 16; i++) { const b = d.createBuffer({ size: 64 << 20, mappedAtCreation: true,
          usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC }); new Uint8Array(b.getMappedRange()).fill(1);
          b.unmap(); window.bufs.push(b); }
        await d.queue.onSubmittedWorkDone(); return true; })()""",
    "mapped ones destroyed": DESTROY,
    "a second device": """navigator.gpu.requestAdapter({ powerPreference: 'high-performance' })
        .then((a) => a.requestDevice()).then((d) => { window.d2 = d; return true; })""",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--chromium", default="/opt/chromium/chromium")
    ap.add_argument("--local", action="store_true", help="here: SwiftShader")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    mem = GpuMemory()
    env = {} if args.local else {"LD_LIBRARY_PATH": "/opt/crlibs:/usr/local/nvidia/lib64"}
    chromium = "/usr/bin/chromium" if args.local else args.chromium
    flags = SWIFTSHADER_FLAGS if args.local else NVIDIA_FLAGS

    def mark(label):
        time.sleep(2.0)  # the level settles (nvidia-smi lags allocation and release)
        mem.mark(label)
        level = mem.marks[-1][2] if mem.ok and mem.marks[-1][2] is not None else None
        print(f"  {label:28} {'' if level is None else f'{level / 1e6:8.0f} MB'}", flush=True)

    mark("before the browser")
    with Site({"/": Path(__file__).resolve().parent / "dispatch"}) as site:
        with Browser(chromium, flags, out / "chromium-devicemem.log", env) as b:
            page = b.page(site.url("/index.html"))
            page.wait_for("!!window.dispatchBenchReady", 10)
            mark("page loaded")
            for label, js in STEPS.items():
                if page.eval(js, 60) is not True:
                    raise RuntimeError(f"{label}: the page said no")
                mark(label)
            version = b.version()
    mark("browser closed")
    mem.stop = True
    (out / "devicemem.json").write_text(json.dumps({
        "bench": "scripts/gpu-bench/fast/devicemem.py", "chromium": version,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "marks": mem.marks_since()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
