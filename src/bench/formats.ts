import type { z } from 'zod';
import { errorMessage } from './assert';
import {
  describeIssue,
  egoPlanBench2ExampleRecord,
  egoPlanBench2Record,
  egoPlanRecord,
  seedBenchR1Record,
} from './records';
import {
  LEVELS,
  type BenchmarkFormat,
  type ChoiceLetter,
  type Level,
  type Sample,
  type VideoSource,
} from './types';

/** A record that could not be read; the rest of the file still loads. */
export interface RecordError {
  file: string;
  /** 1-based line for JSON lines files. */
  line?: number;
  /** 0-based array index for JSON array files. */
  index?: number;
  field: string;
  message: string;
}

export interface ParsedBenchmark {
  file: string;
  format: BenchmarkFormat;
  samples: Sample[];
  errors: RecordError[];
  /** Records seen, valid or not. */
  total: number;
}

export class BenchmarkFormatError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'BenchmarkFormatError';
  }
}

/** Human-readable place of a record error: "file:line field: message". */
export function formatRecordError(e: RecordError): string {
  const where = e.line !== undefined ? `:${e.line}` : e.index !== undefined ? `[${e.index}]` : '';
  return `${e.file}${where} ${e.field}: ${e.message}`;
}

/** EgoPlan-Bench2's question template (its eval.py), used when a record has only task_goal. */
export function egoPlanBench2Question(taskGoal: string): string {
  return `Considering the progress shown in the video and my current observation in the last frame, what action should I take next in order to ${taskGoal}?`;
}

/** A line of an annotation file that is not valid UTF-8. */
export interface InvalidUtf8Line {
  /** 1-based. */
  line: number;
  /** 0-based offset in the line of the byte where decoding failed, and that byte. */
  byte: number;
  value: number;
}

const describeInvalid = (b: InvalidUtf8Line) =>
  `invalid UTF-8 (byte 0x${b.value.toString(16).padStart(2, '0')} at byte ${b.byte} of line ${b.line})`;

// TextDecoder exists wherever this runs (browser, worker, Node) but src/bench is typed without
// DOM or Node globals: the little of it used here, declared here (no cast).
interface Utf8Decoder {
  decode(bytes: Uint8Array, options?: { stream?: boolean }): string;
}
declare const TextDecoder: new (label: 'utf-8', options?: { fatal?: boolean }) => Utf8Decoder;

/**
 * Annotation bytes as text, checked line by line (a UTF-8 sequence never holds a newline byte),
 * so invalid UTF-8 is reported with its line instead of silently becoming U+FFFD. On those lines
 * the replacement characters become U+DFFF, a lone surrogate that no valid UTF-8 decodes to: the
 * records that hold one are then reported and left out (see convertAll).
 */
export function decodeAnnotation(bytes: Uint8Array): { text: string; invalid: InvalidUtf8Line[] } {
  const fatal = new TextDecoder('utf-8', { fatal: true });
  try {
    return { text: fatal.decode(bytes), invalid: [] };
  } catch {
    // some line is not UTF-8: find which below
  }
  const lenient = new TextDecoder('utf-8');
  const parts: string[] = [];
  const invalid: InvalidUtf8Line[] = [];
  for (let start = 0, line = 1; start <= bytes.length; line++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl < 0 ? bytes.length : nl;
    const chunk = bytes.subarray(start, end);
    try {
      parts.push(fatal.decode(chunk));
    } catch {
      invalid.push({ line, ...firstInvalidByte(chunk) });
      parts.push(lenient.decode(chunk).replace(/\uFFFD/g, '\uDFFF'));
    }
    start = end + 1;
  }
  return { text: parts.join('\n'), invalid };
}

function firstInvalidByte(chunk: Uint8Array): { byte: number; value: number } {
  const stream = new TextDecoder('utf-8', { fatal: true });
  for (let i = 0; i < chunk.length; i++) {
    try {
      stream.decode(chunk.subarray(i, i + 1), { stream: true });
    } catch {
      return { byte: i, value: chunk[i] ?? 0 };
    }
  }
  return { byte: chunk.length, value: chunk[chunk.length - 1] ?? 0 }; // a sequence cut by the line end
}

/**
 * Reads any of the formats of protocol section 1, detecting which from the content. Give the
 * file's bytes where you have them: text decoded elsewhere has lost where its invalid UTF-8 was.
 */
export function parseBenchmarkFile(file: string, content: string | Uint8Array): ParsedBenchmark {
  const { text, invalid } =
    typeof content === 'string' ? { text: content, invalid: [] } : decodeAnnotation(content);
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('[')) return parseJsonArray(file, body, invalid);
  return parseJsonLines(file, body, invalid);
}

interface RawItem {
  value: unknown;
  line?: number;
  index?: number;
}

function parseJsonArray(file: string, body: string, invalid: InvalidUtf8Line[]): ParsedBenchmark {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (e) {
    const utf8 = invalid.length > 0 ? `; ${invalid.map(describeInvalid).join(', ')}` : '';
    throw new BenchmarkFormatError(file, `not valid JSON (${errorMessage(e)}${utf8})`);
  }
  if (!Array.isArray(data)) throw new BenchmarkFormatError(file, 'expected a JSON array');
  const items: RawItem[] = data.map((value: unknown, index) => ({ value, index }));
  return convertAll(file, items, [], detectFormat(file, items, 'array'), invalid);
}

function parseJsonLines(file: string, body: string, invalid: InvalidUtf8Line[]): ParsedBenchmark {
  const items: RawItem[] = [];
  const errors: RecordError[] = [];
  const badLines = new Map(invalid.map((b) => [b.line, b]));
  body.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const bad = badLines.get(line);
    if (bad) {
      errors.push({ file, line, field: '(line)', message: describeInvalid(bad) });
      return;
    }
    if (raw.trim() === '') return;
    try {
      items.push({ value: JSON.parse(raw), line });
    } catch (e) {
      errors.push({
        file,
        line,
        field: '(line)',
        message: `not valid JSON: ${errorMessage(e)}`,
      });
    }
  });
  if (items.length === 0 && errors.length === 0) throw new BenchmarkFormatError(file, 'empty file');
  return convertAll(file, items, errors, detectFormat(file, items, 'lines'));
}

function has(value: unknown, key: string): boolean {
  return typeof value === 'object' && value !== null && key in value;
}

/** Decides the format from the fields most records carry (one bad record must not decide it). */
function detectFormat(file: string, items: RawItem[], shape: 'array' | 'lines'): BenchmarkFormat {
  const votes = new Map<BenchmarkFormat, number>();
  for (const { value } of items.slice(0, 50)) {
    let f: BenchmarkFormat | null = null;
    if (has(value, 'current_observation_basename')) f = 'seed-bench-r1-jsonl';
    else if (has(value, 'domain') && !has(value, 'question')) f = 'egoplan-bench2-json';
    else if (has(value, 'domain') && has(value, 'video_basename'))
      f = 'egoplan-bench2-examples-jsonl';
    else if (has(value, 'task_progress_metadata') && has(value, 'video_id')) f = 'egoplan-json';
    if (f) votes.set(f, (votes.get(f) ?? 0) + 1);
  }
  const best = [...votes.entries()].sort((a, b) => b[1] - a[1])[0];
  if (!best) {
    throw new BenchmarkFormatError(
      file,
      `not a known benchmark format (${shape === 'array' ? 'JSON array' : 'JSON lines'} whose records have none of the SEED-Bench-R1, EgoPlan-Bench or EgoPlan-Bench2 fields)`,
    );
  }
  return best[0];
}

const schemas = {
  'seed-bench-r1-jsonl': seedBenchR1Record,
  'egoplan-json': egoPlanRecord,
  'egoplan-bench2-json': egoPlanBench2Record,
  'egoplan-bench2-examples-jsonl': egoPlanBench2ExampleRecord,
} satisfies Record<BenchmarkFormat, z.ZodType>;

/** Whether a parsed value holds a lone surrogate anywhere (in a key or a string). */
function holdsLoneSurrogate(v: unknown): boolean {
  if (typeof v === 'string') return /\p{Cs}/u.test(v);
  if (typeof v !== 'object' || v === null) return false;
  return Object.entries(v).some(([k, x]) => /\p{Cs}/u.test(k) || holdsLoneSurrogate(x));
}

function convertAll(
  file: string,
  items: RawItem[],
  errors: RecordError[],
  format: BenchmarkFormat,
  invalid: InvalidUtf8Line[] = [],
): ParsedBenchmark {
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const named = /validation_(L[123])\b/.exec(file)?.[1];
  const levelFromName = LEVELS.find((l) => l === named);
  for (const { value, line, index } of items) {
    const where = line !== undefined ? { line } : { index };
    if (holdsLoneSurrogate(value)) {
      // From invalid UTF-8 (decodeAnnotation) or a broken \ud800-style escape: not text.
      const lines = invalid.length > 0 ? invalid.map(describeInvalid).join(', ') : null;
      errors.push({
        file,
        ...where,
        field: '(record)',
        message: lines ?? 'a string holds a lone surrogate (not valid Unicode text)',
      });
      continue;
    }
    const checked = schemas[format].safeParse(value);
    if (!checked.success) {
      errors.push({ file, ...where, ...describeIssue(checked.error) });
      continue;
    }
    const origin = { file, ...where };
    const sample = toSample(format, checked.data, origin, levelFromName);
    if (seen.has(sample.sampleId)) {
      errors.push({ file, ...where, field: 'sample_id', message: `duplicate ${sample.sampleId}` });
      continue;
    }
    const goldText = sample.choices[letterIndex(sample.gold)];
    if (goldText !== sample.answer) {
      errors.push({
        file,
        ...where,
        field: 'answer',
        message: `does not equal choice ${sample.gold} ("${goldText}")`,
      });
      continue;
    }
    seen.add(sample.sampleId);
    samples.push(sample);
  }
  // In file order (line errors are found before record errors).
  errors.sort((a, b) => (a.line ?? a.index ?? 0) - (b.line ?? b.index ?? 0));
  return { file, format, samples, errors, total: items.length + countLineErrors(errors) };
}

function countLineErrors(errors: RecordError[]): number {
  return errors.filter((e) => e.field === '(line)').length;
}

export function letterIndex(letter: ChoiceLetter): 0 | 1 | 2 | 3 {
  return letter === 'A' ? 0 : letter === 'B' ? 1 : letter === 'C' ? 2 : 3;
}

interface CommonFields {
  sample_id: number | string;
  choice_a: string;
  choice_b: string;
  choice_c: string;
  choice_d: string;
  golden_choice_idx: ChoiceLetter;
  answer: string;
  video_source?: VideoSource | undefined;
  video_id?: string | undefined;
  task_goal?: string | undefined;
  domain?: string | undefined;
  scenario?: string | undefined;
  question?: string;
  task_progress_metadata?: {
    narration_text?: string | undefined;
    narration?: string | undefined;
    start_frame: number;
    stop_frame: number;
  }[];
  video_basename?: string | undefined;
  current_observation_basename?: string;
}

function toSample(
  format: BenchmarkFormat,
  r: CommonFields,
  origin: Sample['origin'],
  levelFromName: Level | undefined,
): Sample {
  const videoSource: VideoSource = r.video_source ?? 'Ego4D';
  const sampleId = String(r.sample_id);
  const progress = (r.task_progress_metadata ?? []).map((s) => ({
    narrationText: s.narration_text ?? s.narration ?? '',
    startFrame: s.start_frame,
    stopFrame: s.stop_frame,
  }));
  const bench2 = format === 'egoplan-bench2-json' || format === 'egoplan-bench2-examples-jsonl';
  // EgoPlan-Bench2 questions always carry their clip (it ends at the current observation).
  const hasClip = bench2 || progress.length > 0;
  const level: Level = bench2
    ? 'L3'
    : (levelFromName ??
      (r.domain !== undefined ? 'L3' : videoSource === 'EpicKitchens' ? 'L1' : 'L2'));
  return {
    sampleId,
    rawSampleId: r.sample_id,
    level,
    question: r.question ?? egoPlanBench2Question(r.task_goal ?? ''),
    choices: [r.choice_a, r.choice_b, r.choice_c, r.choice_d],
    gold: r.golden_choice_idx,
    answer: r.answer,
    videoSource,
    videoId: r.video_id ?? null,
    taskGoal: r.task_goal ?? null,
    progress,
    hasClip,
    clipPaths: hasClip
      ? clipCandidates(format, r, videoSource).map((b) => `videos/${videoSource}/${b}`)
      : null,
    stillPath: stillOf(format, r, videoSource),
    domain: r.domain ?? null,
    scenario: r.scenario ?? null,
    format,
    origin,
  };
}

/**
 * Clip file names, best guess first. SEED-Bench-R1 and the examples name the clip; for the EgoPlan
 * formats the names are inferred (EgoPlan-Bench2 cuts `<sample_id>.mp4`; its examples use
 * `<uuid>_QA-<n>.mp4`), so the folder matcher also tries these.
 */
function clipCandidates(format: BenchmarkFormat, r: CommonFields, _src: VideoSource): string[] {
  const id = String(r.sample_id);
  if (r.video_basename) return [r.video_basename];
  if (format === 'egoplan-bench2-json') {
    const m = /^(.*)_(\d+)$/.exec(id);
    return m ? [`${m[1]}_QA-${m[2]}.mp4`, `${id}.mp4`] : [`${id}.mp4`];
  }
  return [`${id}.mp4`, ...(r.video_id ? [`${r.video_id}_${id}.mp4`] : [])];
}

function stillOf(format: BenchmarkFormat, r: CommonFields, source: VideoSource): string | null {
  if (r.current_observation_basename) return `images/${source}/${r.current_observation_basename}`;
  // EgoPlan-Bench (no basenames): inferred name of the observation still.
  if (format === 'egoplan-json') return `images/${source}/${String(r.sample_id)}.png`;
  return null; // EgoPlan-Bench2: the clip's last frame is the observation.
}
