// npm run eval — a whole evaluation from the command line, in the real app in headless Chromium.
//
//   npm run eval -- --model <folder|url|hub id> --benchmark <annotation file|set id>
//     --videos <folder> [--level L1|L2|L3] [--limit N] [--device auto|webgpu|wasm]
//     [--dtype fp32|fp16|q8|q4|q4f16|auto] [--scoring official|letters|likelihood|all]
//     [--wording seed-bench-r1|as-is] [--clip-frames rounded|float]
//     [--out <folder>] [--dump-frames] [--shard i/n] [--max-new-tokens 256] [--verbose]
//
// Defaults are the official preset. Writes <out>/results.jsonl as each question finishes
// (official fields first, then what the model got), <out>/run.json (the run's settings record,
// identified by content: annotation records and model files), <out>/summary.json and, with
// --dump-frames, <out>/frames/<sample id>/*.png + frames.json. Resumes from an existing <out>
// only when it holds the same run (same records, same model bytes, same settings). Exit code 0
// when the run completed (questions with errors are counted, not fatal), 1 when it could not run
// or stopped early, 2 for bad arguments.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Page } from '@playwright/test';
import {
  benchmarkManifestSchema,
  benchmarkSetFileSchema,
  errorMessage,
  identityConflicts,
  readJsonFile,
  runIdentity,
  runSettings,
  samplesDigest,
  type AnswerSettings,
  type BenchmarkIdentity,
  type ModelIdentity,
  type RunConfig,
  type RunSettings,
  type Sample,
} from '../src/bench/index';
import type { StoredResult } from '../src/store/index';
import { parseEvalArgs, UsageError, type EvalOptions } from './eval-args';
import { ensureBuild, modelHosts, openApp, repoRoot, serve } from './headless-app';
import { ensureTokenizer, folderContent } from './model-folder';
import {
  accuracyTable,
  readResults,
  readRunFile,
  resultFromLine,
  resultLine,
  writeRunFile,
  writeSummary,
  type RunFile,
  type Selection,
} from './results-file';
import { Progress } from './progress';
import { readAnnotationFile } from './annotation-file';
import { ResultsWriter, writing } from './results-writer';
import { termSafe } from './term-safe';

export { parseEvalArgs, type EvalOptions } from './eval-args';

interface LoadedBenchmark {
  /** 'file' is loaded in the page as a dropped file; 'set' through the set list. */
  kind: 'file' | 'set';
  id: string;
  name: string;
  text: string | null;
  samples: Sample[];
  /** Every question of the file or set, by content (the page computes the same). */
  identity: BenchmarkIdentity;
}

const SHARED_DATA = resolve(repoRoot, '../shared/seedbench');

/** On a fresh checkout the sets are not built yet: build them from ../shared as npm test does. */
function ensureSets(manifestPath: string): void {
  if (existsSync(manifestPath) || !existsSync(SHARED_DATA)) return;
  console.error(`building the benchmark sets from ${SHARED_DATA} …`);
  const r = spawnSync(
    'npx',
    ['tsx', 'scripts/fetch-benchmarks.ts', '--from', SHARED_DATA, '--if-missing'],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`fetch-benchmarks failed:\n${r.stdout}\n${r.stderr}`);
}

/** The same parse the page does, here in Node, so both sides agree on ids and order. */
export function loadBenchmark(spec: string): LoadedBenchmark {
  if (existsSync(spec) && statSync(spec).isFile()) {
    const { name, text, samples } = readAnnotationFile(spec);
    const identity = { id: name, questions: samples.length, digest: samplesDigest(samples) };
    return { kind: 'file', id: name, name, text, samples, identity };
  }
  const dir = resolve(repoRoot, 'public/benchmarks');
  const manifestPath = join(dir, 'manifest.json');
  ensureSets(manifestPath);
  if (!existsSync(manifestPath)) {
    throw new UsageError(
      `--benchmark "${spec}" is not a file, and there is no ${manifestPath} to look it up as a set id (run "npm run prepare:test-data")`,
    );
  }
  const manifest = readJsonFile(
    manifestPath,
    readFileSync(manifestPath, 'utf8'),
    benchmarkManifestSchema,
  );
  const info = manifest.sets.find((s) => s.id === spec);
  if (!info) {
    throw new UsageError(
      `--benchmark "${spec}" is neither a file nor a set id (sets: ${manifest.sets.map((s) => s.id).join(', ')})`,
    );
  }
  const setPath = join(dir, info.file);
  const set = readJsonFile(setPath, readFileSync(setPath, 'utf8'), benchmarkSetFileSchema);
  const identity = {
    id: info.id,
    questions: set.samples.length,
    digest: samplesDigest(set.samples),
  };
  return { kind: 'set', id: info.id, name: info.id, text: null, samples: set.samples, identity };
}

/** Level, then --limit (first N), then --shard (question k of the list to shard k mod n). */
export function selectQuestions(
  samples: Sample[],
  o: Pick<EvalOptions, 'level' | 'limit' | 'shard'>,
) {
  const levelled = o.level ? samples.filter((s) => s.level === o.level) : samples;
  const limited = o.limit ? levelled.slice(0, o.limit) : levelled;
  const shard = o.shard;
  const mine = shard ? limited.filter((_, k) => k % shard.count === shard.index - 1) : limited;
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
    try {
      const copied = ensureTokenizer(dir);
      if (copied) console.error(copied);
    } catch (e) {
      throw new UsageError(`--model: ${errorMessage(e)}`);
    }
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
      `${JSON.stringify({ sample_id: r.rawSampleId, error: errorMessage(e) }, null, 2)}\n`,
    );
  }
}

/** The model part of the identity a resumed run must match, before anything is loaded. */
function modelNow(model: ModelSpec, o: EvalOptions, stored: ModelIdentity): ModelIdentity {
  // A local folder is hashed here over the files the run's model loaded; a remote model is checked
  // once loaded (its bytes are not here before that).
  const content = model.dir
    ? folderContent(
        model.dir,
        stored.files.map((f) => f.path),
      )
    : stored;
  // 'auto' is resolved only at load: the dtype is compared there (the loaded identity below).
  const dtype = o.dtype === 'auto' ? stored.dtype : o.dtype;
  // So are the int8 activations (the app's default, recorded as they took effect at load).
  return {
    label: model.label,
    dtype,
    q4Int8: stored.q4Int8,
    digest: content.digest,
    files: content.files,
  };
}

function selectionConflicts(a: Selection, o: EvalOptions): string[] {
  const out: string[] = [];
  if (a.level !== o.level) out.push(`level ${a.level ?? 'all'} vs ${o.level ?? 'all'}`);
  if (JSON.stringify(a.shard) !== JSON.stringify(o.shard)) out.push('shard');
  return out;
}

export async function runEval(o: EvalOptions): Promise<number> {
  const bench = loadBenchmark(o.benchmark);
  const model = modelSpec(o.model);
  if (!existsSync(o.videos) || !statSync(o.videos).isDirectory())
    throw new UsageError(`--videos ${o.videos}: not a folder`);
  const answer: AnswerSettings = {
    wording: o.wording,
    clipValues: o.clipValues,
    scoring: {
      official: o.scoring === 'official' || o.scoring === 'all',
      letters: o.scoring === 'letters' || o.scoring === 'all',
      likelihood: o.scoring === 'likelihood' || o.scoring === 'all',
    },
    maxNewTokens: o.maxNewTokens,
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
  let previous: RunFile | null;
  try {
    previous = readRunFile(out);
  } catch (e) {
    throw new UsageError(`${errorMessage(e)}: not a run.json of this version; pick another --out`);
  }
  if (previous) {
    const stored = previous.settings;
    const now = runIdentity(bench.identity, modelNow(model, o, stored.model), answer);
    const diff = [
      ...identityConflicts(stored, now).map((d) => d.message),
      ...selectionConflicts(previous.selection, o),
    ];
    if (diff.length > 0) {
      throw new UsageError(
        `${out} holds another run (${diff.join('; ')}): pick another --out, or remove it to start fresh`,
      );
    }
  }
  const unlock = lockOut(out);
  try {
    return await evalInto(o, bench, model, answer, out, previous);
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
  answer: AnswerSettings,
  out: string,
  previous: RunFile | null,
): Promise<number> {
  const { selected, mine } = selectQuestions(bench.samples, o);
  const selection: Selection = { level: o.level, limit: o.limit, shard: o.shard, selected };
  const resultsPath = join(out, 'results.jsonl');
  const before = readResults(resultsPath, true);
  for (const b of before.bad) console.error(`skipped unreadable line ${termSafe(b, true)}`);
  const done = new Set(before.lines.map((l) => String(l.sample_id)));
  const todo = mine.filter((s) => !done.has(s.sampleId));
  console.error(
    `${termSafe(bench.name, true)}: ${mine.length} questions${o.shard ? ` (shard ${o.shard.index}/${o.shard.count} of ${selected})` : ''}; ${mine.length - todo.length} already in ${resultsPath}; ${todo.length} to run`,
  );

  let status = 'finished';
  let settings: RunSettings | null = previous?.settings ?? null;
  const createdAt = previous?.createdAt ?? new Date().toISOString();
  if (todo.length > 0) {
    const ran = await runInBrowser(o, bench, model, answer, todo, out, {
      previous,
      selection,
      createdAt,
      already: mine.length - todo.length,
      total: mine.length,
    });
    status = ran.status;
    settings = ran.settings;
  }
  if (!settings) {
    console.error('no question selected: nothing to run');
    return 0;
  }
  // A full disk is reported after the table: what was computed is printed either way.
  const finalWrites: string[] = [];
  const finalWrite = (file: string, write: () => void) => {
    try {
      writing(join(out, file), write);
    } catch (e) {
      finalWrites.push(errorMessage(e));
    }
  };
  const finished = settings;
  finalWrite('run.json', () => {
    writeRunFile(out, { settings: finished, selection, createdAt });
  });

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
  finalWrite('summary.json', () => {
    writeSummary(
      out,
      {
        settings: finished,
        devices: [...new Set(lines.map((l) => l.device ?? 'none'))],
        selection: { ...selection },
        startedAt: createdAt,
        finishedAt: new Date().toISOString(),
      },
      results,
    );
  });
  console.log(`\n${termSafe(accuracyTable(results))}`);
  console.log(
    `\n${results.length} of ${mine.length} questions in ${resultsPath}; summary in ${join(out, 'summary.json')}`,
  );
  for (const m of finalWrites) console.error(termSafe(m));
  if (status !== 'finished') {
    console.error(`the run stopped early (${status}); run the same command again to resume`);
    return 1;
  }
  return finalWrites.length > 0 ? 1 : 0;
}

interface BrowserRun {
  previous: RunFile | null;
  selection: Selection;
  createdAt: string;
  already: number;
  total: number;
}

async function runInBrowser(
  o: EvalOptions,
  bench: LoadedBenchmark,
  model: ModelSpec,
  answer: AnswerSettings,
  todo: Sample[],
  out: string,
  run: BrowserRun,
): Promise<{ status: string; settings: RunSettings }> {
  const progress = new Progress(run.total, run.already);
  const log = (m: string) => progress.log(m);
  const dist = ensureBuild('dist-cli', console.error);
  const served = await serve({ dist, modelDir: model.dir, videosDir: o.videos, log });
  // openApp closes its Chromium when it fails; the server is this function's to close.
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
    const info = loaded.info;
    if (!loaded.ok || !info) {
      // The page knows the folder as <origin>/cli-model/ (the app resolves it against its own
      // address): name the user's.
      const why = model.dir
        ? (loaded.error ?? 'unknown error')
            .replaceAll(`${served.origin}/cli-model/`, `${model.dir}/`)
            .replaceAll('/cli-model/', `${model.dir}/`)
        : (loaded.error ?? 'unknown error');
      throw new Error(`model did not load: ${why}`);
    }
    console.error(
      `model on ${info.device} (${info.deviceReason})${info.device === 'wasm' ? `, ${info.threads} threads` : ''}, loaded in ${(info.loadMs / 1000).toFixed(1)} s`,
    );
    for (const n of loaded.notices) console.error(`  ${termSafe(n)}`);

    // The identity of this run: the records parsed here, the bytes the app's loader read.
    const content = info.content;
    if (model.dir) {
      const here = folderContent(
        model.dir,
        content.files.map((f) => f.path),
      );
      if (here.digest !== content.digest)
        throw new Error(
          `the app read other bytes than ${model.dir} holds (digest ${content.digest.slice(0, 12)} vs ${here.digest.slice(0, 12)})`,
        );
    }
    const identity = runIdentity(
      bench.identity,
      {
        label: model.label,
        dtype: info.dtype,
        // As the app records this load: the int8 activations that took effect.
        q4Int8: loaded.q4Int8 ?? 'off',
        digest: content.digest,
        files: content.files,
      },
      answer,
    );
    if (run.previous) {
      const diff = identityConflicts(run.previous.settings, identity).map((d) => d.message);
      if (diff.length > 0)
        throw new UsageError(`${out} holds another run (${diff.join('; ')}): pick another --out`);
    }
    const settings = runSettings(identity, { subset: { kind: 'all' }, device: o.device });
    writing(join(out, 'run.json'), () => {
      writeRunFile(out, { settings, selection: run.selection, createdAt: run.createdAt });
    });

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
    // Labelled with the user's --videos path, so that a missing clip names that folder.
    const media = await page.evaluate(
      (label) => window.seedbenchAutomation.setMediaFromServer('/cli-videos/', label),
      o.videos,
    );
    console.error(
      `videos: ${o.videos} (${media.files} files); ${media.incomplete.length} of ${todo.length} questions lack a file (recorded as errors)`,
    );
    const config: RunConfig = { ...answer, subset: { kind: 'all' } };
    await page.evaluate((c) => window.seedbenchAutomation.setConfig(c), config);
    // The app builds its run key with the same module from what it loaded: both must agree.
    const pageKey = await page.evaluate(() => window.seedbenchAutomation.runKey());
    if (pageKey.key !== settings.key)
      throw new Error(
        `the app's run key differs from this run's (${pageKey.key ?? pageKey.reason ?? '?'} vs ${settings.key})`,
      );

    const byId = new Map(todo.map((s) => [s.sampleId, s]));
    const writer = new ResultsWriter(join(out, 'results.jsonl'), (m) => {
      progress.log(m);
      return page.evaluate(() => {
        window.seedbenchAutomation.cancel();
      });
    });
    await page.exposeFunction('seedbenchEmit', async (r: StoredResult) => {
      const sample = byId.get(r.sampleId);
      if (!sample || writer.stopped) return;
      // What the model got must be what this run asks (the wording that once went missing).
      if (r.modelPrompt && r.modelPrompt.wording !== settings.wording) {
        throw new Error(
          `${r.sampleId}: the model was asked in wording ${r.modelPrompt.wording}, the run is ${settings.wording}`,
        );
      }
      const line = resultLine(sample, r, {
        wording: settings.wording,
        device: r.device,
        dtype: info.dtype,
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
    // A failed write is the reason the run stopped (it cancelled the run).
    if (writer.stopped) return { status: writer.stopped, settings };
    if (end.runStatus !== 'finished')
      for (const n of end.notices.slice(-5)) console.error(`  ${termSafe(n)}`);
    return { status: end.runStatus, settings };
  } finally {
    await app.close().catch(() => undefined);
    await served.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    process.exitCode = await runEval(parseEvalArgs(process.argv.slice(2)));
  } catch (e) {
    console.error(`eval: ${termSafe(errorMessage(e))}`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  }
}
