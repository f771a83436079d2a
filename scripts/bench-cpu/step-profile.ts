// npm run bench:cpu's step profile: where one decode step of the tiny model's fast fp32 decoder
// goes on wasm, by onnxruntime's own profiler (SessionOptions.enableProfiling), per node. Runs the
// app's wasm binary (onnxruntime-web/webgpu, ort-wasm-simd-threaded.asyncify) in Node on 1 thread
// (that binary's threads need a browser), 80 decode steps fed as the engine feeds them at the
// app's capacity (2048), and prints one JSON line: medians over steps 16.. of session.run and of
// each node's kernel time.
//   npx tsx scripts/bench-cpu/step-profile.ts [model dir] [dtype]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-web/webgpu';
import { parseFastManifest } from '../../src/model/fast/manifest';
import { ropeTable, seenMask } from '../../src/model/fast/tables';

type Tensor = ort.Tensor;
const [dir = resolve(import.meta.dirname, '../../models/tiny-random-qwen2-vl'), dtype = 'fp32'] =
  process.argv.slice(2);
const CAPACITY = 2048;
const PROMPT = 300;
const STEPS = 80;
const SKIP = 16;

const base = resolve(
  import.meta.dirname,
  '../../node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify',
);
ort.env.wasm.numThreads = 1;
// The binary handed over (Node's fetch cannot read file: URLs), its glue by URL.
ort.env.wasm.wasmBinary = readFileSync(`${base}.wasm`);
ort.env.wasm.wasmPaths = { mjs: pathToFileURL(`${base}.mjs`).href };

interface Event {
  name: string;
  dur: number;
  args?: { op_name?: string; output_type_shape?: Record<string, number[]>[] };
}

// onnxruntime's wasm prints its profile (JSON events, one a line) straight to file descriptor 1:
// the runs happen in a child process whose stdout this one reads.
if (process.env.STEP_PROFILE_CHILD !== '1') {
  const r = spawnSync('npx', ['tsx', import.meta.filename, dir, dtype], {
    env: { ...process.env, STEP_PROFILE_CHILD: '1' },
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`step profile failed: ${r.stderr.slice(-400)}`);
  const parsed = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{"cat"'))
    .map((l) => JSON.parse(l.replace(/,\s*$/, '')) as Event);
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? 0;
  const runs = parsed.filter((e) => e.name === 'model_run').map((e) => e.dur);
  const vocab = String(
    parseFastManifest(readFileSync(join(dir, 'onnx/fast.json'), 'utf8'), dir).text.vocab,
  );
  const nodes = new Map<string, { op: string; us: number[]; tail: boolean }>();
  for (const e of parsed) {
    if (!e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const op = e.args?.op_name ?? '?';
    // The vocabulary-wide tail: the lm_head and every op over its [rows, vocab] output (the
    // penalty's mask ops, the argmax).
    const wide = (e.args?.output_type_shape ?? []).some((o) =>
      Object.values(o).some((dims) => dims.map(String).includes(vocab)),
    );
    const n = nodes.get(name) ?? { op, us: [], tail: wide || op === 'ArgMax' };
    n.us.push(e.dur);
    nodes.set(name, n);
  }
  const rows = [...nodes.entries()]
    .map(([name, n]) => ({ name, op: n.op, vocabTail: n.tail, medianUs: median(n.us.slice(SKIP)) }))
    .sort((a, b) => b.medianUs - a.medianUs);
  const sum = (f: (r: (typeof rows)[number]) => boolean) =>
    rows.filter(f).reduce((t, r) => t + r.medianUs, 0);
  const measured = runs.slice(SKIP);
  console.log(
    JSON.stringify({
      model: dir,
      dtype,
      capacity: CAPACITY,
      threads: 1,
      steps: measured.length,
      runMedianUs: median(measured),
      runMinUs: Math.min(...measured),
      kernelsUs: sum(() => true),
      vocabTailUs: sum((r) => r.vocabTail),
      nodes: rows,
    }),
  );
  process.exit(0);
}

const m = parseFastManifest(readFileSync(join(dir, 'onnx/fast.json'), 'utf8'), dir);
const g = m.graphs[dtype]?.decoder;
if (!g) throw new Error(`${dir}: no fast ${dtype} decoder`);
const t = m.text;
const session = await ort.InferenceSession.create(readFileSync(join(dir, g.file)), {
  executionProviders: ['wasm'],
  graphOptimizationLevel: 'all',
  enableProfiling: true,
  externalData: g.data.map((d) => ({ path: d.path, data: readFileSync(join(dir, d.file)) })),
});
const D = t.kv_head_dim;
// Text positions only (the step's cost does not depend on the angles).
const positions = new BigInt64Array(3 * PROMPT).map((_, i) => BigInt(i % PROMPT));
const table = ropeTable(positions, PROMPT, 0, CAPACITY, t.inv_freq, t.mrope_section, D / 2);
const cos = new ort.Tensor('float32', table.cos, [CAPACITY, D / 2]);
const sin = new ort.Tensor('float32', table.sin, [CAPACITY, D / 2]);
let kv: Record<string, Tensor> = {};
for (let l = 0; l < t.layers; l++)
  for (const k of ['key', 'value'])
    kv[`past_${k}.${l}`] = new ort.Tensor('float32', new Float32Array(t.kv_heads * CAPACITY * D), [
      1,
      t.kv_heads,
      CAPACITY,
      D,
    ]);
const seen = seenMask([1, 2, 3], t.vocab);
const zero = new ort.Tensor('float32', new Float32Array(t.hidden), [1, t.hidden]);
const i32 = (a: number[], dims: number[]) => new ort.Tensor('int32', Int32Array.from(a), dims);
let previous = 5;
for (let step = 0; step < STEPS; step++) {
  const past = PROMPT + step;
  const out = await session.run({
    input_ids: i32([previous], [1, 1]),
    visual_rows: i32([0], [1, 1]),
    visual_embeds: zero,
    seqlens_k: i32([past], [1]),
    total_sequence_length: new ort.Tensor('int32', Int32Array.of(past + 1), []),
    cos_cache: cos,
    sin_cache: sin,
    logit_rows: new ort.Tensor('int64', BigInt64Array.of(0n), [1]),
    seen: new ort.Tensor('float32', seen, [t.vocab]),
    ...kv,
  });
  kv = {};
  for (let l = 0; l < t.layers; l++)
    for (const k of ['key', 'value']) kv[`past_${k}.${l}`] = out[`present_${k}.${l}`] as Tensor;
  previous = Number((out['next_token'] as Tensor).data[0]);
  seen[previous] = 1;
}
session.endProfiling();
process.exit(0);
