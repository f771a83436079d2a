// npm run bench:cpu's kernel phase: the one-op graphs of kernels.py (fp32 MatMul, 4-bit MatMulNBits,
// 8-bit DynamicQuantizeLinear + MatMulInteger at Qwen2-VL-2B's gate_proj shape and the tiny model's
// lm_head shape; a GatherBlockQuantized lookup) on onnxruntime-node's CPU EP in this process and on
// onnxruntime-web's wasm EP in Chromium, with the same thread count. The Chromium side is a page of
// its own (PAGE below), served through Playwright's routing under the bench server's origin,
// cross-origin isolated, with onnxruntime-web's files straight from node_modules: the bundle the
// app's worker imports (ort.webgpu.bundle.min.mjs) and the wasm binary it runs on wasm
// (ort-wasm-simd-threaded.asyncify, src/model/runtime.ts). Nothing of it enters the app's build.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from '@playwright/test';
import ort from 'onnxruntime-node';

export type KernelTiming = { medianMs: number; minMs: number } | { error: string };

const ORT_DIST = resolve(import.meta.dirname, '../../node_modules/onnxruntime-web/dist');
const ROUTE = '/bench-cpu-kernels/';

/** The page: times `runs` session.run calls of one graph after two warm-up runs (window.time). */
const PAGE = `<!doctype html><meta charset="utf-8"><title>kernels</title>
<script type="module">
import * as ort from './ort.webgpu.bundle.min.mjs';
let threads = null;
window.time = async (a) => {
  // onnxruntime-web initialises its wasm (and thread pool) once per page.
  if (threads === null) {
    ort.env.wasm.numThreads = a.threads;
    ort.env.wasm.wasmPaths = {
      wasm: new URL('./ort-wasm-simd-threaded.asyncify.wasm', location.href).href,
      mjs: new URL('./ort-wasm-simd-threaded.asyncify.mjs', location.href).href,
    };
    threads = a.threads;
  }
  if (threads !== a.threads) return { error: 'one thread count per page' };
  try {
    const bytes = new Uint8Array(await (await fetch(a.url)).arrayBuffer());
    const s = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const feeds = a.input === 'ids'
      ? { ids: new ort.Tensor('int32', Int32Array.of(7), [1, 1]) }
      : { x: new ort.Tensor('float32', new Float32Array(a.width).fill(0.5), [1, a.width]) };
    await s.run(feeds);
    await s.run(feeds);
    const ms = [];
    for (let i = 0; i < a.runs; i++) {
      const t0 = performance.now();
      await s.run(feeds);
      ms.push(performance.now() - t0);
    }
    await s.release();
    ms.sort((x, y) => x - y);
    return { medianMs: ms[Math.floor(ms.length / 2)], minMs: ms[0] };
  } catch (e) {
    return { error: String(e.message).split('\\n')[0].slice(0, 200) };
  }
};
window.ready = self.crossOriginIsolated;
</script>`;

const TYPES: Record<string, string> = {
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.html': 'text/html; charset=utf-8',
};

export const KERNEL_RUNTIMES = ['onnxruntime-node', 'onnxruntime-web wasm'] as const;
export type KernelRow = { graph: string; threads: number } & Record<
  (typeof KERNEL_RUNTIMES)[number],
  KernelTiming
>;

const RUNS = 15;
const width = (graph: string) => (graph.startsWith('tiny') ? 16 : 1536);
const input = (graph: string) => (graph.startsWith('embed') ? ('ids' as const) : ('x' as const));

async function onNode(path: string, graph: string, threads: number): Promise<KernelTiming> {
  try {
    const s = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
    });
    const feeds: Record<string, ort.Tensor> =
      input(graph) === 'ids'
        ? { ids: new ort.Tensor('int32', Int32Array.of(7), [1, 1]) }
        : {
            x: new ort.Tensor('float32', new Float32Array(width(graph)).fill(0.5), [
              1,
              width(graph),
            ]),
          };
    await s.run(feeds);
    await s.run(feeds);
    const ms: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await s.run(feeds);
      ms.push(performance.now() - t0);
    }
    await s.release();
    ms.sort((x, y) => x - y);
    return { medianMs: ms[Math.floor(RUNS / 2)] as number, minMs: ms[0] as number };
  } catch (e) {
    return { error: ((e as Error).message.split('\n')[0] ?? '').slice(0, 200) };
  }
}

/** `dir`: the graphs on disk; `url`: the same folder as the served page sees it. */
export async function kernelBench(a: {
  browser: Browser;
  origin: string;
  dir: string;
  url: string;
  threads: number;
}): Promise<KernelRow[]> {
  const graphs = readdirSync(a.dir)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => f.replace(/\.onnx$/, ''))
    .sort();
  const rows = new Map<string, Partial<KernelRow>>(
    graphs.map((g) => [g, { graph: g, threads: a.threads }]),
  );
  for (const g of graphs) {
    (rows.get(g) as Partial<KernelRow>)['onnxruntime-node'] = await onNode(
      join(a.dir, `${g}.onnx`),
      g,
      a.threads,
    );
  }
  const context = await a.browser.newContext({ baseURL: a.origin, serviceWorkers: 'block' });
  try {
    const page = await context.newPage();
    await page.route(`**${ROUTE}*`, (route) => {
      const name = new URL(route.request().url()).pathname.slice(ROUTE.length) || 'index.html';
      const body =
        name === 'index.html'
          ? PAGE
          : /^ort[\w.-]*\.(mjs|wasm)$/.test(name)
            ? readFileSync(join(ORT_DIST, name))
            : null;
      if (body === null) return route.fulfill({ status: 404 });
      return route.fulfill({
        body,
        headers: {
          'Content-Type': TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
          'Cross-Origin-Opener-Policy': 'same-origin',
          'Cross-Origin-Embedder-Policy': 'require-corp',
          'Cross-Origin-Resource-Policy': 'same-origin',
        },
      });
    });
    await page.goto(ROUTE);
    await page.waitForFunction(() => 'ready' in window);
    if (!(await page.evaluate(() => (window as unknown as { ready: boolean }).ready)))
      throw new Error('kernel page: not cross-origin isolated (no wasm threads)');
    for (const g of graphs) {
      (rows.get(g) as Partial<KernelRow>)['onnxruntime-web wasm'] = await page.evaluate(
        (x) => (window as unknown as { time: (a: typeof x) => Promise<KernelTiming> }).time(x),
        {
          url: `${a.url}${g}.onnx`,
          threads: a.threads,
          input: input(g),
          width: width(g),
          runs: RUNS,
        },
      );
    }
  } finally {
    await context.close();
  }
  return graphs.map((g) => rows.get(g) as KernelRow);
}

const cell = (t: KernelTiming) =>
  'error' in t ? `no kernel` : `${t.medianMs.toFixed(2)} (${t.minMs.toFixed(2)})`;

export function kernelTable(rows: KernelRow[]): string {
  const head = ['graph', 'thr', ...KERNEL_RUNTIMES.map((r) => `${r} ms`)];
  const body = rows.map((r) => [
    r.graph,
    String(r.threads),
    ...KERNEL_RUNTIMES.map((k) => cell(r[k])),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    'one-op graphs, median (min) ms per session.run of 15:',
    fmt(head),
    ...body.map(fmt),
  ].join('\n');
}
