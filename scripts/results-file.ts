// The files npm run eval writes and npm run merge joins: results.jsonl (one line per question, the
// official fields first, then ours), run.json (the settings) and summary.json, plus the accuracy
// table printed last.
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  chatMessages,
  problemText,
  PyFloat,
  pythonJsonDumps,
  summarize,
  toSummaryJson,
  SCORING_MODE_LABELS,
  type ChoiceLetter,
  type GroupSummary,
  type Level,
  type QuestionResult,
  type QuestionWording,
  type RunDescription,
  type Sample,
  type ScoringMode,
} from '../src/bench/index';

/** What decides a run's answers: resuming or merging across different settings is refused. */
export interface RunSettings {
  model: string;
  dtype: string;
  device: string;
  scoring: { official: boolean; letters: boolean; likelihood: boolean };
  wording: QuestionWording;
  maxNewTokens: number;
  benchmark: string;
  level: Level | null;
}

export interface RunFile {
  settings: RunSettings;
  /** Questions selected (after level and limit, before sharding). */
  selected: number;
  limit: number | null;
  shard: { index: number; count: number } | null;
  createdAt: string;
}

/** Keys whose values differ between two settings objects (compared as JSON). */
export function settingsConflicts(a: RunSettings, b: RunSettings): string[] {
  return (Object.keys(a) as (keyof RunSettings)[]).filter(
    (k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]),
  );
}

export function readRunFile(dir: string): RunFile | null {
  const p = join(dir, 'run.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RunFile) : null;
}

export function writeRunFile(dir: string, run: RunFile): void {
  writeFileSync(join(dir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
}

const finite = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v;
const finiteList = (v: readonly number[] | null) => (v ? v.map((x) => finite(x)) : null);

/** One results.jsonl line: the official fields (as Python's json.dumps writes them), then ours. */
export function resultLine(
  sample: Sample,
  r: QuestionResult,
  extra: { wording: QuestionWording; device: string | null; dtype: string; model: string },
): string {
  const timings: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(r.timings)) timings[k] = finite(v);
  return pythonJsonDumps({
    sample_id: sample.rawSampleId,
    prompt: chatMessages(sample, extra.wording),
    problem: problemText(sample, extra.wording),
    solution: `<answer>${sample.gold}.</answer>`,
    response: r.response ?? '',
    reward: new PyFloat(r.official?.reward ?? 0),
    level: r.level,
    domain: r.domain,
    scenario: r.scenario,
    gold: r.gold,
    cluster: r.cluster,
    // False when the official generation did not run (other scoring only, or an error first).
    official_scored: r.official !== null,
    extracted_answer: r.official?.answer ?? null,
    extracted_letter: r.official?.letter ?? null,
    lenient_letter: r.lenient?.letter ?? null,
    lenient_method: r.lenient?.method ?? null,
    letter_logprobs: finiteList(r.letterLogprobs),
    choice_nll: finiteList(r.choiceNll),
    frame_indices: r.frameIndices,
    timings,
    error: r.error,
    device: extra.device,
    dtype: extra.dtype,
    model: extra.model,
    finished_at: r.finishedAt,
  });
}

/** What a line holds, typed (as JSON.parse returns it). */
export interface ResultLine {
  sample_id: number | string;
  response: string;
  reward: number;
  level: Level;
  domain: string | null;
  scenario: string | null;
  gold: ChoiceLetter;
  cluster: string;
  official_scored: boolean;
  extracted_answer: string | null;
  extracted_letter: ChoiceLetter | null;
  lenient_letter: ChoiceLetter | null;
  lenient_method: string | null;
  letter_logprobs: [number, number, number, number] | null;
  choice_nll: [number, number, number, number] | null;
  frame_indices: number[] | null;
  timings: Record<string, number | null>;
  error: QuestionResult['error'];
  device: string | null;
  dtype: string;
  model: string;
  finished_at: string;
}

/** The record summarize() takes, rebuilt from a line (no re-scoring: the line holds the letters). */
export function resultFromLine(l: ResultLine): QuestionResult {
  const timings: Record<string, number> = {};
  for (const [k, v] of Object.entries(l.timings ?? {})) if (typeof v === 'number') timings[k] = v;
  const reward = (ok: boolean): 0 | 1 => (ok ? 1 : 0);
  return {
    sampleId: String(l.sample_id),
    rawSampleId: l.sample_id,
    level: l.level,
    domain: l.domain,
    scenario: l.scenario,
    cluster: l.cluster,
    gold: l.gold,
    response: l.official_scored ? l.response : null,
    official: l.official_scored
      ? { reward: reward(l.reward === 1), letter: l.extracted_letter, answer: l.extracted_answer }
      : null,
    lenient: l.official_scored
      ? {
          reward: reward(l.lenient_letter === l.gold),
          letter: l.lenient_letter,
          method: l.lenient_method,
        }
      : null,
    letterLogprobs: l.letter_logprobs,
    choiceNll: l.choice_nll,
    error: l.error,
    frameIndices: l.frame_indices,
    timings,
    finishedAt: l.finished_at,
  };
}

/**
 * Reads results.jsonl. A run killed mid-write leaves a partial last line: it is cut off here (so
 * the next append starts on a fresh line) and that question runs again.
 */
export function readResults(
  path: string,
  repair = false,
): { lines: ResultLine[]; raw: string[]; bad: string[] } {
  if (!existsSync(path)) return { lines: [], raw: [], bad: [] };
  let text = readFileSync(path, 'utf8');
  if (text.length > 0 && !text.endsWith('\n')) {
    const keep = text.lastIndexOf('\n') + 1;
    if (repair) truncateSync(path, Buffer.byteLength(text.slice(0, keep)));
    text = text.slice(0, keep);
  }
  const lines: ResultLine[] = [];
  const rawLines: string[] = [];
  const bad: string[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const v = JSON.parse(raw) as ResultLine;
      if (v.sample_id === undefined || !v.level) throw new Error('no sample_id or level');
      lines.push(v);
      rawLines.push(raw);
    } catch (e) {
      bad.push(`${path}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return { lines, raw: rawLines, bad };
}

export function writeSummary(dir: string, run: RunDescription, results: QuestionResult[]): void {
  writeFileSync(join(dir, 'summary.json'), toSummaryJson(run, results));
}

const MODES: ScoringMode[] = ['official', 'lenient', 'letters', 'likelihood'];

function pct(v: number): string {
  return (100 * v).toFixed(2);
}

/** The accuracy table: levels, L3 domains, all; a column per scoring mode that ran. */
export function accuracyTable(results: QuestionResult[]): string {
  const s = summarize(results);
  const groups: GroupSummary[] = [...s.levels, ...s.domains];
  if (s.levels.length > 1) groups.push(s.total);
  const modes = MODES.filter((m) => groups.some((g) => g.byMode[m]));
  const header = ['group', 'questions', 'errors', ...modes.map((m) => `${m} % [95% CI]`)];
  const rows = groups.map((g) => [
    g.key,
    String(g.questions),
    String(g.errors),
    ...modes.map((m) => {
      const c = g.byMode[m];
      if (!c) return '-';
      return `${pct(c.accuracy)} (${c.correct}/${c.n}) [${pct(c.wilson.low)}-${pct(c.wilson.high)}]`;
    }),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  const notes = modes
    .filter((m) => m !== 'official')
    .map((m) => `  ${m}: ${SCORING_MODE_LABELS[m]}`);
  const unparseable = s.total.unparseable;
  return [
    fmt(header),
    fmt(widths.map((w) => '-'.repeat(w))),
    ...rows.map(fmt),
    ...(notes.length > 0 ? ['Only "official" is the benchmark\'s number:', ...notes] : []),
    `(CI: Wilson 95%. ${unparseable} official answers had no usable letter; ${s.total.lenientNeeded} of them had one for the lenient extractor.)`,
  ].join('\n');
}
