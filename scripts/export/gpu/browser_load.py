#!/usr/bin/env python3
"""An exported model in real Chromium on the GPU machine, through the app's model harness
(e2e/harness/model.html of a `vite build`), driven over the DevTools protocol (stdlib only: the GPU
machine has no node). For each load configuration it reports whether the model loads, how long it
took, the app's own verdict on its size, the exact error where it stops, and for a model that loads
one still-only question: vision, prefill, decode tokens/s, wasm heap; peak RSS of Chromium's
processes and the GPU memory nvidia-smi reports.

    python3 browser_load.py --chromium /opt/chromium/chromium --site SITE --models MODELS_DIR \
        --model qwen2-vl-7b-random --runargs runargs.json --out result.json

SITE: a `vite build` output (e2e/harness/model.html and the assets); MODELS_DIR is served at
/models/; runargs.json: {"run": RunArgs of e2e/harness/model.ts} with fixture PNG paths under
/test-files/fixtures/, served from --fixtures. Every server binds 127.0.0.1.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# The DevTools client, the static server and the GPU recipe's flags are the GPU benchmark's (cdp.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "gpu-bench" / "fast"))
from cdp import NVIDIA_FLAGS, SWIFTSHADER_FLAGS, Browser, Site  # noqa: E402


def chromium_rss_peak(root_pid: int) -> int:
    """Sum over Chromium's processes of their peak resident memory (VmHWM), in bytes."""
    total = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            status = (p / "status").read_text()
            if os.getpgid(int(p.name)) != root_pid:
                continue
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) * 1024
    return total


class GpuMemory:
    """Peak GPU memory in use (nvidia-smi, sampled every 0.5 s)."""

    def __init__(self):
        self.peak, self.stop = 0, False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self.stop:
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                self.peak = max(self.peak, int(out.split()[0]) * 2**20)
            except Exception:
                return
            time.sleep(0.5)


def evaluate(page, expr: str, timeout: float):
    """The expression's value; a page-side exception comes back as {"exception": ...} and the run goes on."""
    try:
        return page.eval(expr, timeout)
    except RuntimeError as e:
        return {"exception": str(e)[:2000]}


def one(chromium: str, flags: list, url: str, load: dict, run: dict | None, timeout: float) -> dict:
    """A fresh Chromium for one load configuration (and one question when it loads)."""
    env = {"DISPLAY": None}
    if "LD_LIBRARY_PATH" not in os.environ:
        env["LD_LIBRARY_PATH"] = "/opt/crlibs:/usr/local/nvidia/lib64"
    res: dict = {"load_args": load}
    log = Path(tempfile.mkdtemp(prefix="browser-load-")) / "chromium.log"
    try:
        browser = Browser(chromium, flags, log, env)
    except Exception as e:
        return {**res, "error": f"{type(e).__name__}: {e}"}
    with browser:
        gpu = GpuMemory()
        try:
            page = browser.page(url)
            for _ in range(300):
                if evaluate(page, "!!(window.modelHarness && window.modelHarness.ready)", 5) is True:
                    break
                time.sleep(0.1)
            # The first requestAdapter after a launch sometimes returns null there: ask twice.
            res["adapter"] = evaluate(
                page,
                "(async () => { for (let i = 0; i < 2; i++) { const a = await navigator.gpu?.requestAdapter({powerPreference: 'high-performance'});"
                " if (a) return {info: [a.info.vendor, a.info.architecture, a.info.description, a.info.isFallbackAdapter],"
                " f16: a.features.has('shader-f16'), maxBufferSize: a.limits.maxBufferSize,"
                " maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize}; } return null; })()", 30)
            t1 = time.time()
            out = evaluate(page, f"modelHarness.load({json.dumps(load)}).then(o => o.ok ? {{ok: true, info: o.value.info}}"
                           f" : {{ok: false, error: o.error, events: (o.events || []).slice(-5)}})", timeout)
            res["load_wall_s"] = round(time.time() - t1, 1)
            res["load"] = out
            if isinstance(out, dict) and out.get("ok") and run:
                for i in range(2):  # the first run compiles shaders; the second is the steady state
                    t2 = time.time()
                    r = evaluate(page, f"modelHarness.run({json.dumps(run)}).then(o => o.ok ? {{ok: true, timings:"
                                 f" o.value.result.timings, device: o.value.result.device, outputIds: o.value.result.outputIds}}"
                                 f" : {{ok: false, error: o.error}})", timeout)
                    if isinstance(r, dict):
                        r["wall_s"] = round(time.time() - t2, 1)
                    res[f"run{i + 1}"] = r
        except Exception as e:
            res["error"] = f"{type(e).__name__}: {e}"
        finally:
            res["chromium_peak_rss_bytes"] = chromium_rss_peak(browser.proc.pid)
            gpu.stop = True
            res["gpu_memory_peak_bytes"] = gpu.peak
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default="/opt/chromium/chromium")
    ap.add_argument("--site", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--model", required=True, help="folder name under --models")
    ap.add_argument("--fixtures", default=str(Path(__file__).resolve().parents[3] / "e2e" / "fixtures" / "reference"))
    ap.add_argument("--runargs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--timeout", type=float, default=240)
    ap.add_argument("--max-new-tokens", type=int, default=None)
    ap.add_argument("--local", action="store_true", help="SwiftShader flags, to try the driver on a machine without the GPU")
    a = ap.parse_args()
    with Site({"/": Path(a.site), "/models/": Path(a.models), "/test-files/fixtures/": Path(a.fixtures)}) as site:
        run = json.loads(Path(a.runargs).read_text())["run"]
        if a.max_new_tokens is not None:
            run["maxNewTokens"] = a.max_new_tokens
        base = f"/models/{a.model}/"
        configs = [
            # What the app does on its own (dtype and device auto, limits enforced): its verdict.
            {"from": base},
            # q4 on WebGPU past the app's checks: where the browser itself stops.
            {"from": base, "dtype": "q4", "device": "webgpu", "enforceLimits": False, "cache": False},
            # q4 with the fp16 embedding (1.09 GB instead of 2.18 GB): shader-f16 is missing, so wasm.
            {"from": base, "dtype": "q4", "graphDtypes": {"embed_tokens": "fp16"}, "device": "auto",
             "enforceLimits": False, "cache": False},
        ]
        results = []
        for c in configs:
            r = one(a.chromium, SWIFTSHADER_FLAGS if a.local else NVIDIA_FLAGS, site.url("/e2e/harness/model.html"), c, run,
                    a.timeout)
            results.append(r)
            print(json.dumps({k: r.get(k) for k in ("load_args", "load_wall_s", "error", "chromium_peak_rss_bytes",
                                                   "gpu_memory_peak_bytes")})[:600], flush=True)
            load = r.get("load") or {}
            print("  ->", json.dumps(load.get("error") if isinstance(load, dict) and not load.get("ok") else
                                     {k: (load.get("info") or {}).get(k) for k in ("device", "dtype", "dtypeReason", "loadMs",
                                                                                    "modelBytes", "sizeProblem")})[:1200], flush=True)
            for k in ("run1", "run2"):
                if k in r:
                    print(f"  {k}:", json.dumps(r[k])[:800], flush=True)
    Path(a.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
