// npm run bench:cpu's kernel phase: the one-op graphs of kernels.py (fp32 MatMul, 4-bit MatMulNBits,
// 8-bit DynamicQuantizeLinear + MatMulInteger at Qwen2-VL-2B's gate_proj shape and the tiny model's
// lm_head shape; a GatherBlockQuantized lookup) on onnxruntime-node's CPU EP in this process and on
// onnxruntime-web's wasm EP in Chromium (e2e/harness/kernels.ts: the binaries the app runs on wasm),
// with the same thread count.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from '@playwright/test';
import ort from 'onnxruntime-node';
import type { KernelHarness, KernelTiming } from '../../e2e/harness/kernels';

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
    await page.goto('/e2e/harness/kernels.html');
    await page.waitForFunction(
      () => (window as unknown as { kernelHarness?: KernelHarness }).kernelHarness?.ready,
    );
    for (const g of graphs) {
      (rows.get(g) as Partial<KernelRow>)['onnxruntime-web wasm'] = await page.evaluate(
        (x) => (window as unknown as { kernelHarness: KernelHarness }).kernelHarness.time(x),
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
