"""Where a decode step's CPU time goes, from a Chromium trace (cdp.Page.trace): per thread of every process
(the renderer's worker that runs onnxruntime, the GPU process's main thread that records the WebGPU
commands into Vulkan, ...), how busy it was over a window and in which slices.

Busy = the union of the thread's slices (nested ones count once); a thread that is busy nearly all the
window is what bounds the decode rate. Slice totals are inclusive (a slice's children are in it too).
"""

from collections import defaultdict

CATEGORIES = ["toplevel", "gpu", "gpu.dawn", "disabled-by-default-gpu.dawn", "gpu.service", "gpu.capture",
              "v8.execute", "blink.worker", "devtools.timeline"]


def _slices(events):
    """(pid, tid) -> [(start_us, end_us, name)] from complete ('X') and begin/end ('B'/'E') events."""
    out, open_ = defaultdict(list), defaultdict(list)
    for e in events:
        ph, key = e.get("ph"), (e.get("pid"), e.get("tid"))
        if ph == "X" and "dur" in e:
            out[key].append((e["ts"], e["ts"] + e["dur"], e.get("name", "?")))
        elif ph == "B":
            open_[key].append(e)
        elif ph == "E" and open_[key]:
            b = open_[key].pop()
            out[key].append((b["ts"], e["ts"], b.get("name", "?")))
    return out


def _names(events):
    threads, processes = {}, {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            threads[(e.get("pid"), e.get("tid"))] = e.get("args", {}).get("name", "?")
        elif e.get("ph") == "M" and e.get("name") == "process_name":
            processes[e.get("pid")] = e.get("args", {}).get("name", "?")
    return threads, processes


def _union(intervals):
    total, end = 0.0, None
    for a, b in sorted(intervals):
        if end is None or a > end:
            total += b - a
            end = b
        elif b > end:
            total += b - end
            end = b
    return total


def summarise(events, window_us: tuple[float, float] | None = None, steps: int | None = None, top=12) -> dict:
    """Busy ms per thread over the window (default: the whole trace), the busiest first, each with its top
    slices; `steps`: decode steps in the window, for per-step figures."""
    slices = _slices(events)
    threads, processes = _names(events)
    stamps = [e["ts"] for e in events if "ts" in e and e.get("ph") != "M"]
    if not stamps:
        return {"threads": [], "window_ms": 0}
    w0, w1 = window_us or (min(stamps), max(stamps))
    span = max(1.0, w1 - w0)
    rows = []
    for key, xs in slices.items():
        clipped = [(max(a, w0), min(b, w1), n) for a, b, n in xs if b > w0 and a < w1]
        if not clipped:
            continue
        busy = _union([(a, b) for a, b, _ in clipped])
        by_name = defaultdict(lambda: [0.0, 0])
        for a, b, n in clipped:
            by_name[n][0] += b - a
            by_name[n][1] += 1
        names = sorted(by_name.items(), key=lambda kv: -kv[1][0])[:top]
        row = {"process": processes.get(key[0], str(key[0])), "thread": threads.get(key, str(key[1])),
               "busy_ms": round(busy / 1000, 2), "busy_fraction": round(busy / span, 3),
               "slices": [{"name": n, "ms": round(t / 1000, 2), "count": c,
                           **({"per_step_us": round(t / steps, 1)} if steps else {})} for n, (t, c) in names]}
        if steps:
            row["busy_per_step_us"] = round(busy / steps, 1)
        rows.append(row)
    rows.sort(key=lambda r: -r["busy_ms"])
    return {"window_ms": round(span / 1000, 1), "steps": steps, "threads": rows[:10]}


def timeline(events, window_us: tuple[float, float], bin_ms: float = 5.0, top: int = 4) -> list[dict]:
    """The window in bins of bin_ms: per bin, the busy fraction of the `top` threads busiest over the window
    (by "process / thread"). Shows which thread works when (e.g. the worker encoding a run while the GPU
    process waits, or the reverse) where the window totals only say how much."""
    slices = _slices(events)
    threads, processes = _names(events)
    w0, w1 = window_us
    step = bin_ms * 1000
    n = max(1, int((w1 - w0) // step) + 1)
    per = {}
    for key, xs in slices.items():
        iv = [(max(a, w0), min(b, w1)) for a, b, _ in xs if b > w0 and a < w1]
        if iv:
            per[f"{processes.get(key[0], key[0])} / {threads.get(key, key[1])}"] = iv
    busiest = sorted(per, key=lambda k: -_union(per[k]))[:top]
    rows = []
    for i in range(n):
        b0, b1 = w0 + i * step, min(w1, w0 + (i + 1) * step)
        row = {"t_ms": round(i * bin_ms, 1)}
        for k in busiest:
            row[k] = round(_union([(max(a, b0), min(b, b1)) for a, b in per[k] if b > b0 and a < b1]) / max(1.0, b1 - b0), 2)
        rows.append(row)
    return rows


def table(summary: dict) -> str:
    lines = [f"trace window {summary.get('window_ms')} ms, {summary.get('steps')} decode steps:"]
    for r in summary.get("threads", [])[:6]:
        lines.append(f"  {r['process']} / {r['thread']}: busy {r['busy_ms']} ms ({100 * r['busy_fraction']:.0f}%)"
                     + (f", {r['busy_per_step_us']} us per step" if "busy_per_step_us" in r else ""))
        for s in r["slices"][:6]:
            lines.append(f"      {s['ms']:8.1f} ms  x{s['count']:<6} {s['name']}")
    return "\n".join(lines)
