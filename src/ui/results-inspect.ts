// Pure helpers of the Inspector: question status and filters, output splitting into think/answer
// parts, per-choice probabilities, timings and token counts. No React, no DOM: unit-tested in node.
import { rewardOf, type QuestionResult, type Sample } from '../bench/index';

export type InspectorFilter = 'all' | 'right' | 'wrong' | 'unparseable' | 'errors' | 'not-run';

export const FILTERS: readonly { id: InspectorFilter; label: string }[] = [
  { id: 'all', label: 'All' },
  { id: 'right', label: 'Right' },
  { id: 'wrong', label: 'Wrong' },
  { id: 'unparseable', label: 'Unparseable' },
  { id: 'errors', label: 'Errors' },
  { id: 'not-run', label: 'Not run' },
];

export type QuestionStatus = 'right' | 'wrong' | 'unparseable' | 'error' | 'not-run';

/**
 * One status per question for the list's marker. Right/wrong follow the official rule when it ran,
 * else the first extra mode that did (letters, then likelihood). Unparseable: the official rule
 * found no letter. An error wins over everything (the answer, if any, is partial).
 */
export function questionStatus(r: QuestionResult | undefined): QuestionStatus {
  if (!r) return 'not-run';
  if (r.error) return 'error';
  if (r.official) {
    if (r.official.letter === null) return 'unparseable';
    return r.official.reward === 1 ? 'right' : 'wrong';
  }
  const reward = fallbackReward(r);
  if (reward === undefined) return 'not-run';
  return reward === 1 ? 'right' : 'wrong';
}

function fallbackReward(r: QuestionResult): 0 | 1 | undefined {
  return rewardOf(r, 'letters') ?? rewardOf(r, 'likelihood');
}

/**
 * Whether a question passes a filter. The filters overlap on purpose: "wrong" counts every scored
 * 0 (unparseable included, as the official number does), "unparseable" is its subset without a
 * letter, "errors" are questions whose stage failed.
 */
export function passesFilter(filter: InspectorFilter, r: QuestionResult | undefined): boolean {
  const status = questionStatus(r);
  switch (filter) {
    case 'all':
      return true;
    case 'right':
      return status === 'right';
    case 'wrong':
      return status === 'wrong' || status === 'unparseable';
    case 'unparseable':
      return status === 'unparseable';
    case 'errors':
      return status === 'error';
    case 'not-run':
      return status === 'not-run';
  }
}

export interface OutputPart {
  kind: 'text' | 'think' | 'answer';
  /** The part's text, its tags included (the exact output matters when spot-checking). */
  text: string;
  /** False while a think/answer part has no closing tag yet (streaming, or truncated). */
  closed: boolean;
  /** The answer the official rule reads: the first `<answer>` up to the next `</answer>`. */
  official: boolean;
}

const TAG = /<\/?(?:think|answer)>/g;

/**
 * Splits a model output into plain text, think and answer parts. It follows the official regex:
 * an answer runs from the first `<answer>` to the next `</answer>` whatever lies between (a
 * `<think>` inside it is content), and an `<answer>` inside an unclosed think starts the answer.
 */
export function splitOutput(text: string): OutputPart[] {
  const parts: OutputPart[] = [];
  let kind: OutputPart['kind'] = 'text';
  let start = 0;
  let officialTaken = false;
  const push = (end: number, closed: boolean) => {
    if (end <= start) return;
    const official = kind === 'answer' && closed && !officialTaken;
    if (official) officialTaken = true;
    parts.push({ kind, text: text.slice(start, end), closed, official });
    start = end;
  };
  for (const m of text.matchAll(TAG)) {
    const tag = m[0];
    const at = m.index;
    if (kind === 'answer') {
      if (tag === '</answer>') {
        push(at + tag.length, true);
        kind = 'text';
      }
    } else if (tag === '<answer>') {
      push(at, kind === 'text');
      kind = 'answer';
    } else if (kind === 'text' && tag === '<think>') {
      push(at, true);
      kind = 'think';
    } else if (kind === 'think' && tag === '</think>') {
      push(at + tag.length, true);
      kind = 'text';
    }
  }
  push(text.length, kind === 'text');
  return parts;
}

/**
 * Letter log-probs as probabilities: `p` of each letter as the next token (over the whole
 * vocabulary), and `share`, renormalised over A-D only.
 */
export function letterProbabilities(logprobs: readonly number[]): { p: number[]; share: number[] } {
  const p = logprobs.map((lp) => Math.exp(lp));
  const max = Math.max(...logprobs);
  // Renormalise in log space so tiny probabilities (exp underflow) still share correctly.
  const e = logprobs.map((lp) => Math.exp(lp - max));
  const sum = e.reduce((s, x) => s + x, 0);
  return { p, share: e.map((x) => (sum > 0 ? x / sum : 0)) };
}

/** A timing value for display: `*Ms` in ms or s, `*Bytes` in MiB, rates and counts as numbers. */
export function formatTiming(key: string, value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (/Ms$/.test(key))
    return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${value.toFixed(0)} ms`;
  if (/Bytes$/.test(key)) return `${(value / 2 ** 20).toFixed(1)} MiB`;
  if (/PerS$/.test(key)) return `${value.toFixed(2)} /s`;
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

/** "videoDecodeMs" → "video decode ms". */
export function timingLabel(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

export interface TokenCounts {
  /** Frames sampled from the clip, when known. */
  frames: number | null;
  /** `frames/2 * 81` at 252x252 (grid [n/2, 18, 18], 2x2 merge); null: no clip or not known yet. */
  clipTokens: number | null;
  stillTokens: number;
}

/** The visual token counts the processor expands the pads to (protocol section 2). */
export function realTokenCounts(sample: Sample, frameCount: number | null): TokenCounts {
  if (!sample.hasClip) return { frames: null, clipTokens: null, stillTokens: 81 };
  return {
    frames: frameCount,
    clipTokens: frameCount === null ? null : (frameCount / 2) * 81,
    stillTokens: 81,
  };
}

/** Seconds as "12.34 s" (frame timestamps under the filmstrip). */
export function secondsText(s: number | undefined): string {
  // The demuxer leaves NaN where a frame had no timestamp.
  return s === undefined || !Number.isFinite(s) ? '' : `${s.toFixed(2)} s`;
}

/**
 * The goal of a question for a one-line list: the task goal when the file has one, else the
 * "... in order to <goal>?" tail every EgoPlan-style question ends with, else the question.
 */
export function shortGoal(sample: Sample): string {
  if (sample.taskGoal) return sample.taskGoal;
  const m = /in order to (.+?)\??\s*$/.exec(sample.question);
  return m?.[1] ?? sample.question;
}
