"""Chromium over the DevTools protocol from the Python standard library (the GPU machine has no Node),
and a static file server with the cross-origin isolation headers the app needs.

    with Site({"/": dist, "/models/": models}) as site, Browser(chromium, flags) as b:
        page = b.page(site.url("/e2e/harness/model.html"))
        page.eval("1 + 1")
"""

import base64
import functools
import http.server
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

# What every launch needs besides the GPU recipe (see ../shared/gpu-chromium/README.md).
BASE_FLAGS = ["--no-sandbox", "--disable-gpu-sandbox", "--enable-unsafe-webgpu", "--enable-webgpu-developer-features",
              "--ignore-gpu-blocklist", "--enable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--disable-breakpad", "--remote-debugging-port=0"]
# The GPU machine's recipe: ANGLE on NVIDIA EGL, Skia on Vulkan without a surface.
NVIDIA_FLAGS = ["--headless", "--use-gl=angle", "--use-angle=gl-egl", "--enable-features=Vulkan,SharedArrayBuffer",
                "--use-vulkan=native", "--disable-vulkan-surface"]
# Here: SwiftShader (as playwright.config.ts).
SWIFTSHADER_FLAGS = ["--headless", "--enable-features=Vulkan,SharedArrayBuffer", "--use-vulkan=swiftshader",
                     "--use-angle=swiftshader"]


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".js": "text/javascript", ".wasm": "application/wasm", ".onnx": "application/octet-stream",
                      ".json": "application/json", ".png": "image/png", ".webp": "image/webp"}
    mounts: dict = {}

    def translate_path(self, path):
        path = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, root in sorted(self.mounts.items(), key=lambda kv: -len(kv[0])):
            if path.startswith(prefix):
                rel = urllib.request.url2pathname(path[len(prefix):])
                # Lexical check (mounts may hold symlinks to model folders): no way out of the mount.
                full = os.path.normpath(os.path.join(root, rel))
                if full == os.path.normpath(root) or full.startswith(os.path.normpath(root) + os.sep):
                    return full
                return os.path.join(root, "__outside__")
        return str(Path("/nonexistent"))

    def end_headers(self):
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, *a):
        pass


class Site:
    """Serve `mounts` (URL prefix -> folder) on 127.0.0.1 only."""

    def __init__(self, mounts: dict):
        handler = type("H", (_Handler,), {"mounts": {k: str(v) for k, v in mounts.items()}})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler))
        self.port = self.server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


class _WS:
    def __init__(self, url: str, timeout=30):
        hostport, path = url[len("ws://"):].split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.s = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError("websocket handshake")
            buf += chunk
        head, self.rest = buf.split(b"\r\n\r\n", 1)
        if b" 101" not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake refused: " + head.decode(errors="replace")[:200])

    def send(self, obj):
        data = json.dumps(obj).encode()
        head = bytearray([0x81])
        n = len(data)
        if n < 126:
            head.append(0x80 | n)
        elif n < 65536:
            head.append(0x80 | 126)
            head += struct.pack(">H", n)
        else:
            head.append(0x80 | 127)
            head += struct.pack(">Q", n)
        mask = os.urandom(4)
        head += mask
        self.s.sendall(bytes(head) + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.rest) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError("websocket closed")
            self.rest += chunk
        out, self.rest = self.rest[:n], self.rest[n:]
        return out

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            if b1 & 0x80:
                self._read(4)
            payload = self._read(n)
            if op == 8:
                raise EOFError("websocket close frame")
            if op in (9, 10):
                continue
            msg += payload
            if b0 & 0x80:
                return json.loads(msg)


class Page:
    def __init__(self, ws_url: str):
        self.ws = _WS(ws_url)
        self.id = 0
        self.console: list[str] = []
        self.events: list[dict] = []

    def _next(self, end: float) -> dict:
        self.ws.s.settimeout(max(0.5, end - time.time()))
        m = self.ws.recv()
        method = m.get("method")
        if method == "Runtime.consoleAPICalled":
            args = m["params"].get("args", [])
            self.console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in args)[:500])
        elif method and method.startswith("Tracing."):
            self.events.append(m)  # kept for wait_event (they may arrive while a call waits for its answer)
        return m

    def call(self, method, params=None, timeout=60):
        self.id += 1
        mid = self.id
        self.ws.send({"id": mid, "method": method, "params": params or {}})
        end = time.time() + timeout
        while True:
            m = self._next(end)
            if m.get("id") == mid:
                return m
            if time.time() > end:
                raise TimeoutError(method)

    def wait_event(self, method: str, timeout=60) -> dict:
        end = time.time() + timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method:
                    return self.events.pop(i)
            if time.time() > end:
                raise TimeoutError(method)
            self._next(end)

    def trace(self, categories: list[str], fn):
        """fn() with Chromium's tracing on (every process: renderer, its workers, the GPU process): (fn's value,
        the trace's events)."""
        self.events = []
        r = self.call("Tracing.start", {"transferMode": "ReturnAsStream",
                                        "traceConfig": {"includedCategories": categories, "recordMode": "recordUntilFull"}})
        if "error" in r:
            raise RuntimeError(f"Tracing.start: {r['error']}")
        try:
            value = fn()
        finally:
            self.call("Tracing.end")
            done = self.wait_event("Tracing.tracingComplete", 120)
        handle, chunks = done["params"]["stream"], []
        while True:
            r = self.call("IO.read", {"handle": handle, "size": 1 << 22}, timeout=120)["result"]
            chunks.append(base64.b64decode(r["data"]) if r.get("base64Encoded") else r["data"].encode())
            if r.get("eof"):
                break
        self.call("IO.close", {"handle": handle})
        data = json.loads(b"".join(chunks) or b"[]")
        return value, data["traceEvents"] if isinstance(data, dict) else data

    def wait_for(self, expression: str, seconds: float) -> bool:
        """Poll a page expression every 0.1 s until it is truthy (errors while the page loads count as not
        yet), for up to `seconds`; whether it became truthy."""
        for _ in range(int(seconds * 10)):
            try:
                if self.eval(expression, 5):
                    return True
            except Exception:
                pass
            time.sleep(0.1)
        return False

    def eval(self, expression: str, timeout=120):
        """Evaluate an expression (a promise is awaited); returns its JSON value or raises with the error."""
        r = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True,
                                           "timeout": int(timeout * 1000)}, timeout=timeout + 10)
        if "error" in r:
            raise RuntimeError(f"CDP error: {r['error']}")
        res = r.get("result", {})
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise RuntimeError((d.get("exception") or {}).get("description") or d.get("text") or json.dumps(d)[:1000])
        return res.get("result", {}).get("value")


class Browser:
    def __init__(self, chromium: str, flags: list[str], log_path: Path, env: dict | None = None):
        """`env`: variables to set over this process's (a None value unsets one)."""
        self.ud = tempfile.mkdtemp(prefix="ud-fastbench-")
        self.log = open(log_path, "wb")
        e = dict(os.environ)
        for k, v in (env or {}).items():  # None: leave the variable unset
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        self.proc = subprocess.Popen([chromium, *BASE_FLAGS, *flags, f"--user-data-dir={self.ud}", "about:blank"],
                                     env=e, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        port_file = Path(self.ud) / "DevToolsActivePort"
        t0 = time.time()
        while not port_file.exists() or len(port_file.read_text().split()) < 2:
            if self.proc.poll() is not None or time.time() - t0 > 30:
                raise RuntimeError(f"chromium did not start (see {log_path})")
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])

    def page(self, url: str) -> Page:
        pages = [t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list"))
                 if t["type"] == "page"]
        p = Page(pages[0]["webSocketDebuggerUrl"])
        p.call("Runtime.enable")
        p.call("Page.enable")
        p.call("Page.navigate", {"url": url})
        return p

    def version(self) -> str:
        return json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version")).get("Browser", "")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except Exception:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except Exception:
                pass
        shutil.rmtree(self.ud, ignore_errors=True)
        self.log.close()
