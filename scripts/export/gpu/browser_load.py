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
import base64
import functools
import http.server
import json
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

FLAGS = ["--headless", "--use-gl=angle", "--use-angle=gl-egl", "--enable-features=Vulkan", "--use-vulkan=native",
         "--disable-vulkan-surface", "--no-sandbox", "--disable-gpu-sandbox", "--enable-unsafe-webgpu",
         "--enable-webgpu-developer-features", "--ignore-gpu-blocklist", "--enable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--disable-breakpad", "--remote-debugging-port=0"]


# The same switches on a development machine (SwiftShader), to test this driver there.
LOCAL_FLAGS = ["--headless", "--no-sandbox", "--enable-unsafe-webgpu", "--enable-features=Vulkan,SharedArrayBuffer",
               "--use-vulkan=swiftshader", "--use-angle=swiftshader", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--remote-debugging-port=0"]


class Cdp:
    """A minimal DevTools websocket client: text frames, masked sends, JSON messages."""

    def __init__(self, url: str):
        hostport, path = url[len("ws://"):].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += self.sock.recv(4096)
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0] + b" ":
            raise RuntimeError(f"websocket handshake: {head[:120]!r}")
        self.next_id = 0

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("DevTools connection closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _recv(self) -> dict:
        data = b""
        while True:
            b0, b1 = self._take(2)
            n = b1 & 0x7F
            if n == 126:
                (n,) = struct.unpack(">H", self._take(2))
            elif n == 127:
                (n,) = struct.unpack(">Q", self._take(8))
            payload = self._take(n)
            if b0 & 0x0F == 8:
                raise EOFError("DevTools closed the connection")
            if b0 & 0x0F in (9, 10):
                continue
            data += payload
            if b0 & 0x80:
                return json.loads(data)

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        self.next_id += 1
        msg = json.dumps({"id": self.next_id, "method": method, "params": params or {}}).encode()
        n = len(msg)
        head = bytearray([0x81])
        head += bytes([0x80 | n]) if n < 126 else (bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536
                                                  else bytes([0x80 | 127]) + struct.pack(">Q", n))
        mask = os.urandom(4)
        self.sock.sendall(bytes(head) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
        end = time.time() + timeout
        while True:
            self.sock.settimeout(max(1.0, end - time.time()))
            m = self._recv()
            if m.get("id") == self.next_id:
                return m

    def evaluate(self, expr: str, timeout: float = 600):
        r = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True,
                                           "timeout": int(timeout * 1000)}, timeout + 10)
        res = r.get("result", {})
        if "exceptionDetails" in res:
            return {"exception": json.dumps(res["exceptionDetails"])[:2000]}
        return res.get("result", {}).get("value")


def serve(routes: dict[str, Path]) -> int:
    """One static server for several folders (longest prefix first), with the app's isolation headers."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                          ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}

        def translate_path(self, path):
            path = path.split("?", 1)[0]
            for prefix in sorted(routes, key=len, reverse=True):
                if path.startswith(prefix):
                    return str(routes[prefix] / path[len(prefix):].lstrip("/"))
            return str(routes["/"] / path.lstrip("/"))

        def end_headers(self):
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(routes["/"])))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv.server_address[1]


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


def one(chromium: str, flags: list, port: int, load: dict, run: dict | None, timeout: float) -> dict:
    """A fresh Chromium for one load configuration (and one question when it loads)."""
    ud = tempfile.mkdtemp(prefix="ud-")
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    env.setdefault("LD_LIBRARY_PATH", "/opt/crlibs:/usr/local/nvidia/lib64")
    proc = subprocess.Popen([chromium, *flags, f"--user-data-dir={ud}", "about:blank"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(ud + ".log", "wb"), start_new_session=True)
    gpu = GpuMemory()
    res: dict = {"load_args": load}
    try:
        port_file = Path(ud) / "DevToolsActivePort"
        t0 = time.time()
        while not port_file.exists() or len(port_file.read_text().split()) < 2:
            if proc.poll() is not None or time.time() - t0 > 30:
                raise RuntimeError("Chromium did not open DevTools")
            time.sleep(0.1)
        dport = int(port_file.read_text().split()[0])
        page = next(t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{dport}/json/list")) if t["type"] == "page")
        cdp = Cdp(page["webSocketDebuggerUrl"])
        cdp.call("Page.enable")
        cdp.call("Page.navigate", {"url": f"http://127.0.0.1:{port}/e2e/harness/model.html"})
        for _ in range(300):
            if cdp.evaluate("!!(window.modelHarness && window.modelHarness.ready)", 5) is True:
                break
            time.sleep(0.1)
        # The first requestAdapter after a launch sometimes returns null there: ask twice.
        res["adapter"] = cdp.evaluate(
            "(async () => { for (let i = 0; i < 2; i++) { const a = await navigator.gpu?.requestAdapter({powerPreference: 'high-performance'});"
            " if (a) return {info: [a.info.vendor, a.info.architecture, a.info.description, a.info.isFallbackAdapter],"
            " f16: a.features.has('shader-f16'), maxBufferSize: a.limits.maxBufferSize,"
            " maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize}; } return null; })()", 30)
        t1 = time.time()
        out = cdp.evaluate(f"modelHarness.load({json.dumps(load)}).then(o => o.ok ? {{ok: true, info: o.value.info}}"
                           f" : {{ok: false, error: o.error, events: (o.events || []).slice(-5)}})", timeout)
        res["load_wall_s"] = round(time.time() - t1, 1)
        res["load"] = out
        if isinstance(out, dict) and out.get("ok") and run:
            for i in range(2):  # the first run compiles shaders; the second is the steady state
                t2 = time.time()
                r = cdp.evaluate(f"modelHarness.run({json.dumps(run)}).then(o => o.ok ? {{ok: true, timings:"
                                 f" o.value.result.timings, device: o.value.result.device, outputIds: o.value.result.outputIds}}"
                                 f" : {{ok: false, error: o.error}})", timeout)
                if isinstance(r, dict):
                    r["wall_s"] = round(time.time() - t2, 1)
                res[f"run{i + 1}"] = r
    except Exception as e:
        res["error"] = f"{type(e).__name__}: {e}"
    finally:
        res["chromium_peak_rss_bytes"] = chromium_rss_peak(proc.pid)
        gpu.stop = True
        res["gpu_memory_peak_bytes"] = gpu.peak
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except Exception:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except Exception:
                pass
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
    port = serve({"/": Path(a.site), "/models/": Path(a.models), "/test-files/fixtures/": Path(a.fixtures)})
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
        r = one(a.chromium, LOCAL_FLAGS if a.local else FLAGS, port, c, run, a.timeout)
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
