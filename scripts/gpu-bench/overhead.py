"""Where decode time goes on the GPU machine, without the 2b export: CUDA launch and sync latency,
and a bf16 GEMV chain with Qwen2-VL-2B's text shapes (28 layers of q/k/v, o, gate/up, down, then the
tied lm_head: the weight bytes a decode step reads, attention left out) run eagerly and replayed as
a CUDA graph. Compares with the bound and with Hugging Face's eager decode (README.md).

    python3 scripts/gpu-bench/overhead.py     (prints one JSON object)
"""

import json
import time

import torch

dev = torch.device("cuda")
res = {"gpu": torch.cuda.get_device_name(0)}
x = torch.zeros(1, device=dev)
for _ in range(200):
    x.add_(1)
torch.cuda.synchronize()
t0 = time.perf_counter()
for _ in range(5000):
    x.add_(1)
torch.cuda.synchronize()
res["launch_us"] = (time.perf_counter() - t0) / 5000 * 1e6
t0 = time.perf_counter()
for _ in range(500):
    x.add_(1)
    torch.cuda.synchronize()
res["launch_and_sync_us"] = (time.perf_counter() - t0) / 500 * 1e6

H, I, L, KV, V = 1536, 8960, 28, 256, 151936
g = torch.Generator(device=dev).manual_seed(0)
W = [(torch.randn(H, H + 2 * KV, device=dev, dtype=torch.bfloat16, generator=g) * 0.02,
      torch.randn(H, H, device=dev, dtype=torch.bfloat16, generator=g) * 0.02,
      torch.randn(H, 2 * I, device=dev, dtype=torch.bfloat16, generator=g) * 0.02,
      torch.randn(I, H, device=dev, dtype=torch.bfloat16, generator=g) * 0.02) for _ in range(L)]
head = torch.randn(V, H, device=dev, dtype=torch.bfloat16, generator=g) * 0.02
res["weight_bytes"] = (sum(w.numel() for ws in W for w in ws) + head.numel()) * 2
h0 = torch.randn(1, H, device=dev, dtype=torch.bfloat16, generator=g)


def step(h):
    for wqkv, wo, wgu, wd in W:
        q = h @ wqkv
        h = h + q[:, :H] @ wo
        m = h @ wgu
        h = h + (torch.nn.functional.silu(m[:, :I]) * m[:, I:]) @ wd
    return (h @ head.t()).argmax(-1)


with torch.no_grad():
    for _ in range(3):
        step(h0)
    torch.cuda.synchronize()
    n = 50
    t0 = time.perf_counter()
    for _ in range(n):
        int(step(h0))  # read the token back each step, as a decode loop does
    res["gemv_chain_eager_ms"] = (time.perf_counter() - t0) / n * 1e3
    graph = torch.cuda.CUDAGraph()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        step(h0)
    torch.cuda.current_stream().wait_stream(s)
    with torch.cuda.graph(graph):
        out = step(h0)
    graph.replay()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(n):
        graph.replay()
        int(out)
    res["gemv_chain_graph_ms"] = (time.perf_counter() - t0) / n * 1e3
res["launches_per_step"] = L * 7 + 2
print(json.dumps(res))
