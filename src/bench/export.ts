import { z } from 'zod';
import { readJsonFile } from './manifest';
import { chatMessages, problemText } from './prompt';
import { promptMismatch, type QuestionResult } from './results';
import { runSettingsSchema, type RunSettings } from './run-settings';
import { summarize, type Summary } from './stats';
import type { ChoiceLetter, Sample } from './types';

/**
 * Serialises like Python's `json.dumps(value)` with default arguments (", " and ": " separators,
 * ensure_ascii, floats keep a ".0"), so a browser results file diffs line by line against one
 * written by the official Python script.
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pythonNumber(value);
  if (typeof value === 'string') return pythonString(value);
  if (value instanceof PyFloat) return pythonFloat(value.value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    return `{${entries.map(([k, v]) => `${pythonString(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  throw new TypeError(`cannot serialise ${typeof value}`);
}

/** Marks a number that Python holds as a float (so 1 is written "1.0"). */
export class PyFloat {
  constructor(readonly value: number) {}
}

function pythonNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity';
  return Number.isInteger(n) ? String(n) : pythonFloat(n);
}

function pythonFloat(n: number): string {
  if (!Number.isFinite(n)) return pythonNumber(n);
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  // Python's repr switches to exponent notation below 1e-4 and from 1e16, with two exponent
  // digits ("1e-05"); JS only below 1e-6 and from 1e21.
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    return n.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(n);
}

function pythonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c < 0x20 || c > 0x7e) {
      // ensure_ascii: \uXXXX, astral characters as a surrogate pair.
      for (let i = 0; i < ch.length; i++) {
        out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
      }
    } else out += ch;
  }
  return `${out}"`;
}

/**
 * The official per-level results line: `sample_id, prompt, problem, solution, response, reward`.
 * `prompt` and `problem` are worded as the model's own record says it was asked, and the line is
 * refused (an Error naming the question) unless rendering that prompt again gives exactly the text
 * the model hashed: an official file cannot claim a prompt the model did not get.
 */
export function officialResultLine(sample: Sample, result: QuestionResult): string {
  const got = result.modelPrompt;
  if (!got) throw new Error(`question ${sample.sampleId}: no record of what the model was given`);
  const mismatch = promptMismatch(sample, got);
  if (mismatch) throw new Error(mismatch);
  return pythonJsonDumps({
    sample_id: sample.rawSampleId,
    prompt: chatMessages(sample, got.wording),
    problem: problemText(sample, got.wording),
    solution: `<answer>${sample.gold}.</answer>`,
    response: result.response ?? '',
    reward: new PyFloat(result.official?.reward ?? 0),
  });
}

/**
 * Official results JSON lines for the answered results that have a sample, in the samples' order;
 * `refused` names the questions left out because their record does not match (see above).
 */
export function toOfficialJsonl(
  samples: readonly Sample[],
  results: readonly QuestionResult[],
): { jsonl: string; lines: number; refused: string[] } {
  const byId = new Map(results.map((r) => [`${r.level}:${r.sampleId}`, r]));
  const lines: string[] = [];
  const refused: string[] = [];
  for (const s of samples) {
    const r = byId.get(`${s.level}:${s.sampleId}`);
    if (!r || r.response === null) continue;
    try {
      lines.push(officialResultLine(s, r));
    } catch (e) {
      refused.push(e instanceof Error ? e.message : String(e));
    }
  }
  return { jsonl: lines.map((l) => `${l}\n`).join(''), lines: lines.length, refused };
}

const CSV_COLUMNS = [
  'sample_id',
  'level',
  'domain',
  'scenario',
  'gold',
  'official_letter',
  'official_reward',
  'lenient_letter',
  'lenient_method',
  'letters_pred',
  'logprob_a',
  'logprob_b',
  'logprob_c',
  'logprob_d',
  'likelihood_pred',
  'nll_a',
  'nll_b',
  'nll_c',
  'nll_d',
  'frame_indices',
  'wording',
  'prompt_tokens',
  'model_prompt_sha256',
  'device',
  'dtype',
  'engine',
  'model_family',
  'error',
  'response',
] as const;

/**
 * One CSV cell. Text (model output, ids, messages) starting with = + - @ tab or CR would run as a
 * formula in a spreadsheet (`=HYPERLINK(...)`): per OWASP's CSV-injection advice it gets a
 * leading ' and quotes. Numbers are written as numbers (a log-prob of -1.5 stays one).
 */
function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (/^[=+\-@\t\r]/.test(v)) return `"'${v.replace(/"/g, '""')}"`;
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function argLetter(values: readonly number[] | null, best: 'max' | 'min'): ChoiceLetter | null {
  if (!values) return null;
  let bi = 0;
  values.forEach((v, i) => {
    if (best === 'max' ? v > (values[bi] ?? -Infinity) : v < (values[bi] ?? Infinity)) bi = i;
  });
  return (['A', 'B', 'C', 'D'] as const)[bi] ?? null;
}

export function toCsv(results: readonly QuestionResult[]): string {
  const rows = results.map((r) =>
    [
      r.sampleId,
      r.level,
      r.domain,
      r.scenario,
      r.gold,
      r.official?.letter,
      r.official?.reward,
      r.lenient?.letter,
      r.lenient?.method,
      argLetter(r.letterLogprobs, 'max'),
      ...(r.letterLogprobs ?? [null, null, null, null]),
      argLetter(r.choiceNll, 'min'),
      ...(r.choiceNll ?? [null, null, null, null]),
      r.frameIndices?.join(' '),
      r.modelPrompt?.wording,
      r.modelPrompt?.tokens,
      r.modelPrompt?.sha256,
      r.ranOn?.device,
      r.ranOn?.dtype,
      r.ranOn?.engine,
      r.ranOn?.family,
      r.error ? `${r.error.stage}: ${r.error.message}` : null,
      r.response,
    ]
      .map(csvCell)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].map((l) => `${l}\r\n`).join('');
}

/** The run a summary describes: its settings record, and where and when it ran. */
export interface SummaryRun {
  settings: RunSettings;
  /** Devices the questions ran on (a lost GPU can switch a run to wasm midway). */
  devices: string[];
  /** Which questions of the set (CLI: level, limit, shard; app: the subset), as given. */
  selection: Record<string, unknown>;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface SummaryFile {
  run: SummaryRun;
  summary: Summary;
  questions: number;
}

export function toSummaryJson(run: SummaryRun, results: readonly QuestionResult[]): string {
  const file: SummaryFile = { run, summary: summarize(results), questions: results.length };
  return `${JSON.stringify(file, null, 2)}\n`;
}

// summary.json read back (merge inputs, tests, other tools): refused with the field that is wrong.
const interval = z.object({ low: z.number(), high: z.number() });
const cell = z.object({
  n: z.number().int().nonnegative(),
  correct: z.number().int().nonnegative(),
  accuracy: z.number(),
  wilson: interval,
  cluster: interval,
  clusters: z.number().int().nonnegative(),
});
const group = z.object({
  key: z.string(),
  level: z.enum(['L1', 'L2', 'L3']).nullable(),
  domain: z.string().nullable(),
  scenario: z.string().nullable(),
  questions: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  byMode: z.partialRecord(z.enum(['official', 'lenient', 'letters', 'likelihood']), cell),
  letters: z.record(z.enum(['A', 'B', 'C', 'D', 'none']), z.number().int()),
  unparseable: z.number().int().nonnegative(),
  lenientNeeded: z.number().int().nonnegative(),
});

export const summaryFileSchema = z.object({
  run: z.object({
    settings: runSettingsSchema,
    devices: z.array(z.string()),
    selection: z.record(z.string(), z.unknown()),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  }),
  summary: z.object({
    total: group,
    levels: z.array(group),
    domains: z.array(group),
    scenarios: z.array(group),
  }),
  questions: z.number().int().nonnegative(),
});

/** Reads a summary.json; an Error names the file and the first wrong field. */
export function readSummaryFile(file: string, text: string): SummaryFile {
  return readJsonFile(file, text, summaryFileSchema);
}
