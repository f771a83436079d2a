// npm run eval — a whole evaluation from the command line, in the real app in headless Chromium.
//
//   npm run eval -- --model <folder|url|hub id> --benchmark <annotation file|set id>
//     --videos <folder> [--level L1|L2|L3] [--limit N] [--device auto|webgpu|wasm]
//     [--dtype fp32|fp16|q8|q4|q4f16] [--scoring official|letters|likelihood|all]
//     [--out <folder>] [--dump-frames] [--shard i/n] [--max-new-tokens 256] [--verbose]
//
// Writes <out>/results.jsonl as each question finishes (official fields first), <out>/run.json,
// <out>/summary.json and, with --dump-frames, <out>/frames/<sample id>/*.png + frames.json.
// Resumes from an existing <out>: questions already in results.jsonl are skipped. Exit code 0
// when the run completed (questions with errors are counted, not fatal), 1 when it could not run
// or stopped early, 2 for bad arguments.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from '@playwright/test';
import {
  type BenchmarkManifest,
  type BenchmarkSetFile,
  type Level,
  type Sample,
} from '../src/bench/index';
import type { StoredResult } from '../src/store/index';
import { ensureBuild, modelHosts, openApp, repoRoot, serve } from './headless-app';
import {
  accuracyTable,
  readResults,
  readRunFile,
  resultFromLine,
  resultLine,
  settingsConflicts,
  writeRunFile,
  writeSummary,
  type RunSettings,
} from './results-file';
import { Progress } from './progress';
import { readAnnotationFile } from './annotation-file';
import { ResultsWriter, writing } from './results-writer';
import { termSafe } from './term-safe';

class UsageError extends Error {}

const DTYPES = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'] as const;
const DEVICES = ['auto', 'webgpu', 'wasm'] as const;
const SCORINGS = ['official', 'letters', 'likelihood', 'all'] as const;

export interface EvalOptions {
  model: string;
  benchmark: string;
  videos: string;
  level: Level | null;
  limit: number | null;
  device: (typeof DEVICES)[number];
  dtype: (typeof DTYPES)[number];
  scoring: (typeof SCORINGS)[number];
  out: string | null;
  dumpFrames: boolean;
  shard: { index: number; count: number } | null;
  maxNewTokens: number;
  verbose: boolean;
}

function oneOf<T extends string>(
  name: string,
  v: string | undefined,
  allowed: readonly T[],
  d: T,
): T {
  if (v === undefined) return d;
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')} (got "${v}")`);
  }
  return v as T;
}

export function parseEvalArgs(argv: string[]): EvalOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string', default: 'models/tiny-random-qwen2-vl' },
      benchmark: { type: 'string' },
      videos: { type: 'string' },
      level: { type: 'string' },
      limit: { type: 'string' },
      device: { type: 'string' },
      dtype: { type: 'string' },
      scoring: { type: 'string' },
      out: { type: 'string' },
      'dump-frames': { type: 'boolean', default: false },
      shard: { type: 'string' },
      'max-new-tokens': { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.benchmark)
    throw new UsageError('--benchmark <annotation file or set id> is required');
  if (!values.videos) throw new UsageError('--videos <folder> is required');
  let shard: EvalOptions['shard'] = null;
  if (values.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(values.shard);
    const index = Number(m?.[1]);
    const count = Number(m?.[2]);
    if (!m || count < 1 || index < 1 || index > count) {
      throw new UsageError(`--shard must be i/n with 1 <= i <= n (got "${values.shard}")`);
    }
    shard = { index, count };
  }
  const limit = values.limit === undefined ? null : Number(values.limit);
  if (limit !== null && !(Number.isInteger(limit) && limit > 0)) {
    throw new UsageError(`--limit must be a positive integer (got "${values.limit}")`);
  }
  const maxNewTokens = Number(values['max-new-tokens'] ?? 256);
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens > 0)) {
    throw new UsageError('--max-new-tokens must be a positive integer');
  }
  return {
    model: values.model,
    benchmark: values.benchmark,
    videos: values.videos,
    level:
      values.level === undefined
        ? null
        : oneOf<Level>('level', values.level, ['L1', 'L2', 'L3'], 'L1'),
    limit,
    device: oneOf('device', values.device, DEVICES, 'auto'),
    dtype: oneOf('dtype', values.dtype, DTYPES, 'fp32'),
    scoring: oneOf('scoring', values.scoring, SCORINGS, 'official'),
    out: values.out ?? null,
    dumpFrames: values['dump-frames'],
    shard,
    maxNewTokens,
    verbose: values.verbose,
  };
}

interface LoadedBenchmark {
  /** 'file' is loaded in the page as a dropped file; 'set' through the set list. */
  kind: 'file' | 'set';
  id: string;
  name: string;
  text: string | null;
  samples: Sample[];
}

/** The same parse the page does, here in Node, so both sides agree on ids and order. */
export function loadBenchmark(spec: string): LoadedBenchmark {
  if (existsSync(spec) && statSync(spec).isFile()) {
    const { name, text, samples } = readAnnotationFile(spec);
    return { kind: 'file', id: name, name, text, samples };
  }
  const dir = resolve(repoRoot, 'public/benchmarks');
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new UsageError(
      `--benchmark "${spec}" is not a file, and there is no ${manifestPath} to look it up as a set id (run "npm run prepare:test-data")`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BenchmarkManifest;
  const info = manifest.sets.find((s) => s.id === spec);
  if (!info) {
    throw new UsageError(
      `--benchmark "${spec}" is neither a file nor a set id (sets: ${manifest.sets.map((s) => s.id).join(', ')})`,
    );
  }
  const set = JSON.parse(readFileSync(join(dir, info.file), 'utf8')) as BenchmarkSetFile;
  return { kind: 'set', id: info.id, name: info.id, text: null, samples: set.samples };
}

/** Level, then --limit (first N), then --shard (question k of the list to shard k mod n). */
export function selectQuestions(
  samples: Sample[],
  o: Pick<EvalOptions, 'level' | 'limit' | 'shard'>,
) {
  const levelled = o.level ? samples.filter((s) => s.level === o.level) : samples;
  const limited = o.limit ? levelled.slice(0, o.limit) : levelled;
  const mine = o.shard
    ? limited.filter(
        (_, k) =>
          k % (o.shard as { count: number }).count === (o.shard as { index: number }).index - 1,
      )
    : limited;
  return { selected: limited.length, mine };
}

type ModelSpec = {
  source: { kind: 'url'; url: string } | { kind: 'hub'; id: string };
  label: string;
  dir: string | null;
};

function modelSpec(model: string): ModelSpec {
  if (existsSync(model) && statSync(model).isDirectory()) {
    const dir = resolve(model);
    return { source: { kind: 'url', url: '/cli-model' }, label: basename(dir), dir };
  }
  if (/^https?:\/\//.test(model))
    return { source: { kind: 'url', url: model }, label: model, dir: null };
  if (/^[\w\-.]+\/[\w\-.]+$/.test(model))
    return { source: { kind: 'hub', id: model }, label: model, dir: null };
  throw new UsageError(
    `--model "${model}" is not a folder, an http(s) URL or a hub id (owner/name)`,
  );
}

const safeName = (s: string) => s.replace(/[^\w.-]+/g, '_');

async function dumpFrames(page: Page, dir: string, r: StoredResult): Promise<void> {
  const target = join(dir, 'frames', safeName(r.sampleId));
  mkdirSync(target, { recursive: true });
  try {
    const f = await page.evaluate((id) => window.seedbenchAutomation.frames(id), r.sampleId);
    const files: string[] = [];
    f.clipPngs.forEach((b64, k) => {
      const name = `clip-${String(k).padStart(2, '0')}-frame-${f.indices?.[k] ?? k}.png`;
      writeFileSync(join(target, name), Buffer.from(b64, 'base64'));
      files.push(name);
    });
    writeFileSync(join(target, 'still.png'), Buffer.from(f.stillPng, 'base64'));
    files.push('still.png');
    const same = JSON.stringify(f.indices) === JSON.stringify(r.frameIndices);
    const meta = {
      sample_id: r.rawSampleId,
      indices: f.indices,
      timestamps_s: f.timestampsS,
      still_from: f.stillFrom,
      files,
      indices_match_run: same,
    };
    writeFileSync(join(target, 'frames.json'), `${JSON.stringify(meta, null, 2)}\n`);
  } catch (e) {
    writeFileSync(
      join(target, 'frames.json'),
      `${JSON.stringify({ sample_id: r.rawSampleId, error: (e as Error).message }, null, 2)}\n`,
    );
  }
}

export async function runEval(o: EvalOptions): Promise<number> {
  const bench = loadBenchmark(o.benchmark);
  const model = modelSpec(o.model);
  if (!existsSync(o.videos) || !statSync(o.videos).isDirectory())
    throw new UsageError(`--videos ${o.videos}: not a folder`);
  const scoring = {
    official: o.scoring === 'official' || o.scoring === 'all',
    letters: o.scoring === 'letters' || o.scoring === 'all',
    likelihood: o.scoring === 'likelihood' || o.scoring === 'all',
  };
  const settings: RunSettings = {
    model: model.label,
    dtype: o.dtype,
    device: o.device,
    scoring,
    wording: 'seed-bench-r1',
    maxNewTokens: o.maxNewTokens,
    benchmark: bench.id,
    level: o.level,
  };
  const shardTag = o.shard ? `-shard${o.shard.index}of${o.shard.count}` : '';
  const out = resolve(
    o.out ??
      join(
        repoRoot,
        'out',
        safeName(
          `${bench.id}${o.level ? `-${o.level}` : ''}-${model.label}-${o.dtype}-${o.device}${shardTag}`,
        ),
      ),
  );
  mkdirSync(out, { recursive: true });
  const previous = readRunFile(out);
  if (previous) {
    const diff = settingsConflicts(previous.settings, settings);
    const shardDiff = JSON.stringify(previous.shard) !== JSON.stringify(o.shard);
    if (diff.length > 0 || shardDiff) {
      throw new UsageError(
        `${out} holds a run with other settings (${[...diff, ...(shardDiff ? ['shard'] : [])].join(', ')}): pick another --out`,
      );
    }
  }
  const unlock = lockOut(out);
  try {
    return await evalInto(o, bench, model, settings, out, previous?.createdAt);
  } finally {
    unlock();
  }
}

/**
 * One writer per output folder: two runs appending to the same results.jsonl would answer the same
 * questions twice. A lock left by a dead process is taken over.
 */
function lockOut(out: string): () => void {
  const path = join(out, '.eval.lock');
  if (existsSync(path)) {
    const pid = Number(readFileSync(path, 'utf8'));
    let alive: boolean;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (alive) throw new UsageError(`${out} is being written by another npm run eval (pid ${pid})`);
  }
  writing(path, () => writeFileSync(path, String(process.pid)));
  const unlock = () => rmSync(path, { force: true });
  process.once('exit', unlock);
  return unlock;
}

async function evalInto(
  o: EvalOptions,
  bench: LoadedBenchmark,
  model: ModelSpec,
  settings: RunSettings,
  out: string,
  createdAt: string | undefined,
): Promise<number> {
  const { selected, mine } = selectQuestions(bench.samples, o);
  writing(join(out, 'run.json'), () =>
    writeRunFile(out, {
      settings,
      selected,
      limit: o.limit,
      shard: o.shard,
      createdAt: createdAt ?? new Date().toISOString(),
    }),
  );
  const resultsPath = join(out, 'results.jsonl');
  const before = readResults(resultsPath, true);
  for (const b of before.bad) console.error(`skipped unreadable line ${termSafe(b, true)}`);
  const done = new Set(before.lines.map((l) => String(l.sample_id)));
  const todo = mine.filter((s) => !done.has(s.sampleId));
  console.error(
    `${termSafe(bench.name, true)}: ${mine.length} questions${o.shard ? ` (shard ${o.shard.index}/${o.shard.count} of ${selected})` : ''}; ${mine.length - todo.length} already in ${resultsPath}; ${todo.length} to run`,
  );

  let status = 'finished';
  if (todo.length > 0)
    status = await runInBrowser(
      o,
      bench,
      model,
      settings,
      todo,
      out,
      mine.length - todo.length,
      mine.length,
    );

  const mineIds = new Set(mine.map((s) => s.sampleId));
  // One line per question (the first), whatever an interrupted or concurrent run left behind.
  const seen = new Set<string>();
  const lines = readResults(resultsPath).lines.filter((l) => {
    const id = String(l.sample_id);
    if (!mineIds.has(id) || seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  const results = lines.map(resultFromLine);
  let summaryFailed: string | null = null;
  try {
    writing(join(out, 'summary.json'), () =>
      writeSummary(
        out,
        {
          model: model.label,
          dtype: o.dtype,
          device: [...new Set(lines.map((l) => l.device ?? 'none'))].join('+') || o.device,
          benchmark: bench.id,
          settings: { ...settings, limit: o.limit, shard: o.shard },
          finishedAt: new Date().toISOString(),
        },
        results,
      ),
    );
  } catch (e) {
    summaryFailed = (e as Error).message;
  }
  console.log(`\n${termSafe(accuracyTable(results))}`);
  console.log(
    `\n${results.length} of ${mine.length} questions in ${resultsPath}; summary in ${join(out, 'summary.json')}`,
  );
  if (summaryFailed) console.error(summaryFailed);
  if (status !== 'finished') {
    console.error(`the run stopped early (${status}); run the same command again to resume`);
    return 1;
  }
  return summaryFailed ? 1 : 0;
}

async function runInBrowser(
  o: EvalOptions,
  bench: LoadedBenchmark,
  model: ModelSpec,
  settings: RunSettings,
  todo: Sample[],
  out: string,
  already: number,
  total: number,
): Promise<string> {
  const log = (m: string) => progress.log(m);
  const progress = new Progress(total, already);
  const dist = ensureBuild('dist-cli', console.error);
  const served = await serve({ dist, modelDir: model.dir, videosDir: o.videos, log });
  const app = await openApp(served.origin, {
    log: o.verbose ? log : undefined,
    allowHosts: modelHosts(model.source),
  }).catch(async (e: unknown) => {
    await served.close();
    throw e;
  });
  const page = app.page;
  const stop = async () => {
    progress.log('interrupted: finished questions are in results.jsonl; run again to resume');
    await app.close().catch(() => undefined);
    await served.close();
    process.exit(130);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  try {
    console.error(`loading ${model.label} (${o.dtype}, device ${o.device}) …`);
    const loaded = await page.evaluate(
      ([src, label, dtype, device]) =>
        window.seedbenchAutomation.loadModel(src, label, dtype, device),
      [model.source, model.label, o.dtype, o.device] as const,
    );
    if (!loaded.ok || !loaded.info) {
      // The page knows the folder as /cli-model/: name the user's.
      const why = (loaded.error ?? 'unknown error').replaceAll('/cli-model/', `${model.dir}/`);
      throw new Error(`model did not load: ${why}`);
    }
    console.error(
      `model on ${loaded.info.device} (${loaded.info.deviceReason})${loaded.info.device === 'wasm' ? `, ${loaded.info.threads} threads` : ''}, loaded in ${(loaded.info.loadMs / 1000).toFixed(1)} s`,
    );
    for (const n of loaded.notices) console.error(`  ${n}`);
    if (bench.kind === 'file') {
      await page.evaluate(([n, t]) => window.seedbenchAutomation.loadBenchmarkText(n, t), [
        bench.name,
        bench.text ?? '',
      ] as const);
    } else await page.evaluate((id) => window.seedbenchAutomation.selectSet(id), bench.id);
    await page.evaluate(
      (ids) => window.seedbenchAutomation.keepSamples(ids),
      todo.map((s) => s.sampleId),
    );
    const media = await page.evaluate(
      (label) => window.seedbenchAutomation.setMediaFromServer('/cli-videos/', label),
      o.videos,
    );
    console.error(
      `videos: ${o.videos} (${media.files} files); ${media.incomplete.length} of ${todo.length} questions lack a file (recorded as errors)`,
    );
    await page.evaluate((c) => window.seedbenchAutomation.setConfig(c), {
      scoring: settings.scoring,
      wording: settings.wording,
      maxNewTokens: settings.maxNewTokens,
      subset: { kind: 'all' },
    });

    const byId = new Map(todo.map((s) => [s.sampleId, s]));
    const writer = new ResultsWriter(join(out, 'results.jsonl'), (m) => {
      progress.log(m);
      return page.evaluate(() => window.seedbenchAutomation.cancel());
    });
    await page.exposeFunction('seedbenchEmit', async (r: StoredResult) => {
      const sample = byId.get(r.sampleId);
      if (!sample || writer.stopped) return;
      const line = resultLine(sample, r, {
        wording: settings.wording,
        device: r.device,
        dtype: loaded.info?.dtype ?? o.dtype,
        model: model.label,
      });
      if (!(await writer.append(`${line}\n`))) return;
      if (r.error)
        progress.log(`${termSafe(r.sampleId, true)}: ${r.error.stage} error: ${r.error.message}`);
      if (o.dumpFrames && (!r.error || r.error.stage === 'model'))
        if (!(await writer.guard(join(out, 'frames'), () => dumpFrames(page, out, r)))) return;
      progress.add(r);
    });
    const end = await page.evaluate(() => window.seedbenchAutomation.start());
    progress.finish();
    if (writer.stopped) return writer.stopped;
    if (end.runStatus !== 'finished')
      for (const n of end.notices.slice(-5)) console.error(`  ${termSafe(n)}`);
    return end.runStatus;
  } finally {
    await app.close().catch(() => undefined);
    await served.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    process.exitCode = await runEval(parseEvalArgs(process.argv.slice(2)));
  } catch (e) {
    console.error(`eval: ${termSafe((e as Error).message)}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
