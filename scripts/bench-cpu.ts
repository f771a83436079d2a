// npm run bench:cpu — issue 11 item 6: the app's fast engine on wasm (headless Chromium, the model
// harness page of the production build, N wasm threads under cross-origin isolation) against
// onnxruntime-node's CPU execution provider on the SAME graph files with the same thread count, fed
// as the engine feeds them (scripts/fast-ort.ts), same prompt ids and pixels (the reference
// fixtures' questions), same number of new tokens; plus the reference engine (transformers.js on the
// reference graphs) on wasm for the tiny model. Checks that the greedy ids agree, prints a table
// per model / dtype / threads and writes the numbers (bench/cpu-<cores>core.json). Makes the
// Qwen2-VL-2B-shaped q4 model first when missing (scripts/bench-cpu/make_2b.py). Numbers are
// printed and written, never asserted.
//
//   npm run bench:cpu -- [--threads 1,2] [--models tiny,2b] [--tiny-tokens 64] [--big-tokens 24]
//                        [--big-cases still-sample5] [--out bench/cpu-2core.json]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from '@playwright/test';
import { format, resolveConfig } from 'prettier';
import { topK } from '../src/model/decoding';
import {
  fixture,
  fixtureRun,
  load,
  openHarness,
  run,
  type Fixture,
  type RunResult,
} from '../e2e/model-fixtures';
import { kernelBench, kernelTable, type KernelRow } from './bench-cpu/kernels';
import { FastOrt, ortNodeVersion, type FastOrtRun } from './fast-ort';
import { fixtureVisuals } from './fixture-visuals';
import { ensureBuild, privateChromiumArgs, repoRoot, serve } from './headless-app';

const STOPS = [151645, 151643];
/** KV capacity on both sides: --capacity, by default the app's (DEFAULT_LOAD_SETTINGS.kvCapacity). */
let CAPACITY = 2048;
const BIG_DIR = 'models/.bench/qwen2-vl-2b-random-fast';
const TINY_DIR = 'models/tiny-random-qwen2-vl';
const KERNEL_DIR = 'models/.bench/kernels';
const OFFICIAL_ONLY = { official: true, letters: false, likelihood: false };

interface Made {
  /** The embedding: fp32 Gather (loads on the app's wasm runtime) or q4 GatherBlockQuantized. */
  embed?: string;
  /** The dtypes whose fast graphs it has (q4, q8). */
  dtypes?: string[];
  seconds: number;
  bytes: number;
  files: Record<string, number>;
}

const log = (m: string) => process.stderr.write(`${m}\n`);

/** The 2B-shaped model folder: made by make_2b.py unless its made.json says it is there (fp32 embedding). */
function ensureBig(): { made: Made; builtNow: boolean; wallS: number } {
  const dir = resolve(repoRoot, BIG_DIR);
  const stamp = join(dir, 'made.json');
  if (existsSync(stamp)) {
    const made = JSON.parse(readFileSync(stamp, 'utf8')) as Made;
    // Folders made before the q8 graphs (no dtypes field) are rebuilt.
    if (made.embed === 'fp32' && made.dtypes?.includes('q8'))
      return { made, builtNow: false, wallS: 0 };
  }
  log(`making ${BIG_DIR} (Qwen2-VL-2B shapes, random weights, fast q4 and q8 graphs) …`);
  const t0 = performance.now();
  const r = spawnSync(
    'npx',
    [
      'tsx',
      'scripts/run-python.ts',
      'scripts/bench-cpu/make_2b.py',
      dir,
      '--tokenizer',
      resolve(repoRoot, TINY_DIR),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  if (r.status !== 0 || !existsSync(stamp)) throw new Error(`make_2b.py failed (${r.status})`);
  return {
    made: JSON.parse(readFileSync(stamp, 'utf8')) as Made,
    builtNow: true,
    wallS: (performance.now() - t0) / 1000,
  };
}

interface StepProfile {
  runMedianUs: number;
  runMinUs: number;
  kernelsUs: number;
  vocabTailUs: number;
  nodes: { name: string; op: string; vocabTail: boolean; medianUs: number }[];
}

/** step-profile.ts: onnxruntime's per-node profile of the tiny fp32 decode step on wasm (1 thread). */
function stepProfile(): StepProfile | { error: string } {
  const r = spawnSync('npx', ['tsx', 'scripts/bench-cpu/step-profile.ts'], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) return { error: r.stderr.slice(-400) };
  const p = JSON.parse(line) as StepProfile;
  return { ...p, nodes: p.nodes.slice(0, 16) };
}

function stepTable(p: StepProfile): string {
  const us = (x: number) => `${(x / 1000).toFixed(2)} ms`;
  return [
    `one decode step of the tiny fp32 fast decoder on wasm (onnxruntime's profiler, 1 thread, capacity ${CAPACITY}):`,
    `session.run median ${us(p.runMedianUs)} (min ${us(p.runMinUs)}); its kernels ${us(p.kernelsUs)}, of which the vocabulary-wide tail (lm_head, penalty mask ops, argmax over 151936) ${us(p.vocabTailUs)} (${((100 * p.vocabTailUs) / p.kernelsUs).toFixed(0)}%)`,
    ...p.nodes
      .slice(0, 8)
      .map((n) => `  ${us(n.medianUs).padStart(9)}  ${n.op.padEnd(20)} ${n.name}`),
  ].join('\n');
}

/** kernels.py's one-op graphs (a few seconds). */
function ensureKernels(): string {
  const dir = resolve(repoRoot, KERNEL_DIR);
  if (existsSync(join(dir, 'embed_gbq.onnx'))) return dir;
  const r = spawnSync(
    'npx',
    ['tsx', 'scripts/run-python.ts', 'scripts/bench-cpu/kernels.py', dir],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  if (r.status !== 0) throw new Error(`kernels.py failed (${r.status})`);
  return dir;
}

interface Side {
  visionMs: number | null;
  prefillMs: number | null;
  ttftMs: number | null;
  decodeTokens: number;
  decodeTokensPerS: number | null;
  outputIds: number[];
  /** Session creation (ORT) or the whole model load (the app). */
  loadMs?: number;
  /** Every measured run's decode rate (the best is decodeTokensPerS). */
  decodeTokensPerSRuns?: (number | null)[];
}

interface Row {
  model: string;
  dtype: string;
  threads: number;
  case: string;
  promptTokens: number;
  wasm: Side & {
    engineNote: string;
    frames: number;
    totalMs: number | null;
    /** onnxruntime-web's wasm heap after the question (its peak: a wasm memory never shrinks). */
    wasmHeapBytes: number | null;
    runMsPerStep: number | null;
    stepMs: number | null;
  };
  ortCpu: Side;
  /** The reference engine (transformers.js) on wasm, tiny model only. */
  reference: (Side & { engineNote: string }) | null;
  wasmOverOrt: number | null;
  fastOverReference: number | null;
  /** First index where a run's greedy ids differ from onnxruntime's (null: equal over the shorter). */
  idsFirstDiff: number | null;
  /** The same for the reference engine's runs (other graphs: fp32 may round differently). */
  referenceIdsFirstDiff: number | null;
  /** Max |wasm - ORT| over ORT's top-20 first logits. */
  firstLogitsMaxAbsDiff: number | null;
  loadavg: number[];
}

function fromApp(r: RunResult): Side {
  return {
    visionMs: r.timings.visionMs,
    prefillMs: r.timings.prefillMs,
    ttftMs: r.timings.timeToFirstTokenMs,
    decodeTokens: r.timings.decodeTokens,
    decodeTokensPerS: r.timings.decodeTokensPerS,
    outputIds: r.outputIds,
  };
}

function fromOrt(r: FastOrtRun): Side {
  return {
    visionMs: r.visionMs,
    prefillMs: r.prefillMs,
    // Vision + prefill (the first id comes out of the prefill run); the app's TTFT also holds
    // frame preparation, tokenizing and messaging.
    ttftMs: r.visionMs + r.prefillMs,
    decodeTokens: r.outputIds.length - 1,
    decodeTokensPerS: r.decodeTokensPerS,
    outputIds: r.outputIds,
  };
}

/** A comma-separated dtype list, each one of `allowed`. */
function dtypeList<T extends string>(list: string, allowed: readonly T[]): T[] {
  return list.split(',').map((d) => {
    if (!(allowed as readonly string[]).includes(d))
      throw new Error(`dtype ${d} is not one of ${allowed.join(', ')}`);
    return d as T;
  });
}

function firstDiff(a: readonly number[], b: readonly number[]): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return null;
}

interface Target {
  model: string;
  dir: string;
  dtype: 'fp32' | 'q4' | 'q8';
  tokens: number;
  cases: Fixture[];
  reference: boolean;
  threads: number[];
  /** Measured runs per case and side; the fastest decode is reported (a shared machine: others' jobs only slow a run down). */
  repeats: number;
  /** One unreported question (8 tokens) after each load first: first-run costs out of the numbers. */
  warmup: boolean;
}

/** The run with the highest decode rate, and every run's rate. */
function best<T>(runs: T[], rate: (r: T) => number | null): { run: T; rates: (number | null)[] } {
  const rates = runs.map(rate);
  let i = 0;
  rates.forEach((r, j) => {
    if ((r ?? -1) > (rates[i] ?? -1)) i = j;
  });
  return { run: runs[i] as T, rates };
}

async function bench(page: Page, target: Target, threads: number, origin: string): Promise<Row[]> {
  const url = `${origin}/cli-model/${target.dir.slice('models/'.length)}/`;
  const tag = `${target.model} ${target.dtype} ${threads}t`;
  // onnxruntime-node first: its top-20 first-logit ids are what the browser run reads back.
  log(`${tag}: onnxruntime-node CPU …`);
  const ort = await FastOrt.create({
    modelDir: resolve(repoRoot, target.dir),
    dtype: target.dtype,
    threads,
    capacity: CAPACITY,
  });
  const ortRuns = new Map<
    string,
    { run: FastOrtRun; rates: (number | null)[]; all: FastOrtRun[] }
  >();
  const ortRun = (fx: Fixture, newTokens: number) => {
    const v = fixtureVisuals(fx);
    return ort.run({
      inputIds: fx.input_ids,
      clip: v.clip,
      still: v.still,
      newTokens,
      stops: STOPS,
    });
  };
  if (target.warmup && target.cases[0]) await ortRun(target.cases[0], 8);
  for (const fx of target.cases) {
    const all: FastOrtRun[] = [];
    for (let i = 0; i < target.repeats; i++) all.push(await ortRun(fx, target.tokens));
    ortRuns.set(fx.case_id, { ...best(all, (r) => r.decodeTokensPerS), all });
  }
  const ortLoadMs = ort.loadMs;
  await ort.release();

  const appRun = async (engine: 'fast' | 'reference') => {
    log(`${tag}: ${engine} engine on wasm in Chromium …`);
    const { info } = await load(page, {
      from: url,
      dtype: target.dtype,
      device: 'wasm',
      numThreads: threads,
      engine,
      kvCapacity: CAPACITY,
      // Fast engine on wasm: each decode step's session.run timed (result.profile.runCpuMs).
      profile: engine === 'fast',
    });
    if (info.engine !== engine || info.device !== 'wasm' || info.threads !== threads) {
      throw new Error(
        `${tag}: asked for ${engine} on wasm with ${threads} threads, got ${info.engine} on ${info.device} with ${info.threads}`,
      );
    }
    const out = new Map<string, { run: RunResult; rates: (number | null)[]; all: RunResult[] }>();
    const appOne = async (fx: Fixture, maxNewTokens: number) => {
      const o = ortRuns.get(fx.case_id)?.run as FastOrtRun;
      const r = await run(
        page,
        fixtureRun(fx, {
          scoring: OFFICIAL_ONLY,
          maxNewTokens,
          logitsAt: topK(o.firstLogits, 20).map((x) => x.id),
        }),
      );
      if (r.result.inputIds.join() !== fx.input_ids.join())
        throw new Error(`${tag} ${fx.case_id}: the app's prompt ids differ from the fixture's`);
      return r.result;
    };
    if (target.warmup && target.cases[0]) await appOne(target.cases[0], 8);
    for (const fx of target.cases) {
      const all: RunResult[] = [];
      for (let i = 0; i < target.repeats; i++) all.push(await appOne(fx, target.tokens));
      out.set(fx.case_id, { ...best(all, (r) => r.timings.decodeTokensPerS), all });
    }
    return { info, out };
  };
  const fast = await appRun('fast');
  const ref = target.reference ? await appRun('reference') : null;

  return target.cases.map((fx) => {
    const oBest = ortRuns.get(fx.case_id) as NonNullable<ReturnType<typeof ortRuns.get>>;
    const wBest = fast.out.get(fx.case_id) as NonNullable<ReturnType<typeof fast.out.get>>;
    const rBest = ref?.out.get(fx.case_id) ?? null;
    const o = oBest.run;
    const w = wBest.run;
    const rr = rBest?.run ?? null;
    const top = topK(o.firstLogits, 20);
    const wasm = fromApp(w);
    const cpu = fromOrt(o);
    const reference = rr
      ? {
          ...fromApp(rr),
          engineNote: rr.engineNote,
          loadMs: ref?.info.loadMs,
          decodeTokensPerSRuns: rBest?.rates ?? [],
        }
      : null;
    const ratio = (a: number | null, b: number | null) => (a && b ? a / b : null);
    // Every run against onnxruntime's reported one: greedy decoding is deterministic.
    const diffOf = (runs: { outputIds: number[] }[]) =>
      runs.map((r) => firstDiff(r.outputIds, o.outputIds)).find((d) => d !== null) ?? null;
    return {
      model: target.model,
      dtype: target.dtype,
      threads,
      case: fx.case_id,
      promptTokens: fx.input_ids.length,
      wasm: {
        ...wasm,
        loadMs: fast.info.loadMs,
        engineNote: w.engineNote,
        frames: fx.indices?.length ?? 0,
        totalMs: w.timings.totalMs,
        wasmHeapBytes: w.timings.wasmHeapBytes,
        decodeTokensPerSRuns: wBest.rates,
        // Per decode step: inside session.run vs the whole step (1000 / tokens/s: the app's loop too).
        runMsPerStep: w.profile?.runCpuMs ?? null,
        stepMs: wasm.decodeTokensPerS ? 1000 / wasm.decodeTokensPerS : null,
      },
      ortCpu: { ...cpu, loadMs: ortLoadMs, decodeTokensPerSRuns: oBest.rates },
      reference,
      wasmOverOrt: ratio(wasm.decodeTokensPerS, cpu.decodeTokensPerS),
      fastOverReference: reference
        ? ratio(wasm.decodeTokensPerS, reference.decodeTokensPerS)
        : null,
      idsFirstDiff: diffOf([...wBest.all, ...oBest.all]),
      referenceIdsFirstDiff: rBest ? diffOf(rBest.all) : null,
      firstLogitsMaxAbsDiff: w.logitsAt
        ? Math.max(...top.map((x, i) => Math.abs((w.logitsAt?.[i] ?? NaN) - x.logit)))
        : null,
      loadavg: loadavg().map((x) => Number(x.toFixed(2))),
    };
  });
}

/** JSON.stringify replacer: 5 significant digits are plenty for timings on a shared machine. */
const roundNumbers = (_key: string, v: unknown) =>
  typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(5)) : v;

const f = (v: number | null | undefined, d = 0) =>
  v === null || v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d);

function table(rows: Row[]): string {
  const head = [
    'model',
    'dtype',
    'thr',
    'case',
    'prompt',
    'tokens',
    'wasm tok/s',
    'ORT CPU tok/s',
    'wasm/ORT',
    'run ms/step',
    'ref wasm tok/s',
    'fast/ref',
    'TTFT wasm',
    'TTFT ORT',
    'prefill wasm',
    'prefill ORT',
    'vision wasm',
    'vision ORT',
    'ids',
  ];
  const body = rows.map((r) => [
    r.model,
    r.dtype,
    String(r.threads),
    r.case,
    String(r.promptTokens),
    `${r.wasm.decodeTokens}/${r.ortCpu.decodeTokens}`,
    f(r.wasm.decodeTokensPerS, 1),
    f(r.ortCpu.decodeTokensPerS, 1),
    f(r.wasmOverOrt, 2),
    `${f(r.wasm.runMsPerStep, 2)}/${f(r.wasm.stepMs, 2)}`,
    f(r.reference?.decodeTokensPerS, 1),
    f(r.fastOverReference, 2),
    f(r.wasm.ttftMs),
    f(r.ortCpu.ttftMs),
    f(r.wasm.prefillMs),
    f(r.ortCpu.prefillMs),
    f(r.wasm.visionMs),
    f(r.ortCpu.visionMs),
    (r.idsFirstDiff === null ? 'equal' : `differ at ${r.idsFirstDiff}`) +
      (r.reference && r.referenceIdsFirstDiff !== null
        ? ` (ref at ${r.referenceIdsFirstDiff})`
        : ''),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i < 4 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [fmt(head), ...body.map(fmt)].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: '1,2' },
      models: { type: 'string', default: 'tiny,2b' },
      'tiny-tokens': { type: 'string', default: '64' },
      'big-tokens': { type: 'string', default: '16' },
      'tiny-repeats': { type: 'string', default: '3' },
      'big-cases': { type: 'string', default: 'still-sample5' },
      'big-threads': { type: 'string', default: '1,2' },
      dtypes: { type: 'string', default: 'fp32,q4,q8' },
      'big-dtypes': { type: 'string', default: 'q4,q8' },
      out: { type: 'string', default: `bench/cpu-${cpus().length}core.json` },
      port: { type: 'string', default: process.env.PW_PORT ?? '4700' },
      'no-kernels': { type: 'boolean', default: false },
      capacity: { type: 'string', default: '2048' },
    },
  });
  const t0 = performance.now();
  CAPACITY = Number(values.capacity);
  const models = values.models.split(',');
  const threads = values.threads.split(',').map(Number);
  const tiny = ['still-sample5', 'clip-f71fb12c'].map(fixture);
  const targets: Target[] = [];
  if (models.includes('tiny')) {
    for (const dtype of dtypeList(values.dtypes, ['fp32', 'q4', 'q8'])) {
      targets.push({
        model: 'tiny',
        dir: TINY_DIR,
        dtype,
        tokens: Number(values['tiny-tokens']),
        cases: tiny,
        reference: true,
        threads,
        repeats: Number(values['tiny-repeats']),
        warmup: true,
      });
    }
  }
  let big: ReturnType<typeof ensureBig> | null = null;
  if (models.includes('2b')) {
    big = ensureBig();
    log(
      `${BIG_DIR}: ${(big.made.bytes / 2 ** 20).toFixed(0)} MiB of graphs, made in ${big.made.seconds} s${big.builtNow ? ' (now)' : ' (earlier)'}`,
    );
    for (const dtype of dtypeList(values['big-dtypes'], ['q4', 'q8']))
      targets.push({
        model: '2b',
        dir: BIG_DIR,
        dtype,
        tokens: Number(values['big-tokens']),
        cases: values['big-cases'].split(',').map(fixture),
        reference: false,
        threads: values['big-threads'].split(',').map(Number),
        repeats: 1,
        // A 2B question on wasm takes a minute: its first decode steps are part of its numbers.
        warmup: false,
      });
  }
  const dist = ensureBuild('dist-cli', log);
  // The whole models/ folder at /cli-model/: the tiny model and models/.bench/ side by side.
  const served = await serve({
    dist,
    modelDir: resolve(repoRoot, 'models'),
    port: Number(values.port),
    portEnd: Number(values.port) + 99,
    log,
  });
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const browser = await chromium.launch({
    executablePath,
    args: privateChromiumArgs(),
    ignoreDefaultArgs: ['--enable-features'],
  });
  const rows: Row[] = [];
  const kernels: KernelRow[] = [];
  const kernelDir = values['no-kernels'] ? null : ensureKernels();
  let step: ReturnType<typeof stepProfile> | null = null;
  if (kernelDir) {
    log('onnxruntime profile of one tiny decode step on wasm …');
    step = stepProfile();
    console.log(`\n${'error' in step ? `step profile failed: ${step.error}` : stepTable(step)}`);
  }
  let isolated: boolean;
  try {
    const context = await browser.newContext({ baseURL: served.origin, serviceWorkers: 'block' });
    const page = await context.newPage();
    page.on('pageerror', (e) => log(`[page error] ${e.message}`));
    await openHarness(page);
    isolated = await page.evaluate(() => self.crossOriginIsolated);
    if (!isolated)
      throw new Error('the harness page is not cross-origin isolated: no wasm threads');
    for (const n of kernelDir ? threads : []) {
      log(`one-op kernels, ${n} threads …`);
      const got = await kernelBench({
        browser,
        origin: served.origin,
        dir: kernelDir as string,
        url: `/cli-model/${KERNEL_DIR.slice('models/'.length)}/`,
        threads: n,
      });
      kernels.push(...got);
      console.log(`\n${kernelTable(got)}`);
    }
    for (const n of threads) {
      for (const target of targets.filter((t) => t.threads.includes(n))) {
        const got = await bench(page, target, n, served.origin);
        rows.push(...got);
        console.log(`\n${table(got)}`);
      }
    }
  } finally {
    await browser.close();
    await served.close();
  }
  const report = {
    what: 'issue 11 item 6: the fast graphs on wasm (the app in headless Chromium) vs onnxruntime-node CPU, same graphs, threads, prompt ids and token counts; decode tokens/s as each side times it',
    date: new Date().toISOString(),
    command: `npm run bench:cpu -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpu: cpus()[0]?.model ?? '?',
      cores: cpus().length,
      memoryBytes: totalmem(),
      loadavgAtEnd: loadavg(),
      note: 'shared machine: other jobs ran beside this one (loadavg per row); ratios are of runs minutes apart',
    },
    versions: {
      chromium: browser.version(),
      onnxruntimeWeb: (
        JSON.parse(
          readFileSync(resolve(repoRoot, 'node_modules/onnxruntime-web/package.json'), 'utf8'),
        ) as {
          version: string;
        }
      ).version,
      onnxruntimeNode: ortNodeVersion(),
      transformersJs: (
        JSON.parse(
          readFileSync(
            resolve(repoRoot, 'node_modules/@huggingface/transformers/package.json'),
            'utf8',
          ),
        ) as { version: string }
      ).version,
      node: process.version,
    },
    settings: { capacity: CAPACITY, threads, crossOriginIsolated: isolated, stops: STOPS },
    model2b: big ? { dir: BIG_DIR, ...big } : null,
    wallS: (performance.now() - t0) / 1000,
    kernels,
    stepProfile: step,
    rows,
  };
  const out = resolve(repoRoot, values.out);
  mkdirSync(dirname(out), { recursive: true });
  // Formatted as the repository's Prettier check wants it (the file is committed).
  const style = (await resolveConfig(out)) ?? {};
  writeFileSync(
    out,
    await format(JSON.stringify(report, roundNumbers), { ...style, parser: 'json' }),
  );
  if (kernels.length) console.log(`\n${kernelTable(kernels)}`);
  if (step && !('error' in step)) console.log(`\n${stepTable(step)}`);
  console.log(`\nall rows:\n${table(rows)}\n\nwritten: ${out} (${report.wallS.toFixed(0)} s)`);
}

main().catch((e: unknown) => {
  console.error(`bench:cpu: ${(e as Error).stack ?? String(e)}`);
  process.exitCode = 1;
});
