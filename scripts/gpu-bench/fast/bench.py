#!/usr/bin/env python3
"""The fast engine against the official evaluation, on the GPU machine, in one device call.

    python3 scripts/gpu-bench/fast/bench.py --payload /opt/stage/fast --out $OUT        (GPU machine)
    python3 scripts/gpu-bench/fast/bench.py --payload .gpubench/fast/p0 --out /tmp/fb --local   (here)

1. Exports Qwen2-VL-2B-shaped random weights (model_def.py, seed 0) with our builder (q4, fp32
   activations) into a model folder.
2. Drives the app's model harness page (the production build, e2e/harness/model.html) in Chromium over
   the DevTools protocol: the 2B model on WebGPU (fast engine, decode steps from a captured graph;
   unprofiled, then a few questions again with the profiler on), the 12 EgoPlan-Bench2 example questions with their clip frames and still as the app's
   video stage made them (payload frames/), 256 new tokens, official decoding; the tiny test model on
   WebGPU (fast and reference engines). Peak GPU memory is polled with nvidia-smi meanwhile.
3. Runs the official evaluation (official.py: transformers generate, bf16) on the same questions and
   frames, with the prompt text the app used, fewer new tokens (--official-tokens, default 64) to fit
   the call; its 256-token time is its time to first token + 255 / its decode tokens/s (measured
   constant: one question also runs 256 tokens).
4. If time is left (--deadline): the 2B model with graph capture off, onnxruntime Python (CPU) on the
   same q4 graphs (greedy ids vs the app's), the tiny and 2B models on wasm against onnxruntime Python
   CPU with the same thread count.
Writes <out>/gpu-h200.json (the committed bench/gpu-h200.json) after every phase, and prints the tables.
"""

import argparse
import gzip
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "scripts" / "export"))

from cdp import NVIDIA_FLAGS, SWIFTSHADER_FLAGS, Browser, Site  # noqa: E402
import chrometrace as chrome_trace  # noqa: E402

T0 = time.time()


def log(*a):
    print(f"[{time.time() - T0:6.1f}s]", *a, flush=True)


def elapsed():
    return time.time() - T0


class GpuMemory:
    """GPU memory in use (nvidia-smi, every 0.2 s) above a baseline taken at start: the peak so far, every
    sample (for a timeline and for the peak between two marks), and named marks (load done, question done)."""

    def __init__(self):
        self.ok = subprocess.run(["which", "nvidia-smi"], capture_output=True).returncode == 0
        self.baseline = self._used() if self.ok else None
        self.peak = self.baseline
        self.samples = []  # (seconds since T0, bytes)
        self.marks = []  # (seconds since T0, label, bytes at the mark)
        self.stop = False
        self.paused = False  # no nvidia-smi calls meanwhile (the sampler A/B)
        if self.ok:
            threading.Thread(target=self._poll, daemon=True).start()

    def mark(self, label):
        if self.ok:
            self.marks.append((round(elapsed(), 2), label, self._used()))

    def marks_since(self, t0=0.0):
        return [{"s": t, "label": label, "bytes": b} for t, label, b in self.marks if t >= t0]

    def peak_since(self, t0, level=None):
        """The highest sample since t0 above `level` (default: the baseline taken at start)."""
        level = self.baseline if level is None else level
        xs = [b for t, b in self.samples if t >= t0]
        return max(xs) - level if xs and level is not None else None

    def settled(self, tolerance=32 << 20, timeout=15.0):
        """memory.used once two readings 0.5 s apart agree: a browser that just closed frees its GPU memory
        a second or so later (read at once, the level would still hold it)."""
        last, t = self._used(), time.time()
        while last is not None and time.time() - t < timeout:
            time.sleep(0.5)
            now = self._used()
            if now is None or abs(now - last) <= tolerance:
                return now
            last = now
        return last

    def timeline(self, every=1.0):
        out, last = [], -every
        for t, b in self.samples:
            if t - last >= every:
                out.append([round(t, 1), b])
                last = t
        return out

    def _used(self):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                 capture_output=True, text=True, timeout=5).stdout.split()
            return int(out[0]) * 1024 * 1024
        except Exception:
            return None

    def _poll(self):
        while not self.stop:
            if self.paused:
                time.sleep(0.05)
                continue
            u = self._used()
            if u is not None:
                self.samples.append((elapsed(), u))
                if self.peak is None or u > self.peak:
                    self.peak = u
            time.sleep(0.2)

    def result(self):
        if not self.ok or self.peak is None or self.baseline is None:
            return None
        return {"peak_bytes_above_baseline": self.peak - self.baseline, "peak_bytes": self.peak,
                "baseline_bytes": self.baseline, "how": "nvidia-smi memory.used every 0.2 s while only Chromium ran",
                "marks": self.marks_since()}


def unpack(payload: Path) -> Path:
    """pack.sh ships the ORT wasm and the tokenizer xz-compressed: a copy of the payload with them unpacked,
    outside the checkout (unpacked in place, a dry run here made .gpubench/fast/p0 too big for a device call)."""
    import lzma
    import shutil

    work = Path("/tmp/fastbench/payload")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(payload, work, ignore=shutil.ignore_patterns("*.wasm", "tokenizer.json"))
    for xz in [*work.glob("site/assets/*.xz"), *work.glob("tokenizer/*.xz")]:
        with lzma.open(xz) as src, open(xz.with_suffix(""), "wb") as f:
            shutil.copyfileobj(src, f)
        xz.unlink()
    return work


def questions(payload: Path) -> list[dict]:
    """The example questions: annotation record, the app's official prompt text and its frames."""
    recs = [json.loads(line) for line in (payload / "examples.jsonl").read_text().splitlines() if line.strip()]
    results = {}
    for line in (payload / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        results[r["sample_id"]] = r
    out = []
    for rec in recs:
        sid = rec["sample_id"]
        fdir = payload / "frames" / sid
        if not fdir.exists():
            continue
        meta = json.loads((fdir / "frames.json").read_text())
        text = next(c["text"] for c in results[sid]["prompt"][0]["content"] if c["type"] == "text")
        n_clip = sum(f.startswith("clip-") for f in meta["files"])
        vision = ("<|vision_start|><|video_pad|><|vision_end|>" if n_clip else "") + "<|vision_start|><|image_pad|><|vision_end|>"
        prompt = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + vision + text +
                  "<|im_end|>\n<|im_start|>assistant\n")
        out.append({"sample_id": sid, "record": json.dumps(rec), "frames": meta, "clip_frames": n_clip,
                    "prompt_text": prompt})
    return out


def harness_run_args(q: dict, frames_url: str, new_tokens: int, extra=None) -> dict:
    files = q["frames"]["files"]
    return {"file": "examples.jsonl", "record": q["record"], "wording": "seed-bench-r1",
            "clipPngs": [f"{frames_url}/{q['sample_id']}/{f}" for f in files if f.startswith("clip-")] or None,
            "stillPng": f"{frames_url}/{q['sample_id']}/{next(f for f in files if f.startswith('still.'))}",
            "scoring": {"official": True, "letters": False, "likelihood": False},
            "maxNewTokens": new_tokens, "topLogits": 20, **(extra or {})}


PICK = ("o => o.ok ? {ok: true, result: {timings: o.value.result.timings, outputIds: o.value.result.outputIds, "
        "inputIds: o.value.result.inputIds, engine: o.value.result.engine, engineNote: o.value.result.engineNote, "
        "device: o.value.result.device, stopReason: o.value.result.stopReason, topLogits: o.value.result.topLogits, "
        "profile: o.value.result.profile}} : o")


def harness_page(browser, site):
    """The model harness page of the production build, once its harness is ready (up to ~30 s)."""
    page = browser.page(site.url("/e2e/harness/model.html"))
    page.wait_for("!!(window.modelHarness && window.modelHarness.ready)", 30)
    return page


def gpu_adapter(page):
    """The page's WebGPU adapter, asked up to 3 times: the first requestAdapter of a freshly started
    browser can return null (README), and a load then fails with "no adapter"."""
    for _ in range(3):
        adapter = page.eval("navigator.gpu.requestAdapter({powerPreference: 'high-performance'}).then(a => a && "
                            "({vendor: a.info.vendor, architecture: a.info.architecture, description: a.info.description, "
                            "fallback: a.info.isFallbackAdapter, subgroups: [a.info.subgroupMinSize, a.info.subgroupMaxSize], "
                            "features: [...a.features]}))", 20)
        if adapter:
            return adapter
        time.sleep(1)
    return None


def app_load(page, args: dict, timeout=300):
    t = time.time()
    r = page.eval(f"modelHarness.load({json.dumps(args)}).then(o => o.ok ? {{ok: true, info: o.value.info}} : o)",
                  timeout)
    if not r or not r.get("ok"):
        raise RuntimeError(f"load {args}: {json.dumps(r)[:600]}")
    r["info"]["wall_s"] = round(time.time() - t, 2)
    return trimmed(r["info"])


def trimmed(info: dict) -> dict:
    """The load info as recorded: a feed graph's weight inputs (~370 for the 2B; their names and bytes are in
    the model's fast.json `feed.weights`) as a count."""
    for g in ((info.get("graphs") or {}).get("graphs") or {}).values():
        ins = g.get("inputs") or []
        weights = [i for i in ins if i.get("name", "").startswith(("model.", "lm_head."))]
        if weights:
            g["inputs"] = [i for i in ins if i not in weights]
            g["weight_inputs"] = len(weights)
    return info


def app_run(page, args: dict, timeout=300):
    r = page.eval(f"modelHarness.run({json.dumps(args)}).then({PICK})", timeout)
    if not r or not r.get("ok"):
        raise RuntimeError(f"run: {json.dumps(r)[:600]}")
    return r["result"]


def app_row(res: dict) -> dict:
    t = res["timings"]
    return {"frame_prep_ms": t["framePrepMs"], "vision_ms": t["visionMs"], "prefill_ms": t["prefillMs"],
            "ttft_ms": t["timeToFirstTokenMs"], "decode_tokens_per_s": t["decodeTokensPerS"],
            "total_ms": t["totalMs"], "new_tokens": len(res["outputIds"]), "prompt_tokens": t["promptTokens"],
            "kv_cache_bytes": t["kvCacheBytes"], "engine_note": res["engineNote"],
            "output_ids_head": res["outputIds"][:32]}


def decode_window_summary(events, row: dict) -> dict:
    """The trace over the middle 80% of the question's decode: from the worker's first event (the question's
    start) + its TTFT to its last event."""
    worker = {(e.get("pid"), e.get("tid")) for e in events
              if e.get("ph") == "M" and e.get("name") == "thread_name" and "Worker" in str(e.get("args", {}).get("name"))}
    ts = [e["ts"] for e in events if (e.get("pid"), e.get("tid")) in worker and "ts" in e and e.get("ph") != "M"]
    if not ts or not row.get("ttft_ms") or not row.get("decode_tokens_per_s"):
        return chrome_trace.summarise(events)
    start, end = min(ts), max(ts)
    d0 = start + row["ttft_ms"] * 1000
    w = (d0 + 0.1 * (end - d0), end - 0.1 * (end - d0))
    return chrome_trace.summarise(events, w, steps=round((w[1] - w[0]) / 1e6 * row["decode_tokens_per_s"]))


def ttft_window_summary(events, row: dict) -> dict | None:
    """The trace from the question's start (the worker's first event) to its first token: which threads
    worked, in total and in 5 ms bins (frame preparation, the vision and prefill runs' encoding in the
    worker, the GPU process recording them, the readbacks)."""
    worker = {(e.get("pid"), e.get("tid")) for e in events
              if e.get("ph") == "M" and e.get("name") == "thread_name" and "Worker" in str(e.get("args", {}).get("name"))}
    # The question starts with the worker's first long microtask run (runQuestion); the page prepares the
    # frames before it.
    ts = [e["ts"] for e in events if (e.get("pid"), e.get("tid")) in worker and e.get("ph") == "X"
          and e.get("name") == "RunMicrotasks" and e.get("dur", 0) >= 5000]
    if not ts or not row.get("ttft_ms"):
        return None
    w = (min(ts), min(ts) + (row["ttft_ms"] + 20) * 1000)
    return {**chrome_trace.summarise(events, w), "bins_5ms": chrome_trace.timeline(events, w)}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def first_divergence(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return None if len(a) == len(b) else n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--payload", required=True, help="pack.sh's folder: site/, frames/, examples.jsonl, results.jsonl, tokenizer/")
    ap.add_argument("--out", required=True)
    ap.add_argument("--chromium", default="/opt/chromium/chromium")
    ap.add_argument("--local", action="store_true", help="here: SwiftShader, the tiny model only, no torch")
    ap.add_argument("--tiny-only", action="store_true",
                    help="on the GPU machine: the tiny model only (no 2B export, no official run): ~1 min, for a quick A/B")
    ap.add_argument("--deadline", type=float, default=520, help="seconds; optional phases stop before it")
    ap.add_argument("--app-tokens", type=int, default=256)
    ap.add_argument("--official-tokens", type=int, default=64)
    ap.add_argument("--questions", type=int, default=12)
    ap.add_argument("--sampler-ab", type=int, default=4,
                    help="questions run again with the nvidia-smi memory sampler paused (0: none)")
    ap.add_argument("--cpu-patches-ab", action="store_true", help="also the 2B with its patch rows made on the CPU")
    ap.add_argument("--profiled-questions", type=int, default=4,
                    help="questions run again with the profiler on (the main run is unprofiled)")
    ap.add_argument("--model-dir", default="/tmp/fastbench/qwen2-vl-2b-random")
    ap.add_argument("--no-subgroups", action="store_true", help="the app's WebGPU device without `subgroups` (A/B)")
    ap.add_argument("--q4-int8", default=None, choices=("off", "prefill", "all"),
                    help="the main 2B run's q4Int8 load setting (int8 activations: the a8 graphs; default: the app's)")
    ap.add_argument("--int8-ab", default="off",
                    help="q4Int8 values measured beside the main run on 4 questions each ('' for none)")
    ap.add_argument("--ahead", type=int, default=None, help="the main run's gpuDecodeAhead (default: the app's)")
    ap.add_argument("--ahead-ab", default="2", help="gpuDecodeAhead values measured beside the main run ('' for none)")
    ap.add_argument("--pending-dispatches", type=int, default=None,
                    help="the main run's gpuPendingDispatches (onnxruntime maxNumPendingDispatches; default: its 16)")
    ap.add_argument("--pending-ab", default="16",
                    help="gpuPendingDispatches values measured beside the main run ('' for none; 16 is onnxruntime's own)")
    ap.add_argument("--lazy-ab", action="store_true", help="also the storage-buffer lazyRelease A/B (4 questions)")
    ap.add_argument("--no-trace", action="store_true", help="skip the Chromium trace of one question's decode")
    ap.add_argument("--dawn-ab", default="skip_validation;disable_robustness",
                    help="Dawn toggle sets (--enable-dawn-features values, ';' between sets), each an A/B in a "
                         "second browser on 2 questions, traced ('' for none)")
    ap.add_argument("--memory-ab", default="graphCapture=false,q4Int8=off",
                    help="load-setting sets (k=v pairs, ',' between pairs, ';' between sets), each loaded in a fresh "
                         "second browser on 4 questions: its own peak GPU memory and speed ('' for none); "
                         "visionGroups=N: the 2B folder with its vision graphs built with N groups instead "
                         "(export2b.export_vision_variant); stepAttention=gqa: with the decode-step graph's "
                         "GroupQueryAttention kept, or =<a fast/step_attention.py VARIANTS name> "
                         "(export2b.export_step_variant)")
    ap.add_argument("--skip", default="", help="optional phases to leave out: cpu, capture-off, wasm (comma list)")
    args = ap.parse_args()
    payload, out = Path(args.payload), Path(args.out)
    skip = set(x for x in args.skip.split(",") if x)
    out.mkdir(parents=True, exist_ok=True)
    payload = unpack(payload)
    report = {"bench": "scripts/gpu-bench/fast/bench.py", "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "host": {"platform": platform.platform(), "cpus": os.cpu_count()}, "phases": {}, "errors": []}
    path = out / ("gpu-h200-tiny.json" if args.tiny_only else "gpu-h200.json")

    def save():
        report["elapsed_s"] = round(elapsed(), 1)
        path.write_text(json.dumps(report, indent=1) + "\n")

    def phase(name, fn, optional=False, need=0):
        if optional and elapsed() + need > args.deadline:
            report["phases"][name] = {"skipped": f"not enough time left ({elapsed():.0f}s of {args.deadline:.0f}s used, needs ~{need}s)"}
            log(f"skip {name}")
            save()
            return None
        t = time.time()
        log(f"--- {name}")
        try:
            r = fn()
            report["phases"][name] = {"seconds": round(time.time() - t, 1)}
            return r
        except Exception as e:
            report["errors"].append({"phase": name, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-3000:]})
            report["phases"][name] = {"seconds": round(time.time() - t, 1), "failed": True}
            log(f"{name} FAILED: {e}")
            return None
        finally:
            save()

    qs = questions(payload)[: args.questions]
    log(f"{len(qs)} questions")
    try:
        report["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                                       capture_output=True, text=True).stdout.strip()
    except Exception:
        report["gpu"] = None

    model_2b = Path(args.model_dir)
    torch_model = None
    small = args.local or args.tiny_only  # the tiny model stands in for the 2B
    if not small:
        def do_export():
            nonlocal torch_model
            from export2b import export

            torch_model = export("2b", 0, model_2b, payload / "tokenizer", log=log)
            report["model_2b"] = {"folder": str(model_2b), "files": {str(p.relative_to(model_2b)): p.stat().st_size
                                                                      for p in sorted(model_2b.rglob("*")) if p.is_file()}}
        phase("export 2b", do_export)

    models_root = Path("/tmp/fastbench/models")
    models_root.mkdir(parents=True, exist_ok=True)
    for name, src in (("tiny-random-qwen2-vl", ROOT / "models" / "tiny-random-qwen2-vl"), ("qwen2-vl-2b-random", model_2b)):
        link = models_root / name
        if not link.exists() and src.exists():
            link.symlink_to(src)
    tok = payload / "tokenizer" / "tokenizer.json"
    tiny_tok = ROOT / "models" / "tiny-random-qwen2-vl" / "tokenizer.json"
    if not tiny_tok.exists() and tok.exists():
        tiny_tok.write_bytes(tok.read_bytes())

    flags = SWIFTSHADER_FLAGS if args.local else NVIDIA_FLAGS
    env = {} if args.local else {"LD_LIBRARY_PATH": "/opt/crlibs:/usr/local/nvidia/lib64"}
    chromium = "/usr/bin/chromium" if args.local and args.chromium == "/opt/chromium/chromium" else args.chromium
    mem = GpuMemory()
    rows = {q["sample_id"]: {"sample_id": q["sample_id"], "clip_frames": q["clip_frames"]} for q in qs}
    report["questions"] = list(rows.values())
    with Site({"/": payload / "site", "/models/": models_root, "/frames/": payload / "frames"}) as site, \
            Browser(chromium, flags, out / "chromium.log", env) as browser:
        page = harness_page(browser, site)
        report["chromium"] = browser.version()
        report["cross_origin_isolated"] = page.eval("self.crossOriginIsolated", 5)
        adapter = gpu_adapter(page)
        report["adapter"] = adapter
        log(f"chromium {report['chromium']}, adapter {adapter and adapter['description']}")
        frames_url = site.url("/frames")
        big = "/models/qwen2-vl-2b-random/" if not small else "/models/tiny-random-qwen2-vl/"
        big_dtype = "q4"

        main_extra = {k: v for k, v in (("gpuPendingDispatches", args.pending_dispatches), ("q4Int8", args.q4_int8),
                                        ("gpuDecodeAhead", args.ahead)) if v is not None}

        def app_2b():
            mem.mark("app 2b: load starts")
            # Unprofiled: the profiler's GPU timestamps around every vision and prefill dispatch cost time of
            # their own (see "app 2b profiled" below), and users run without them.
            info = app_load(page, {"from": big, "dtype": big_dtype, "device": "webgpu", "profile": False, "kvCapacity": 1536,
                                   **main_extra, **({"gpuSubgroups": False} if args.no_subgroups else {})})
            report["app_load"] = info
            mem.mark("app 2b: loaded")
            log(f"loaded {big} in {info['wall_s']}s: {info['engineNote']}")
            # Warm-up (shader compilation, graph capture) on the first question, then every question.
            app_run(page, harness_run_args(qs[0], frames_url, 24))
            mem.mark("app 2b: warm-up question done")
            for q in qs:
                res = app_run(page, harness_run_args(q, frames_url, args.app_tokens))
                rows[q["sample_id"]]["app"] = app_row(res)
                rows[q["sample_id"]]["app_input_ids"] = res["inputIds"]
                rows[q["sample_id"]]["app_top_logits"] = res.get("topLogits")
                if res.get("profile"):
                    rows[q["sample_id"]]["app_profile"] = res["profile"]
                a = rows[q["sample_id"]]["app"]
                log(f"  {q['sample_id']}: {a['prompt_tokens']} tokens, vision {a['vision_ms']:.0f} ms, prefill {a['prefill_ms']:.0f} ms, "
                    f"TTFT {a['ttft_ms']:.0f} ms, decode {a['decode_tokens_per_s'] or 0:.1f} tok/s, total {a['total_ms']:.0f} ms")
                save()
        phase("app 2b q4 webgpu", app_2b)
        mem.mark("app 2b: questions done")
        report["gpu_memory"] = mem.result()

        def sampler_ab():
            # The first questions again on the same loaded model with the memory sampler paused: nvidia-smi
            # takes the NVIDIA driver every 0.2 s, which may stall the GPU process's submits.
            mem.paused = True
            out_s = []
            try:
                for q in qs[:args.sampler_ab]:
                    res = app_run(page, harness_run_args(q, frames_url, args.app_tokens))
                    b, a = app_row(res), rows[q["sample_id"]].get("app") or {}
                    out_s.append({"sample_id": q["sample_id"], **b})
                    log(f"  sampler paused {q['sample_id']}: TTFT {b['ttft_ms']:.0f} ms ({a.get('ttft_ms', 0):.0f} sampled), "
                        f"decode {b['decode_tokens_per_s'] or 0:.1f} tok/s ({a.get('decode_tokens_per_s') or 0:.1f})")
            finally:
                mem.paused = False
            report["app_2b_sampler_paused"] = {"questions": out_s}
        if args.sampler_ab and not small:
            phase("app 2b q4 webgpu, memory sampler paused", sampler_ab, optional=True, need=40)

        def traced_question(pg, q, key):
            # One question with Chromium's tracing on: which thread of which process is busy during decode.
            res, events = pg.trace(chrome_trace.CATEGORIES, lambda: app_run(pg, harness_run_args(q, frames_url, args.app_tokens)))
            row = app_row(res)
            name = "trace-" + "".join(ch if ch.isalnum() else "-" for ch in key) + ".json.gz"
            with gzip.open(out / name, "wt") as f:  # chrome://tracing and ui.perfetto.dev open it as is
                json.dump({"traceEvents": events}, f)
            report.setdefault("decode_trace", {})[key] = {"sample_id": q["sample_id"], "question": row, "events": len(events),
                                                          **decode_window_summary(events, row),
                                                          "ttft_window": ttft_window_summary(events, row)}
            log(chrome_trace.table(report["decode_trace"][key]))
        if not args.no_trace:
            phase("app 2b trace", lambda: traced_question(page, qs[min(1, len(qs) - 1)], "main"), optional=True, need=20)

        def profiled():
            # The main run's settings with the profiler on (WebGPU call counts, GPU timestamps around every
            # vision and prefill dispatch and one decode step's) on a few questions: the per-stage tables, and
            # what the profiling itself costs against the unprofiled rows above.
            info = app_load(page, {"from": big, "dtype": big_dtype, "device": "webgpu", "profile": True, "kvCapacity": 1536,
                                   **main_extra, **({"gpuSubgroups": False} if args.no_subgroups else {})})
            report["app_load_profiled"] = info
            app_run(page, harness_run_args(qs[0], frames_url, 24))
            for q in qs[:args.profiled_questions]:
                res = app_run(page, harness_run_args(q, frames_url, args.app_tokens))
                row = rows[q["sample_id"]]
                row["app_profiled"] = app_row(res)
                if res.get("profile"):
                    row["app_profile"] = res["profile"]
                a, b = row.get("app") or {}, row["app_profiled"]
                log(f"  profiled {q['sample_id']}: vision {b['vision_ms']:.0f} ms ({a.get('vision_ms', 0):.0f} unprofiled), "
                    f"prefill {b['prefill_ms']:.0f} ms ({a.get('prefill_ms', 0):.0f}), TTFT {b['ttft_ms']:.0f} ms "
                    f"({a.get('ttft_ms', 0):.0f}), decode {b['decode_tokens_per_s'] or 0:.1f} tok/s ({a.get('decode_tokens_per_s') or 0:.1f})")
                save()
        phase("app 2b profiled", profiled, optional=True, need=40)

        def buffer_cache_ab():
            # The same load with storage buffers freed after each run ('lazyRelease') against the app's 'bucket'
            # (onnxruntime's default: freed intermediates kept for reuse) above: GPU memory and speed.
            t0 = elapsed()
            mem.mark("lazyRelease: load starts")
            info = app_load(page, {"from": big, "dtype": big_dtype, "device": "webgpu", "kvCapacity": 1536, "gpuBufferCache": "lazyRelease"})
            mem.mark("lazyRelease: loaded")
            app_run(page, harness_run_args(qs[0], frames_url, 24))
            out_b = []
            for q in qs[:4]:
                res = app_run(page, harness_run_args(q, frames_url, args.app_tokens))
                out_b.append({"sample_id": q["sample_id"], **app_row(res)})
                a = rows[q["sample_id"]].get("app") or {}
                log(f"  lazyRelease {q['sample_id']}: vision {out_b[-1]['vision_ms']:.0f} ms (bucket {a.get('vision_ms', 0):.0f}), "
                    f"prefill {out_b[-1]['prefill_ms']:.0f} ms ({a.get('prefill_ms', 0):.0f}), "
                    f"decode {out_b[-1]['decode_tokens_per_s'] or 0:.1f} tok/s ({a.get('decode_tokens_per_s') or 0:.1f})")
            mem.mark("lazyRelease: questions done")
            report["app_2b_lazy_release"] = {"load": info, "questions": out_b, "peak_gpu_memory_bytes": mem.peak_since(t0),
                                             "marks": mem.marks_since(t0)}
            log(f"  lazyRelease: peak {report['app_2b_lazy_release']['peak_gpu_memory_bytes']} bytes above baseline "
                f"(bucket run: {(report.get('gpu_memory') or {}).get('peak_bytes_above_baseline')})")
        if not small and args.lazy_ab:
            phase("app 2b q4 webgpu, storage buffers lazyRelease", buffer_cache_ab, optional=True, need=60)

        def variant_ab(key, name, extra):
            # The same model with other load settings (`extra`) on 4 questions, against the main run: speed,
            # memory, and how far the numbers move (top-20 logits, greedy ids).
            t0 = elapsed()
            mem.mark(f"{name}: load starts")
            info = app_load(page, {"from": big, "dtype": big_dtype, "device": "webgpu", "kvCapacity": 1536, "profile": True,
                                   **main_extra, **extra})
            log(f"  {name}: {info['engineNote']}")
            app_run(page, harness_run_args(qs[0], frames_url, 24))
            out_i = []
            for q in qs[:4]:
                res = app_run(page, harness_run_args(q, frames_url, args.app_tokens))
                row = {"sample_id": q["sample_id"], **app_row(res), "profile": res.get("profile")}
                main_row = rows[q["sample_id"]]
                a = main_row.get("app") or {}
                top = {t["id"]: t["logit"] for t in (main_row.get("app_top_logits") or [])}
                diffs = [abs(t["logit"] - top[t["id"]]) for t in (res.get("topLogits") or []) if t["id"] in top]
                row["top_logits_max_abs_diff_vs_main"] = max(diffs) if diffs else None
                row["greedy_first_divergence_vs_main"] = first_divergence(row["output_ids_head"], a.get("output_ids_head") or [])
                out_i.append(row)
                prof = (row.get("profile") or {}).get("counts") or {}
                log(f"  {name} {q['sample_id']}: vision {row['vision_ms']:.0f} ms ({a.get('vision_ms', 0):.0f}), "
                    f"prefill {row['prefill_ms']:.0f} ms ({a.get('prefill_ms', 0):.0f}), TTFT {row['ttft_ms']:.0f} ms "
                    f"({a.get('ttft_ms', 0):.0f}), decode {row['decode_tokens_per_s'] or 0:.1f} tok/s "
                    f"({a.get('decode_tokens_per_s') or 0:.1f}); submits/step {prof.get('submit')}; top-20 logits within "
                    f"{row['top_logits_max_abs_diff_vs_main']}, greedy diverges at {row['greedy_first_divergence_vs_main']}")
                save()
            mem.mark(f"{name}: questions done")
            report.setdefault("app_2b_variants", {})[key] = {
                "settings": extra, "load": info, "questions": out_i, "peak_gpu_memory_bytes": mem.peak_since(t0),
                "marks": mem.marks_since(t0), "main_run": main_extra or "the app's defaults"}
        for n in [int(x) for x in args.ahead_ab.split(",") if x]:
            phase(f"app 2b q4 webgpu, {n} decode steps ahead",
                  lambda n=n: variant_ab(f"gpuDecodeAhead={n}", f"{n} steps ahead", {"gpuDecodeAhead": n}), optional=True, need=50)
        if args.cpu_patches_ab:
            phase("app 2b q4 webgpu, patch rows on the CPU",
                  lambda: variant_ab("gpuPatches=false", "CPU patch rows", {"gpuPatches": False, "profile": False}), optional=True, need=50)
        for mode in [m for m in args.int8_ab.split(",") if m and m != args.q4_int8]:
            phase(f"app 2b q4 webgpu, q4Int8 {mode}",
                  lambda mode=mode: variant_ab(f"q4Int8={mode}", f"q4Int8 {mode}", {"q4Int8": mode}), optional=True, need=50)
        for n in [int(x) for x in args.pending_ab.split(",") if x and int(x) != args.pending_dispatches]:
            phase(f"app 2b q4 webgpu, {n} dispatches per submit",
                  lambda n=n: variant_ab(f"gpuPendingDispatches={n}", f"{n} dispatches per submit", {"gpuPendingDispatches": n}),
                  optional=True, need=50)

        def dawn_ab(toggles):
            # The same model and settings in a second Chromium with Dawn toggles: if the GPU process's command
            # recording bounds the decode rate, skip_validation moves it; disable_robustness moves the kernels.
            with Browser(chromium, [*flags, f"--enable-dawn-features={toggles}"], out / "chromium-dawn.log", env) as b2:
                p2 = harness_page(b2, site)
                gpu_adapter(p2)
                info = app_load(p2, {"from": big, "dtype": big_dtype, "device": "webgpu", "kvCapacity": 1536, "profile": True,
                                     **main_extra})
                app_run(p2, harness_run_args(qs[0], frames_url, 24))
                out_d = []
                for q in qs[:2]:
                    res = app_run(p2, harness_run_args(q, frames_url, args.app_tokens))
                    row = {"sample_id": q["sample_id"], **app_row(res), "profile": res.get("profile")}
                    a = rows[q["sample_id"]].get("app") or {}
                    row["greedy_first_divergence_vs_main"] = first_divergence(row["output_ids_head"], a.get("output_ids_head") or [])
                    out_d.append(row)
                    log(f"  dawn {toggles} {q['sample_id']}: decode {row['decode_tokens_per_s'] or 0:.1f} tok/s "
                        f"({a.get('decode_tokens_per_s') or 0:.1f}), TTFT {row['ttft_ms']:.0f} ms ({a.get('ttft_ms', 0):.0f})")
                report.setdefault("app_2b_dawn_toggles", {})[toggles] = {"load": info, "questions": out_d}
                if not args.no_trace:
                    traced_question(p2, qs[min(1, len(qs) - 1)], f"dawn {toggles}")
        for toggles in [t for t in args.dawn_ab.split(";") if t and not small]:
            phase(f"app 2b q4 webgpu, dawn toggles {toggles}", lambda toggles=toggles: dawn_ab(toggles), optional=True, need=70)

        def memory_ab(spec):
            # Load settings in a fresh second browser, so that its GPU memory is its own: nvidia-smi's level
            # before it starts (the main browser's, idle since its questions, once the previous set's browser
            # has given its memory back) is subtracted from its peak.
            extra = {}
            for pair in [x for x in spec.split(",") if x]:
                k, v = pair.split("=", 1)
                try:
                    extra[k] = json.loads(v)
                except json.JSONDecodeError:
                    extra[k] = v
            def serve_variant(name: str, make) -> None:  # a variant folder of the model, made once per call
                if not (models_root / name).exists():
                    (models_root / name).symlink_to(make())
                extra["from"] = f"/models/{name}/"

            groups = extra.pop("visionGroups", None)
            if groups is not None:  # not a load setting: the main folder with its vision graphs in other groups
                from export2b import export_vision_variant

                if torch_model is None:
                    raise RuntimeError("visionGroups needs the exported 2B model (not with --local / --tiny-only)")
                name = f"{model_2b.name}-vision-groups-{groups}"
                serve_variant(name, lambda: export_vision_variant(torch_model, model_2b, model_2b.with_name(name),
                                                                  int(groups), log=log))
            attention = extra.pop("stepAttention", None)
            if attention is not None:  # not a load setting: the main folder with another decode-step graph
                from export2b import export_step_variant

                if "from" in extra:
                    raise RuntimeError("stepAttention needs no other variant in its set")
                source = (models_root / big.strip("/").split("/")[-1]).resolve()  # the 2B, or the tiny (--local)
                name = f"{source.name}-step-{attention}"
                serve_variant(name, lambda: export_step_variant(source, source.with_name(name), str(attention), log=log))
            level0 = mem.settled()
            t0 = elapsed()
            with Browser(chromium, flags, out / "chromium-memory.log", env) as b2:
                p2 = harness_page(b2, site)
                gpu_adapter(p2)
                mem.mark(f"memory {spec}: load starts")
                info = app_load(p2, {"from": big, "dtype": big_dtype, "device": "webgpu", "kvCapacity": 1536, "profile": False,
                                     **main_extra, **extra})
                mem.mark(f"memory {spec}: loaded")
                log(f"  memory {spec}: {info['engineNote']}")
                app_run(p2, harness_run_args(qs[0], frames_url, 24))
                mem.mark(f"memory {spec}: warm-up question done")
                out_m = []
                for q in qs[:4]:
                    res = app_run(p2, harness_run_args(q, frames_url, args.app_tokens))
                    row = {"sample_id": q["sample_id"], **app_row(res)}
                    a = rows[q["sample_id"]].get("app") or {}
                    row["greedy_first_divergence_vs_main"] = first_divergence(row["output_ids_head"], a.get("output_ids_head") or [])
                    out_m.append(row)
                    log(f"  memory {spec} {q['sample_id']}: TTFT {row['ttft_ms']:.0f} ms ({a.get('ttft_ms', 0):.0f}), "
                        f"decode {row['decode_tokens_per_s'] or 0:.1f} tok/s ({a.get('decode_tokens_per_s') or 0:.1f}), "
                        f"greedy diverges at {row['greedy_first_divergence_vs_main']}")
                    save()
                mem.mark(f"memory {spec}: questions done")
                own = mem.peak_since(t0, level0) if level0 is not None else None
                report.setdefault("app_2b_memory_ab", {})[spec] = {
                    "settings": extra, "load": info, "questions": out_m, "peak_gpu_memory_bytes": own,
                    "level_at_start_bytes": level0, "marks": mem.marks_since(t0)}
                log(f"  memory {spec}: peak {own} bytes of its own (main run: "
                    f"{(report.get('gpu_memory') or {}).get('peak_bytes_above_baseline')})")
        for spec in [x for x in args.memory_ab.split(";") if x and (args.local or not small)]:
            phase(f"app 2b q4 webgpu, memory {spec}", lambda spec=spec: memory_ab(spec), optional=True, need=60)

        def tiny_webgpu():
            out_t = {}
            # "fast_ahead2_16": the fast engine with the decode queue and submits of before (2 ahead, onnxruntime's 16).
            for engine, extra in (("fast", {}), ("fast_ahead2_16", {"gpuDecodeAhead": 2, "gpuPendingDispatches": None}),
                                  ("reference", {})):
                info = app_load(page, {"from": "/models/tiny-random-qwen2-vl/", "dtype": "fp32", "device": "webgpu",
                                       "engine": "fast" if engine.startswith("fast") else engine, **extra})
                app_run(page, harness_run_args(qs[0], frames_url, 16))
                res = app_run(page, harness_run_args(qs[0], frames_url, args.app_tokens))
                out_t[engine] = {"load": info, "question": app_row(res)}
                log(f"  tiny {engine} webgpu: {out_t[engine]['question']['decode_tokens_per_s']} tok/s")
            report["tiny_webgpu"] = out_t
        phase("tiny webgpu", tiny_webgpu, optional=True, need=30)

        if not small:
            def official():
                import torch
                from official import load, run_question

                model, tok, proc = load(torch_model, model_2b)
                run_question(model, proc, qs[0], payload / "frames" / qs[0]["sample_id"], 2)  # warm-up
                for i, q in enumerate(qs):
                    n = 256 if i == 0 else args.official_tokens
                    r = run_question(model, proc, q, payload / "frames" / q["sample_id"], n)
                    row = rows[q["sample_id"]]
                    row["official"] = {k: v for k, v in r.items() if k not in ("input_ids", "output_ids")}
                    row["official"]["output_ids_head"] = r["output_ids"][:32]
                    row["official"]["total_ms_256"] = r["processor_ms"] + r["ttft_ms"] + (255 / r["decode_tokens_per_s"] * 1000 if r["decode_tokens_per_s"] else 0)
                    row["prompt_ids_equal"] = r["input_ids"] == row.get("app_input_ids")
                    app = row.get("app")
                    if app:
                        row["greedy_first_divergence_app_q4_vs_official_bf16"] = first_divergence(app["output_ids_head"], row["official"]["output_ids_head"])
                        row["ratio_total_app_over_official"] = app["total_ms"] / row["official"]["total_ms_256"]
                    log(f"  official {q['sample_id']}: TTFT {r['ttft_ms']:.0f} ms, {r['decode_tokens_per_s'] or 0:.1f} tok/s ({n} tokens), prompt ids equal {row['prompt_ids_equal']}")
                    save()
                del model
                torch.cuda.empty_cache()
            phase("official bf16", official)

        def cpu_reference():
            from fast.ortcpu import FastCpu
            from official import inputs_for
            from reference import build_processor
            import numpy as np

            q = qs[0]
            row = rows[q["sample_id"]]
            _, proc = build_processor(model_2b)
            inputs = inputs_for(proc, q, payload / "frames" / q["sample_id"])
            parts = [inputs[k].numpy() for k in ("pixel_values_videos", "pixel_values") if k in inputs]
            pv = np.concatenate(parts, 0).astype(np.float32).reshape(-1, 324, 1176)
            grids = {"image": inputs["image_grid_thw"].tolist(), "video": inputs["video_grid_thw"].tolist() if "video_grid_thw" in inputs else []}
            ids = inputs["input_ids"][0].tolist()
            res = {}
            for threads in (16, 4):
                cpu = FastCpu(model_2b, big_dtype, threads, 1024)
                r = cpu.run(ids, pv, grids, 16 if threads == 16 else 8)
                res[f"threads_{threads}"] = {"load_s": cpu.load_s, "vision_ms": r["vision_ms"], "prefill_ms": r["prefill_ms"],
                                            "decode_tokens_per_s": r["decode_tokens_per_s"], "output_ids": r["output_ids"]}
                if threads == 16:
                    app_top = row.get("app_top_logits") or []
                    diffs = [abs(float(r["first_logits"][t["id"]]) - t["logit"]) for t in app_top]
                    res["app_vs_cpu"] = {"prompt_ids_equal": ids == row.get("app_input_ids"),
                                         "top20_max_abs_logit_diff": max(diffs) if diffs else None,
                                         "greedy_first_divergence": first_divergence(row["app"]["output_ids_head"][:16], r["output_ids"]) if row.get("app") else "no app run"}
                    log(f"  onnxruntime CPU vs app: {res['app_vs_cpu']}")
                save()
            report["onnxruntime_cpu_2b"] = res
        if not small and "cpu" not in skip:
            phase("onnxruntime cpu 2b", cpu_reference, optional=True, need=45)

        def capture_off():
            info = app_load(page, {"from": big, "dtype": big_dtype, "device": "webgpu", "graphCapture": False, "profile": True, "kvCapacity": 1536})
            app_run(page, harness_run_args(qs[0], frames_url, 16))
            out_c = []
            for q in qs[:2]:
                res = app_run(page, harness_run_args(q, frames_url, args.app_tokens))
                out_c.append({"sample_id": q["sample_id"], **app_row(res), "profile": res.get("profile")})
                log(f"  capture off {q['sample_id']}: {out_c[-1]['decode_tokens_per_s']} tok/s")
            report["app_2b_capture_off"] = {"load": info, "questions": out_c}
        if "capture-off" not in skip:
            phase("app 2b q4 webgpu, graph capture off", capture_off, optional=True, need=60)

        def wasm():
            res = {}
            for name, url, n, cap in (("tiny", "/models/tiny-random-qwen2-vl/", args.app_tokens, 1536), ("2b", big, 8, 1024)):
                if name == "2b" and (small or torch_model is None or elapsed() + 180 > args.deadline):
                    res[name] = {"skipped": "time" if not small else "tiny only"}
                    continue
                if name == "2b":
                    # The main folder's q4 embedding is GatherBlockQuantized, which the wasm build lacks.
                    from export2b import export_wasm_variant

                    wasm_dir = export_wasm_variant(torch_model, model_2b, model_2b.with_name(model_2b.name + "-wasm"), log=log)
                    link = models_root / wasm_dir.name
                    if not link.exists():
                        link.symlink_to(wasm_dir)
                    url = f"/models/{wasm_dir.name}/"
                info = app_load(page, {"from": url, "dtype": "q4", "device": "wasm", "numThreads": 4, "kvCapacity": cap}, 600)
                r = app_run(page, harness_run_args(qs[0], frames_url, n), 600)
                res[name] = {"load": info, "question": app_row(r), "threads": info.get("threads")}
                log(f"  {name} wasm: {res[name]['question']['decode_tokens_per_s']} tok/s ({info.get('threads')} threads)")
                save()
            report["wasm"] = res
        if "wasm" not in skip:
            phase("wasm", wasm, optional=True, need=40)
        report["console_tail"] = page.console[-40:]
        mem.stop = True
        report["gpu_memory_timeline"] = {"every_s": 1.0, "samples": mem.timeline(), "marks": mem.marks_since()}

    summarise(report, rows)
    save()
    print_tables(report)


def gpu_ms(qs, run: str, key: str):
    """Median over the 16-frame questions of a profiled run's GPU busy or span time (ms)."""
    us = med([((q.get("app_profile") or {}).get(f"{run}Gpu") or {}).get(f"{key}Us") for q in qs if q["clip_frames"] == 16])
    return us / 1000 if us is not None else None


def sampler_summary(report, rows):
    paused = (report.get("app_2b_sampler_paused") or {}).get("questions") or []
    if not paused:
        return None
    main = [(rows.get(q["sample_id"]) or {}).get("app") or {} for q in paused]
    return {key: {"paused": med([q.get(key) for q in paused]), "sampled": med([a.get(key) for a in main])}
            for key in ("decode_tokens_per_s", "ttft_ms")}


def summarise(report, rows):
    qs = list(rows.values())
    apps = [q["app"] for q in qs if q.get("app")]
    offs = [q["official"] for q in qs if q.get("official")]
    sixteen = [q["app"]["ttft_ms"] for q in qs if q.get("app") and q["clip_frames"] == 16]
    ratios = [q["ratio_total_app_over_official"] for q in qs if q.get("ratio_total_app_over_official")]
    tiny = (report.get("tiny_webgpu") or {}).get("fast", {}).get("question", {})
    adapter = report.get("adapter") or {}
    mem = report.get("gpu_memory") or {}
    lazy = report.get("app_2b_lazy_release") or {}
    report["summary"] = {
        "app_decode_tokens_per_s": med([a["decode_tokens_per_s"] for a in apps]),
        "app_ttft_ms_16_frames": med(sixteen),
        # From the frames on, as the official TTFT (generate(max_new_tokens=1) after its processor) is timed.
        "app_ttft_ms_16_frames_after_frame_prep": med([q["app"]["ttft_ms"] - q["app"]["frame_prep_ms"] for q in qs
                                                       if q.get("app") and q["clip_frames"] == 16]),
        # The same settings with the profiler on ("app 2b profiled"): what its timestamps cost.
        "app_ttft_ms_16_frames_profiled": med([q["app_profiled"]["ttft_ms"] for q in qs
                                               if q.get("app_profiled") and q["clip_frames"] == 16]),
        # The first questions again with the nvidia-smi sampler paused, and the same questions' main rows.
        "app_sampler_paused_vs_sampled": sampler_summary(report, rows),
        "official_decode_tokens_per_s": med([o["decode_tokens_per_s"] for o in offs]),
        "question_time_ratio_app_over_official": med(ratios),
        "tiny_webgpu_tokens_per_s": tiny.get("decode_tokens_per_s"),
        "peak_gpu_memory_bytes": mem.get("peak_bytes_above_baseline"),
        "peak_gpu_memory_bytes_lazy_release": lazy.get("peak_gpu_memory_bytes"),
        "main_engine_note": (report.get("app_load") or {}).get("engineNote"),
        "variants": {mode: {"decode_tokens_per_s": med([q["decode_tokens_per_s"] for q in r["questions"]]),
                              "ttft_ms_16_frames": med([q["ttft_ms"] for q, row in zip(r["questions"], qs)
                                                        if row["clip_frames"] == 16]),
                              "prefill_ms": [q["prefill_ms"] for q in r["questions"]],
                              "submits_per_step": [((q.get("profile") or {}).get("counts") or {}).get("submit") for q in r["questions"]],
                              "gpu_busy_span_us": [[((q.get("profile") or {}).get("gpu") or {}).get(k) for k in ("busyUs", "spanUs")]
                                                   for q in r["questions"]],
                              "top_logits_max_abs_diff_vs_main": [q["top_logits_max_abs_diff_vs_main"] for q in r["questions"]],
                              "greedy_first_divergence_vs_main": [q["greedy_first_divergence_vs_main"] for q in r["questions"]]}
                       for mode, r in (report.get("app_2b_variants") or {}).items()},
        # Each memory set in its own browser: its peak GPU memory, speed, and whether its greedy ids left the main run's.
        "memory_ab": {spec: {"peak_gpu_memory_bytes": r["peak_gpu_memory_bytes"],
                             "decode_tokens_per_s": med([q["decode_tokens_per_s"] for q in r["questions"]]),
                             "ttft_ms_16_frames": med([q["ttft_ms"] for q, row in zip(r["questions"], qs) if row["clip_frames"] == 16]),
                             "total_ms": med([q["total_ms"] for q in r["questions"]]),
                             "greedy_first_divergence_vs_main": [q["greedy_first_divergence_vs_main"] for q in r["questions"]],
                             "engine_note": (r.get("load") or {}).get("engineNote")}
                      for spec, r in (report.get("app_2b_memory_ab") or {}).items()},
        # GPU time (timestamps around every dispatch) of the 16-frame questions' vision and prefill runs.
        "app_gpu_ms_16_frames": {f"{run}_{k}": gpu_ms(qs, run, k) for run in ("vision", "prefill") for k in ("busy", "span")},
        # Per traced question: each thread's busy time per decode step (the busiest bounds the rate).
        "decode_trace_busy_us_per_step": {key: {f"{r['process']} / {r['thread']}": r.get("busy_per_step_us")
                                                for r in t.get("threads", [])[:4]}
                                          for key, t in (report.get("decode_trace") or {}).items()},
        "dawn_toggles_decode_tokens_per_s": {k: med([q["decode_tokens_per_s"] for q in v["questions"]])
                                             for k, v in (report.get("app_2b_dawn_toggles") or {}).items()},
        "adapter": adapter.get("description"),
        "chromium": report.get("chromium"),
        "gpu_and_driver": report.get("gpu"),
        "notes": "medians over the questions; official 256-token totals from its TTFT + 255 / its decode tokens/s "
                 "(it ran --official-tokens new tokens, one question 256); app totals are measured over 256 tokens",
    }


def print_tables(report):
    print("\n| question | frames | prompt | stage | app (fast, q4, WebGPU) | official (bf16, CUDA) | app / official |")
    print("|---|---|---|---|---|---|---|")
    for q in report.get("questions", []):
        a, o = q.get("app") or {}, q.get("official") or {}
        for stage, ka, ko in (("vision ms", "vision_ms", "vision_ms"), ("prefill ms", "prefill_ms", "prefill_ms"),
                              ("TTFT ms", "ttft_ms", "ttft_ms"), ("decode tok/s", "decode_tokens_per_s", "decode_tokens_per_s"),
                              ("total ms (256)", "total_ms", "total_ms_256")):
            va, vo = a.get(ka), o.get(ko)
            ratio = f"{va / vo:.3f}" if isinstance(va, (int, float)) and isinstance(vo, (int, float)) and vo else "-"
            fmt = lambda v: f"{v:.1f}" if isinstance(v, (int, float)) else "-"
            print(f"| {q['sample_id'][:13]} | {q['clip_frames']} | {a.get('prompt_tokens', '-')} | {stage} | {fmt(va)} | {fmt(vo)} | {ratio} |")
    print("\nsummary:", json.dumps(report.get("summary"), indent=1))
    prof = next((q.get("app_profile") for q in report.get("questions", []) if q.get("app_profile")), None)
    if prof:
        g = prof.get("gpu") or {}
        print(f"\nper decode step (first question, {prof['steps']} steps, {prof['note']}): {json.dumps(prof['counts'])}; "
              f"session.run CPU {prof['runCpuMs']:.2f} ms, readback {prof['readbackMs']:.2f} ms; "
              f"GPU: {g.get('dispatches')} dispatches, busy {g.get('busyUs')} us, span {g.get('spanUs')} us")
        if g.get("dispatchUs"):
            top = sorted(enumerate(g["dispatchUs"]), key=lambda x: -x[1])[:10]
            print("  slowest dispatches (index in step, us):", top)
        for key, label in (("visionGpu", "vision"), ("prefillGpu", "prefill")):
            pg = prof.get(key) or {}
            if pg.get("dispatchUs"):
                top = sorted(enumerate(pg["dispatchUs"]), key=lambda x: -x[1])[:12]
                print(f"{label}: {pg['dispatches']} dispatches, GPU busy {pg['busyUs']} us over a {pg['spanUs']} us span; "
                      f"slowest (index, us): {top}")
    for key, t in (report.get("decode_trace") or {}).items():
        print(f"\ntrace ({key}):\n" + chrome_trace.table(t))
    if report.get("errors"):
        print("\nerrors:")
        for e in report["errors"]:
            print(f"  {e['phase']}: {e['error']}")


if __name__ == "__main__":
    main()
