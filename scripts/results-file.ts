// The files npm run eval writes and npm run merge joins: results.jsonl (one line per question, the
// official fields first, then what the model got, then ours), run.json (the settings record,
// bench/run-settings) and summary.json, plus the accuracy table printed last. Every reader checks
// the file against its schema and names the file, line and field that is wrong.
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  chatMessages,
  describeIssue,
  problemText,
  promptMismatch,
  PyFloat,
  pythonJsonDumps,
  readJsonFile,
  runSettingsSchema,
  summarize,
  toSummaryJson,
  SCORING_MODE_LABELS,
  type GroupSummary,
  type QuestionResult,
  type QuestionWording,
  type RunSettings,
  type Sample,
  type ScoringMode,
  type SummaryRun,
} from '../src/bench/index';

/** Which questions of the benchmark an output folder holds (not identity: results are per question). */
export interface Selection {
  level: 'L1' | 'L2' | 'L3' | null;
  limit: number | null;
  shard: { index: number; count: number } | null;
  /** Questions selected (after level and limit, before sharding). */
  selected: number;
}

export interface RunFile {
  settings: RunSettings;
  selection: Selection;
  createdAt: string;
}

const runFileSchema = z.object({
  settings: runSettingsSchema,
  selection: z.object({
    level: z.enum(['L1', 'L2', 'L3']).nullable(),
    limit: z.number().int().positive().nullable(),
    shard: z.object({ index: z.number().int(), count: z.number().int() }).nullable(),
    selected: z.number().int().nonnegative(),
  }),
  createdAt: z.string(),
});

export function readRunFile(dir: string): RunFile | null {
  const p = join(dir, 'run.json');
  if (!existsSync(p)) return null;
  return readJsonFile(p, readFileSync(p, 'utf8'), runFileSchema);
}

export function writeRunFile(dir: string, run: RunFile): void {
  writeFileSync(join(dir, 'run.json'), `${JSON.stringify(run, null, 2)}\n`);
}

const finite = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? null : v;
const finiteList = (v: readonly number[] | null) => (v ? v.map((x) => finite(x)) : null);

/**
 * One results.jsonl line: the official fields (as Python's json.dumps writes them), then what the
 * model got, then ours. `prompt` and `problem` follow the wording the model's record names (the
 * run's wording for a question the model never saw), and a record whose hash does not match the
 * prompt rendered again is refused with an Error: the line cannot claim what did not happen.
 */
export function resultLine(
  sample: Sample,
  r: QuestionResult,
  extra: { wording: QuestionWording; device: string | null; dtype: string; model: string },
): string {
  const got = r.modelPrompt;
  if (got) {
    const mismatch = promptMismatch(sample, got);
    if (mismatch) throw new Error(mismatch);
  }
  const wording = got?.wording ?? extra.wording;
  const timings: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(r.timings)) timings[k] = finite(v);
  return pythonJsonDumps({
    sample_id: sample.rawSampleId,
    prompt: chatMessages(sample, wording),
    problem: problemText(sample, wording),
    solution: `<answer>${sample.gold}.</answer>`,
    response: r.response ?? '',
    reward: new PyFloat(r.official?.reward ?? 0),
    // What the model got (null: it never ran on this question).
    wording: got?.wording ?? null,
    prompt_tokens: got?.tokens ?? null,
    model_prompt_sha256: got?.sha256 ?? null,
    prompt_visual_tokens: got ? [got.clipTokens, got.stillTokens] : null,
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
    // Where the question ran, as the model reported it; the load's values when it never ran.
    device: r.ranOn?.device ?? extra.device,
    dtype: r.ranOn?.dtype ?? extra.dtype,
    engine: r.ranOn?.engine ?? null,
    // The model family (config.json's model_type) and, for Qwen2.5-VL clips, the video time used.
    model_family: r.ranOn?.family ?? null,
    second_per_grid_ts: r.ranOn?.secondPerGridTs ?? null,
    model: extra.model,
    finished_at: r.finishedAt,
  });
}

const letter = z.enum(['A', 'B', 'C', 'D']);
const four = z.tuple([z.number(), z.number(), z.number(), z.number()]);
// Python's json.dumps writes NaN/Infinity for non-finite floats; we write null for them.
const fourOrNulls = z.tuple([
  z.number().nullable(),
  z.number().nullable(),
  z.number().nullable(),
  z.number().nullable(),
]);

/** A results.jsonl line. */
export const resultLineSchema = z.object({
  sample_id: z.union([z.number().int(), z.string().min(1)]),
  prompt: z.array(z.unknown()),
  problem: z.string(),
  solution: z.string(),
  response: z.string(),
  reward: z.number(),
  wording: z.enum(['as-is', 'seed-bench-r1']).nullable(),
  prompt_tokens: z.number().int().positive().nullable(),
  model_prompt_sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  prompt_visual_tokens: z.tuple([z.number().int().nullable(), z.number().int()]).nullable(),
  level: z.enum(['L1', 'L2', 'L3']),
  domain: z.string().nullable(),
  scenario: z.string().nullable(),
  gold: letter,
  cluster: z.string(),
  official_scored: z.boolean(),
  extracted_answer: z.string().nullable(),
  extracted_letter: letter.nullable(),
  lenient_letter: letter.nullable(),
  lenient_method: z.string().nullable(),
  letter_logprobs: fourOrNulls.nullable(),
  choice_nll: fourOrNulls.nullable(),
  frame_indices: z.array(z.number().int()).nullable(),
  timings: z.record(z.string(), z.number().nullable()),
  error: z
    .object({ stage: z.enum(['clip', 'still', 'model', 'other']), message: z.string() })
    .nullable(),
  device: z.string().nullable(),
  dtype: z.string(),
  // Absent in files written before engines were recorded.
  engine: z.string().nullable().default(null),
  // Absent in files written before model families were recorded.
  model_family: z.string().nullable().default(null),
  second_per_grid_ts: z.number().nullable().default(null),
  model: z.string(),
  finished_at: z.string(),
});

export type ResultLine = z.infer<typeof resultLineSchema>;

const asFour = (v: ResultLine['letter_logprobs'], missing: number) =>
  v ? four.parse(v.map((x) => x ?? missing)) : null;

/** The record summarize() takes, rebuilt from a line (no re-scoring: the line holds the letters). */
export function resultFromLine(l: ResultLine): QuestionResult {
  const timings: Record<string, number> = {};
  for (const [k, v] of Object.entries(l.timings)) if (typeof v === 'number') timings[k] = v;
  const reward = (ok: boolean): 0 | 1 => (ok ? 1 : 0);
  const visual = l.prompt_visual_tokens;
  return {
    sampleId: String(l.sample_id),
    rawSampleId: l.sample_id,
    level: l.level,
    domain: l.domain,
    scenario: l.scenario,
    cluster: l.cluster,
    gold: l.gold,
    response: l.official_scored ? l.response : null,
    modelPrompt:
      l.wording && l.prompt_tokens !== null && l.model_prompt_sha256 && visual
        ? {
            wording: l.wording,
            tokens: l.prompt_tokens,
            sha256: l.model_prompt_sha256,
            clipTokens: visual[0],
            stillTokens: visual[1],
          }
        : null,
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
    letterLogprobs: asFour(l.letter_logprobs, -Infinity),
    choiceNll: asFour(l.choice_nll, Infinity),
    error: l.error,
    ranOn:
      l.device !== null && l.engine !== null
        ? {
            device: l.device,
            dtype: l.dtype,
            engine: l.engine,
            ...(l.model_family !== null ? { family: l.model_family } : {}),
            ...(l.second_per_grid_ts !== null ? { secondPerGridTs: l.second_per_grid_ts } : {}),
          }
        : null,
    frameIndices: l.frame_indices,
    timings,
    finishedAt: l.finished_at,
  };
}

/**
 * Reads results.jsonl. A run killed mid-write leaves a partial last line: it is cut off here (so
 * the next append starts on a fresh line) and that question runs again. Other bad lines are
 * reported as "file:line field: message" and skipped.
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
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      bad.push(
        `${path}:${i + 1}: not valid JSON (${e instanceof Error ? e.message : 'parse error'})`,
      );
      return;
    }
    const parsed = resultLineSchema.safeParse(value);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      bad.push(`${path}:${i + 1} ${field}: ${message}`);
      return;
    }
    lines.push(parsed.data);
    rawLines.push(raw);
  });
  return { lines, raw: rawLines, bad };
}

export function writeSummary(dir: string, run: SummaryRun, results: QuestionResult[]): void {
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
