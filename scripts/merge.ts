// npm run merge — joins the results of `npm run eval -- --shard i/n` runs (or any eval output
// folders of the same settings) into one folder: results.jsonl (deduplicated by sample id, in shard
// order), run.json, summary.json, and prints the accuracy table.
//
//   npm run merge -- --out <folder> <shard folder> <shard folder> ...
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage, identityConflicts } from '../src/bench/index';
import {
  accuracyTable,
  readResults,
  readRunFile,
  resultFromLine,
  writeRunFile,
  writeSummary,
  type ResultLine,
} from './results-file';
import { writing } from './results-writer';
import { termSafe } from './term-safe';

export function merge(out: string, inputs: string[]): { questions: number; table: string } {
  if (inputs.length === 0) throw new Error('name at least one eval output folder to merge');
  const runs = inputs.map((dir) => {
    const run = readRunFile(dir);
    if (!run) throw new Error(`${dir}: no run.json (not an npm run eval output folder)`);
    // A line the schema refuses cannot be merged silently.
    return { dir, run };
  });
  const first = runs[0]!.run;
  for (const { dir, run } of runs.slice(1)) {
    // Same run = same identity: same annotation records, same model bytes, same settings.
    const diff = identityConflicts(first.settings, run.settings).map((d) => d.message);
    if (diff.length > 0)
      throw new Error(`${dir}: not the same run as ${inputs[0]} (${diff.join('; ')})`);
    const [a, b] = [first.selection, run.selection];
    if (b.limit !== a.limit) throw new Error(`${dir}: --limit ${b.limit} vs ${a.limit}`);
    if (b.level !== a.level) throw new Error(`${dir}: --level ${b.level} vs ${a.level}`);
  }
  const shards = runs.map((r) => r.run.selection.shard);
  const count = shards[0]?.count;
  const seenShards = new Set(shards.map((s) => s?.index));
  const complete =
    count !== undefined && shards.every((s) => s?.count === count) && seenShards.size === count;
  if (shards.some((s) => s !== null) && !complete) {
    console.error(
      `note: shards given: ${shards.map((s) => (s ? `${s.index}/${s.count}` : 'none')).join(', ')} — not a complete set`,
    );
  }

  const byId = new Map<string, ResultLine>();
  const raw = new Map<string, string>();
  for (const { dir } of runs) {
    const { lines, raw: texts, bad } = readResults(join(dir, 'results.jsonl'));
    for (const b of bad) console.error(`skipped unreadable line ${termSafe(b, true)}`);
    for (const [i, l] of lines.entries()) {
      const id = `${l.level}:${String(l.sample_id)}`;
      const prev = byId.get(id);
      // The same question twice (overlapping folders): keep the first, but differing answers
      // mean the inputs do not describe one run.
      if (prev && prev.response !== l.response) {
        throw new Error(
          `${dir}: question ${String(l.sample_id)} answered differently in two inputs`,
        );
      }
      if (!prev) {
        byId.set(id, l);
        raw.set(id, texts[i]!);
      }
    }
  }
  mkdirSync(out, { recursive: true });
  const target = join(out, 'results.jsonl');
  if (existsSync(target) && inputs.some((d) => resolve(d) === resolve(out))) {
    throw new Error('--out must not be one of the inputs');
  }
  // Lines are copied as written (Python's json.dumps spacing), so they still diff against Python.
  writing(target, () => writeFileSync(target, [...raw.values()].map((l) => `${l}\n`).join('')));
  const selection = { ...first.selection, shard: null };
  writeRunFile(out, { settings: first.settings, selection, createdAt: new Date().toISOString() });
  const lines = [...byId.values()];
  const results = lines.map(resultFromLine);
  writeSummary(
    out,
    {
      settings: first.settings,
      devices: [...new Set(lines.map((l) => l.device ?? 'none'))],
      selection: { ...selection, mergedFrom: inputs },
      startedAt: null,
      finishedAt: new Date().toISOString(),
    },
    results,
  );
  if (complete && results.length !== selection.selected) {
    console.error(
      `note: ${results.length} of ${selection.selected} selected questions are in the shards`,
    );
  }
  return { questions: results.length, table: accuracyTable(results) };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  try {
    const { values, positionals } = parseArgs({
      options: { out: { type: 'string' } },
      allowPositionals: true,
    });
    if (!values.out) throw new Error('usage: npm run merge -- --out <folder> <shard folder>...');
    const { questions, table } = merge(resolve(values.out), positionals);
    console.log(termSafe(table));
    console.log(`\n${questions} questions merged into ${resolve(values.out)}`);
  } catch (e) {
    console.error(`merge: ${termSafe(errorMessage(e))}`);
    process.exitCode = 1;
  }
}
