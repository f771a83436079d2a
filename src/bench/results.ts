import { sha256Hex } from './digest';
import { renderChatPrompt, type QuestionWording } from './prompt';
import { argmaxLetter, argminLetter, scoreLenient, scoreOfficial } from './scoring';
import type { ChoiceLetter, Level, Sample } from './types';

/**
 * What the model was given for a question, recorded where it tokenized (model/run.ts): the
 * wording, the pad tokens of each visual, the token count, and the SHA-256 (hex) of the exact
 * UTF-8 text handed to the tokenizer (chat template rendered, pads expanded).
 */
export interface ModelPrompt {
  wording: QuestionWording;
  tokens: number;
  sha256: string;
  /** `<|video_pad|>` tokens (n/2 * 81 for n frames at 252 x 252); null without a clip. */
  clipTokens: number | null;
  /** `<|image_pad|>` tokens (81 at 252 x 252). */
  stillTokens: number;
}

/** The prompt text a record says the model got, rendered again from the question. */
export function recordedPromptText(sample: Sample, p: ModelPrompt): string {
  return renderChatPrompt(
    sample,
    { clipTokens: p.clipTokens, stillTokens: p.stillTokens },
    p.wording,
  );
}

/** Tokens per 252 x 252 visual slice after the 2 x 2 merge (protocol section 2). */
export const TOKENS_PER_SLICE = 81;

/**
 * The record the model writes for a question asked with `wording` and `clipFrames` sampled clip
 * frames at 252 x 252 (protocol sections 2 and 3): what a test or a reader expects to find.
 */
export function promptRecordFor(
  sample: Sample,
  wording: QuestionWording,
  clipFrames: number,
  tokens: number,
): ModelPrompt {
  const counts = {
    clipTokens: sample.hasClip ? (clipFrames / 2) * TOKENS_PER_SLICE : null,
    stillTokens: TOKENS_PER_SLICE,
  };
  return {
    wording,
    tokens,
    sha256: sha256Hex(renderChatPrompt(sample, counts, wording)),
    ...counts,
  };
}

/**
 * Null when rendering the question again with the recorded wording and pad counts gives exactly
 * the text the model hashed; else why not (an edited question, a record from other code).
 */
export function promptMismatch(sample: Sample, p: ModelPrompt): string | null {
  const hash = sha256Hex(recordedPromptText(sample, p));
  return hash === p.sha256
    ? null
    : `question ${sample.sampleId}: the prompt rendered for "${p.wording}" (sha256 ${hash.slice(0, 12)}) is not the one the model got (${p.sha256.slice(0, 12)})`;
}

/** Where a question's model ran, as the model reports it (a lost GPU can move a run to wasm). */
export interface RanOn {
  device: string;
  dtype: string;
  /** 'fast' (onnx/fast.json graphs) or 'reference' (transformers.js on the reference graphs). */
  engine: string;
  /** config.json's model_type: qwen2_vl or qwen2_5_vl (absent in records made before it was kept). */
  family?: string;
  /** Qwen2.5-VL clip questions: seconds per temporal grid slice the M-RoPE positions used. */
  secondPerGridTs?: number;
}

/** Which pipeline stage an error came from. */
export type ErrorStage = 'clip' | 'still' | 'model' | 'other';

/** The record of one finished question: stored at once, exported, summarised. */
export interface QuestionResult {
  sampleId: string;
  rawSampleId: number | string;
  level: Level;
  domain: string | null;
  scenario: string | null;
  /** Questions sharing a clip source are not independent: the cluster interval uses this. */
  cluster: string;
  gold: ChoiceLetter;
  /** The generated text (null when the official generation did not run or failed). */
  response: string | null;
  /** What the model was given (null when it never ran: a missing clip, a load failure). */
  modelPrompt: ModelPrompt | null;
  official: { reward: 0 | 1; letter: ChoiceLetter | null; answer: string | null } | null;
  lenient: { reward: 0 | 1; letter: ChoiceLetter | null; method: string | null } | null;
  /** Extra mode: log-probs of the next token being A, B, C, D after the prompt. */
  letterLogprobs: [number, number, number, number] | null;
  /** Extra mode (EgoPlan-Bench's rule): mean NLL per token of each choice text as the reply. */
  choiceNll: [number, number, number, number] | null;
  error: { stage: ErrorStage; message: string } | null;
  /** Where the model ran (null when it never ran). */
  ranOn: RanOn | null;
  /** Sampled clip frame indices, for the inspector and exports. */
  frameIndices: number[] | null;
  timings: Record<string, number>;
  finishedAt: string;
}

/** What a question's run produced, before scoring. */
export interface ModelOutputs {
  response: string | null;
  modelPrompt: ModelPrompt | null;
  letterLogprobs: [number, number, number, number] | null;
  choiceNll: [number, number, number, number] | null;
  frameIndices: number[] | null;
  timings: Record<string, number>;
  error: { stage: ErrorStage; message: string } | null;
  ranOn: RanOn | null;
}

/** Outputs of a question that did not reach the model (or that only a response is known of). */
export function outputsWithout(
  error: { stage: ErrorStage; message: string } | null,
  extra: Partial<ModelOutputs> = {},
): ModelOutputs {
  return {
    response: null,
    modelPrompt: null,
    letterLogprobs: null,
    choiceNll: null,
    frameIndices: null,
    timings: {},
    error,
    ranOn: null,
    ...extra,
  };
}

/** Scores a question's outputs with every rule and builds its record. */
export function makeResult(sample: Sample, out: ModelOutputs, now = new Date()): QuestionResult {
  const response = out.response;
  return {
    sampleId: sample.sampleId,
    rawSampleId: sample.rawSampleId,
    level: sample.level,
    domain: sample.domain,
    scenario: sample.scenario,
    cluster: sample.videoId ?? sample.clipPaths?.[0] ?? sample.sampleId,
    gold: sample.gold,
    response,
    modelPrompt: out.modelPrompt,
    official: response === null ? null : scoreOfficial(response, sample.gold),
    lenient: response === null ? null : scoreLenient(response, sample.gold),
    letterLogprobs: out.letterLogprobs,
    choiceNll: out.choiceNll,
    error: out.error,
    ranOn: out.ranOn,
    frameIndices: out.frameIndices,
    timings: { ...out.timings },
    finishedAt: now.toISOString(),
  };
}

/** A record from partial outputs (imported answers, tests): what is not given was not produced. */
export function resultFrom(
  sample: Sample,
  partial: Partial<ModelOutputs>,
  now = new Date(),
): QuestionResult {
  return makeResult(sample, { ...outputsWithout(null), ...partial }, now);
}

/** The scoring modes a summary reports; only 'official' is the benchmark's own number. */
export type ScoringMode = 'official' | 'lenient' | 'letters' | 'likelihood';

export const SCORING_MODE_LABELS: Record<ScoringMode, string> = {
  official: 'Official (first <answer> tag, first character)',
  lenient: 'Lenient letter extractor (not official)',
  letters: 'First-token letter log-probs (not official)',
  likelihood: 'EgoPlan likelihood ranking (not official)',
};

/** The letter a mode predicts for a result, or undefined when that mode did not run. */
export function predictedLetter(
  r: QuestionResult,
  mode: ScoringMode,
): ChoiceLetter | null | undefined {
  switch (mode) {
    case 'official':
      return r.official ? r.official.letter : undefined;
    case 'lenient':
      return r.lenient ? r.lenient.letter : undefined;
    case 'letters':
      return r.letterLogprobs ? argmaxLetter(r.letterLogprobs) : undefined;
    case 'likelihood':
      return r.choiceNll ? argminLetter(r.choiceNll) : undefined;
  }
}

/** 1/0 for a mode, or undefined when the mode did not run for this question. */
export function rewardOf(r: QuestionResult, mode: ScoringMode): 0 | 1 | undefined {
  if (mode === 'official') return r.official?.reward;
  if (mode === 'lenient') return r.lenient?.reward;
  const letter = predictedLetter(r, mode);
  return letter === undefined ? undefined : letter === r.gold ? 1 : 0;
}
