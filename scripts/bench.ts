// npm run bench — speed of the app as users run it: the tiny model on wasm, then on WebGPU, in this
// headless Chromium, over the real example questions and clips (the same automation path as npm run
// eval). Prints per question: video stage, frame preparation, vision encoder, prefill, time to first
// token, decode tokens/s, total; then per device the share of the total spent outside the model
// runtime (our overhead) and, from npm run bench:video, the video ratio against ffmpeg. Numbers are
// printed and written (bench.json), never asserted.
//
//   npm run bench -- [--limit 12] [--webgpu-limit 2] [--webgpu-max-new-tokens 32] [--dtype fp32]
//                    [--devices wasm,webgpu] [--no-video] [--out out/bench.json]
//
// WebGPU here is SwiftShader (a CPU emulation, about 1.6 decode tokens/s for the tiny model), so
// its rows default to 2 questions and 32 new tokens; each row says what it ran.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { StoredResult } from '../src/store/index';
import { OFFICIAL_CONFIG } from '../src/bench/index';
import { MODEL_DTYPES, type ModelDtype } from '../src/model/index';
import { loadBenchmark } from './eval';
import { ensureBuild, openApp, repoRoot, serve } from './headless-app';

const SET = 'egoplan-bench2-examples-L3';
const VIDEOS = resolve(repoRoot, '../shared/seedbench/egoplan-bench2-examples');

interface Row {
  sampleId: string;
  frames: number;
  videoMs: number;
  framePrepMs: number;
  visionMs: number;
  prefillMs: number;
  ttftMs: number | null;
  decodeTokens: number;
  decodeTokensPerS: number | null;
  modelMs: number;
  totalMs: number;
  error: string | null;
}

const t = (r: StoredResult, k: string) => r.timings[k] ?? 0;

function row(r: StoredResult): Row {
  // Model runtime = the ONNX graphs' own calls; everything else in the question's wall time (video
  // stage not hidden by prefetch, pixel preparation, tokenising, messaging, scoring) is ours.
  const modelMs =
    t(r, 'visionMs') +
    t(r, 'prefillMs') +
    t(r, 'decodeMs') +
    t(r, 'letterMs') +
    t(r, 'likelihoodMs');
  return {
    sampleId: r.sampleId,
    frames: r.frameIndices?.length ?? 0,
    videoMs: t(r, 'videoTotalMs'),
    framePrepMs: t(r, 'framePrepMs'),
    visionMs: t(r, 'visionMs'),
    prefillMs: t(r, 'prefillMs'),
    ttftMs: r.timings.timeToFirstTokenMs ?? null,
    decodeTokens: t(r, 'decodeTokens'),
    decodeTokensPerS: r.timings.decodeTokensPerS ?? null,
    modelMs,
    totalMs: t(r, 'totalMs'),
    error: r.error ? `${r.error.stage}: ${r.error.message}` : null,
  };
}

async function runDevice(
  origin: string,
  device: 'wasm' | 'webgpu',
  dtype: ModelDtype,
  ids: string[],
  maxNewTokens: number,
) {
  const app = await openApp(origin);
  try {
    const { page, browser } = app;
    const loaded = await page.evaluate(
      ([d, dt]) =>
        window.seedbenchAutomation.loadModel(
          { kind: 'url', url: '/cli-model' },
          'tiny-random-qwen2-vl',
          dt,
          d,
        ),
      [device, dtype] as const,
    );
    if (!loaded.ok || !loaded.info)
      throw new Error(`${device}: model did not load: ${loaded.error}`);
    if (loaded.info.device !== device) {
      throw new Error(`${device} asked for, the model runs on ${loaded.info.device}`);
    }
    await page.evaluate((id) => window.seedbenchAutomation.selectSet(id), SET);
    await page.evaluate((x) => window.seedbenchAutomation.keepSamples(x), ids);
    // Labelled with the folder's path, so a missing clip names it (not "demo clips").
    await page.evaluate(
      (label) => window.seedbenchAutomation.setMediaFromServer('/cli-videos/', label),
      VIDEOS,
    );
    await page.evaluate((c) => window.seedbenchAutomation.setConfig(c), {
      ...OFFICIAL_CONFIG,
      maxNewTokens,
    });
    const results: StoredResult[] = [];
    await page.exposeFunction('seedbenchEmit', (r: StoredResult) => {
      results.push(r);
      process.stderr.write(`  ${device} ${results.length}/${ids.length} ${r.sampleId}\n`);
    });
    const wall0 = performance.now();
    const end = await page.evaluate(() => window.seedbenchAutomation.start());
    const wallMs = performance.now() - wall0;
    if (end.runStatus !== 'finished') throw new Error(`${device}: run ended ${end.runStatus}`);
    return {
      info: loaded.info,
      browser: browser.version(),
      wallMs,
      maxNewTokens,
      rows: results.map(row),
    };
  } finally {
    await app.close();
  }
}

const f = (v: number | null, d = 0) => (v === null ? '-' : v.toFixed(d));

function table(device: string, rows: Row[], wallMs: number) {
  const head = [
    'question',
    'frames',
    'video ms',
    'frame prep',
    'vision',
    'prefill',
    'TTFT',
    'decode tok/s',
    'tokens',
    'model ms',
    'total ms',
  ];
  const body = rows.map((r) => [
    r.sampleId.slice(0, 14),
    String(r.frames),
    f(r.videoMs),
    f(r.framePrepMs),
    f(r.visionMs),
    f(r.prefillMs),
    f(r.ttftMs),
    f(r.decodeTokensPerS, 1),
    String(r.decodeTokens),
    f(r.modelMs),
    f(r.totalMs),
  ]);
  const sum = (k: keyof Row) => rows.reduce((s, r) => s + (Number(r[k]) || 0), 0);
  const model = sum('modelMs');
  const total = sum('totalMs');
  const decodeMs =
    rows.reduce((s, r) => s + (r.decodeTokensPerS ? r.decodeTokens / r.decodeTokensPerS : 0), 0) *
    1000;
  const totals = {
    questions: rows.length,
    errors: rows.filter((r) => r.error).length,
    sumTotalMs: total,
    sumModelMs: model,
    overheadShare: total > 0 ? 1 - model / total : null,
    meanVisionMs: sum('visionMs') / rows.length,
    meanPrefillMs: sum('prefillMs') / rows.length,
    meanTtftMs: sum('ttftMs') / rows.length,
    meanFramePrepMs: sum('framePrepMs') / rows.length,
    meanVideoMs: sum('videoMs') / rows.length,
    decodeTokensPerS: decodeMs > 0 ? sum('decodeTokens') / (decodeMs / 1000) : null,
    wallMs,
  };
  body.push([
    'mean',
    '',
    f(totals.meanVideoMs),
    f(totals.meanFramePrepMs),
    f(totals.meanVisionMs),
    f(totals.meanPrefillMs),
    f(totals.meanTtftMs),
    f(totals.decodeTokensPerS, 1),
    '',
    f(model / rows.length),
    f(total / rows.length),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const text = [
    `${device}:`,
    fmt(head),
    ...body.map(fmt),
    `our overhead (1 - model time / total): ${totals.overheadShare === null ? '-' : `${(100 * totals.overheadShare).toFixed(1)}%`} of ${(total / 1000).toFixed(1)} s`,
  ].join('\n');
  return { text, totals };
}

/** npm run bench:video (issue 4's script), once over the clips; its last line has the ratio. */
function videoRatio(port: number): { ratio: number | null; tail: string } {
  const r = spawnSync(
    'npx',
    ['tsx', 'scripts/bench-video.ts', '--repeat', '1', '--port', String(port)],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 600_000,
    },
  );
  const out = `${r.stdout}${r.stderr}`;
  const m = /video ratio vs ffmpeg:\s*([\d.]+)/.exec(out);
  return { ratio: m ? Number(m[1]) : null, tail: out.split('\n').slice(-25).join('\n') };
}

async function main() {
  const { values } = parseArgs({
    options: {
      limit: { type: 'string', default: '12' },
      'webgpu-limit': { type: 'string', default: '2' },
      'webgpu-max-new-tokens': { type: 'string', default: '32' },
      'max-new-tokens': { type: 'string', default: '256' },
      dtype: { type: 'string', default: 'fp32' },
      devices: { type: 'string', default: 'wasm,webgpu' },
      'no-video': { type: 'boolean', default: false },
      out: { type: 'string', default: 'out/bench.json' },
      'video-port': { type: 'string', default: '4311' },
    },
  });
  const samples = loadBenchmark(SET).samples;
  const devices = values.devices
    .split(',')
    .map((d) => (d === 'webgpu' ? ('webgpu' as const) : ('wasm' as const)));
  const dtype = MODEL_DTYPES.find((d) => d === values.dtype);
  if (!dtype) throw new Error(`--dtype must be one of ${MODEL_DTYPES.join(', ')}`);
  const dist = ensureBuild('dist-cli');
  const served = await serve({
    dist,
    modelDir: resolve(repoRoot, 'models/tiny-random-qwen2-vl'),
    videosDir: VIDEOS,
  });
  const report: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? '?' },
    model: 'tiny-random-qwen2-vl',
    dtype: values.dtype,
    devices: {},
  };
  const texts: string[] = [];
  try {
    for (const device of devices) {
      const n = Number(device === 'webgpu' ? values['webgpu-limit'] : values.limit);
      const tokens = Number(
        device === 'webgpu' ? values['webgpu-max-new-tokens'] : values['max-new-tokens'],
      );
      const ids = samples.slice(0, n).map((s) => s.sampleId);
      process.stderr.write(`${device}: ${ids.length} questions, max ${tokens} new tokens …\n`);
      const r = await runDevice(served.origin, device, dtype, ids, tokens);
      const { text, totals } = table(
        `${device} (${r.info.deviceReason}${device === 'wasm' ? `, ${r.info.threads} threads` : ''}; ${ids.length} questions, max ${tokens} new tokens; Chromium ${r.browser})`,
        r.rows,
        r.wallMs,
      );
      (report.devices as Record<string, unknown>)[device] = { ...r, totals };
      texts.push(text);
      console.log(`\n${text}`);
    }
  } finally {
    await served.close();
  }
  if (!values['no-video']) {
    process.stderr.write('video stage vs ffmpeg (npm run bench:video -- --repeat 1) …\n');
    const v = videoRatio(Number(values['video-port']));
    report.video = v;
    console.log(
      `\nvideo ratio vs ffmpeg: ${v.ratio ?? 'not measured (see bench.json video.tail)'}`,
    );
  }
  const out = resolve(values.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwritten: ${out}`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((e: unknown) => {
    console.error(`bench: ${(e as Error).message}`);
    process.exitCode = 1;
  });
}
