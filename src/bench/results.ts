import { argmaxLetter, argminLetter, scoreLenient, scoreOfficial } from './scoring';
import type { ChoiceLetter, Level, Sample } from './types';

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
  official: { reward: 0 | 1; letter: ChoiceLetter | null; answer: string | null } | null;
  lenient: { reward: 0 | 1; letter: ChoiceLetter | null; method: string | null } | null;
  /** Extra mode: log-probs of the next token being A, B, C, D after the prompt. */
  letterLogprobs: [number, number, number, number] | null;
  /** Extra mode (EgoPlan-Bench's rule): mean NLL per token of each choice text as the reply. */
  choiceNll: [number, number, number, number] | null;
  error: { stage: ErrorStage; message: string } | null;
  /** Sampled clip frame indices, for the inspector and exports. */
  frameIndices: number[] | null;
  timings: Record<string, number>;
  finishedAt: string;
}

export interface ModelOutputs {
  response: string | null;
  letterLogprobs?: [number, number, number, number] | null;
  choiceNll?: [number, number, number, number] | null;
  frameIndices?: number[] | null;
  timings?: Record<string, number>;
  error?: { stage: ErrorStage; message: string } | null;
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
    official: response === null ? null : scoreOfficial(response, sample.gold),
    lenient: response === null ? null : scoreLenient(response, sample.gold),
    letterLogprobs: out.letterLogprobs ?? null,
    choiceNll: out.choiceNll ?? null,
    error: out.error ?? null,
    frameIndices: out.frameIndices ?? null,
    timings: out.timings ?? {},
    finishedAt: now.toISOString(),
  };
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
