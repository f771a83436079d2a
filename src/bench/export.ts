import { chatMessages, problemText, type QuestionWording } from './prompt';
import type { QuestionResult } from './results';
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
    const entries = Object.entries(value as Record<string, unknown>).filter(
      ([, v]) => v !== undefined,
    );
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

/** The official per-level results line: `sample_id, prompt, problem, solution, response, reward`. */
export function officialResultLine(
  sample: Sample,
  result: QuestionResult,
  wording: QuestionWording,
): string {
  return pythonJsonDumps({
    sample_id: sample.rawSampleId,
    prompt: chatMessages(sample, wording),
    problem: problemText(sample, wording),
    solution: `<answer>${sample.gold}.</answer>`,
    response: result.response ?? '',
    reward: new PyFloat(result.official?.reward ?? 0),
  });
}

/** Official results JSON lines for the results that have a sample, in the given order. */
export function toOfficialJsonl(
  samples: readonly Sample[],
  results: readonly QuestionResult[],
  wording: QuestionWording,
): string {
  const byId = new Map(results.map((r) => [`${r.level}:${r.sampleId}`, r]));
  const lines: string[] = [];
  for (const s of samples) {
    const r = byId.get(`${s.level}:${s.sampleId}`);
    if (r && r.response !== null) lines.push(officialResultLine(s, r, wording));
  }
  return lines.map((l) => `${l}\n`).join('');
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
  'error',
  'response',
] as const;

/**
 * One CSV cell. Text (model output, ids, messages) starting with = + - @ tab or CR would run as a
 * formula in a spreadsheet (`=HYPERLINK(...)`): per OWASP's CSV-injection advice it gets a
 * leading ' and quotes. Numbers are written as numbers (a log-prob of -1.5 stays one).
 */
function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) return `"'${s.replace(/"/g, '""')}"`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
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
      r.error ? `${r.error.stage}: ${r.error.message}` : null,
      r.response,
    ]
      .map(csvCell)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].map((l) => `${l}\r\n`).join('');
}

export interface RunDescription {
  model: string;
  dtype: string;
  device: string;
  benchmark: string;
  settings: Record<string, unknown>;
  startedAt?: string;
  finishedAt?: string;
}

export interface SummaryFile {
  run: RunDescription;
  summary: Summary;
  questions: number;
}

export function toSummaryJson(run: RunDescription, results: readonly QuestionResult[]): string {
  const file: SummaryFile = { run, summary: summarize(results), questions: results.length };
  return `${JSON.stringify(file, null, 2)}\n`;
}

export interface ImportedOfficialLine {
  sampleId: string;
  rawSampleId: number | string;
  response: string;
  reward: number;
  line: number;
}

/**
 * Reads an official results file (written by the Python script or exported here). Bad lines are
 * reported with their number and skipped.
 */
export function parseOfficialResults(file: string, text: string) {
  const lines: ImportedOfficialLine[] = [];
  const errors: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      const v = JSON.parse(raw) as Record<string, unknown>;
      const id = v.sample_id;
      if (typeof id !== 'number' && typeof id !== 'string') throw new Error('no sample_id');
      if (typeof v.response !== 'string') throw new Error('no response');
      lines.push({
        sampleId: String(id),
        rawSampleId: id,
        response: v.response,
        reward: typeof v.reward === 'number' ? v.reward : Number(v.reward ?? 0),
        line: i + 1,
      });
    } catch (e) {
      errors.push(`${file}:${i + 1}: ${(e as Error).message}`);
    }
  });
  return { lines, errors };
}
