// Benchmark harness (npm run bench:cpu's kernel phase): times one-op ONNX graphs on onnxruntime-web's
// wasm EP in this page, with the binaries the app runs on wasm (the same imports as
// src/model/runtime.ts: onnxruntime-web/webgpu, ort-wasm-simd-threaded.asyncify), so no other
// onnxruntime build enters the app's assets (and its offline cache).
import * as ort from 'onnxruntime-web/webgpu';
import asyncifyMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import asyncifyWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';

export type KernelTiming = { medianMs: number; minMs: number } | { error: string };

let threadsSet: number | null = null;

/** Median and minimum of `runs` session.run calls after two warm-up runs, or why it failed. */
async function time(a: {
  url: string;
  threads: number;
  input: 'x' | 'ids';
  width: number;
  runs: number;
}): Promise<KernelTiming> {
  // onnxruntime-web initialises its wasm (and thread pool) once per page.
  if (threadsSet === null) {
    ort.env.wasm.numThreads = a.threads;
    ort.env.wasm.wasmPaths = {
      wasm: new URL(asyncifyWasm, location.href).href,
      mjs: new URL(asyncifyMjs, location.href).href,
    };
    threadsSet = a.threads;
  }
  if (threadsSet !== a.threads) return { error: 'one thread count per page' };
  try {
    const bytes = new Uint8Array(await (await fetch(a.url)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const feeds: Record<string, ort.Tensor> =
      a.input === 'ids'
        ? { ids: new ort.Tensor('int32', Int32Array.of(7), [1, 1]) }
        : { x: new ort.Tensor('float32', new Float32Array(a.width).fill(0.5), [1, a.width]) };
    await session.run(feeds);
    await session.run(feeds);
    const ms: number[] = [];
    for (let i = 0; i < a.runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      ms.push(performance.now() - t0);
    }
    await session.release();
    ms.sort((x, y) => x - y);
    return { medianMs: ms[Math.floor(ms.length / 2)] as number, minMs: ms[0] as number };
  } catch (e) {
    return { error: ((e as Error).message.split('\n')[0] ?? '').slice(0, 200) };
  }
}

const harness = { time, isolated: self.crossOriginIsolated, ready: true };
export type KernelHarness = typeof harness;
(window as unknown as { kernelHarness: KernelHarness }).kernelHarness = harness;
