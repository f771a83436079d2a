import { describe, expect, it } from 'vitest';
import { extractAnswerTag, resultFrom, type Sample } from '../bench/index';
import {
  formatTiming,
  letterProbabilities,
  passesFilter,
  questionStatus,
  realTokenCounts,
  secondsText,
  shortGoal,
  splitOutput,
  timingLabel,
} from './results-inspect';

const sample: Sample = {
  sampleId: '7',
  rawSampleId: 7,
  level: 'L1',
  question: 'What next?',
  choices: ['a', 'b', 'c', 'd'],
  gold: 'B',
  answer: 'b',
  videoSource: 'EpicKitchens',
  videoId: 'P01_01',
  taskGoal: null,
  progress: [{ narrationText: 'x', startFrame: 0, stopFrame: 10 }],
  hasClip: true,
  clipPaths: ['videos/EpicKitchens/7.mp4'],
  stillPath: 'images/EpicKitchens/7.png',
  domain: null,
  scenario: null,
  format: 'seed-bench-r1-jsonl',
  origin: { file: 'f' },
};

describe('splitOutput', () => {
  it('sets think and answer apart and keeps every character', () => {
    const text = 'pre <think>because\nB</think> mid <answer> B. take</answer> tail';
    const parts = splitOutput(text);
    expect(parts.map((p) => p.kind)).toEqual(['text', 'think', 'text', 'answer', 'text']);
    expect(parts.map((p) => p.text).join('')).toBe(text);
    expect(parts[3]).toEqual({
      kind: 'answer',
      text: '<answer> B. take</answer>',
      closed: true,
      official: true,
    });
  });

  it('marks the same answer the official regex reads', () => {
    const cases = [
      '<answer>A</answer><answer>B</answer>',
      '<think>maybe <answer>C</answer> no</think><answer>D</answer>',
      '<answer>x <think> y</answer>',
      '<think>unclosed <answer>A</answer>',
      'no tags',
      '<answer>open',
    ];
    for (const text of cases) {
      const parts = splitOutput(text);
      expect(parts.map((p) => p.text).join('')).toBe(text);
      const official = parts.filter((p) => p.official);
      const expected = extractAnswerTag(text);
      if (expected === null) expect(official).toEqual([]);
      else {
        expect(official).toHaveLength(1);
        expect(official[0]!.text.replace(/^<answer>|<\/answer>$/g, '').trim()).toBe(expected);
      }
    }
  });

  it('shows a streaming think as open', () => {
    expect(splitOutput('<think>so far')).toEqual([
      { kind: 'think', text: '<think>so far', closed: false, official: false },
    ]);
    expect(splitOutput('')).toEqual([]);
  });
});

describe('status and filters', () => {
  it('classifies every kind of question once', () => {
    const right = resultFrom(sample, { response: '<answer>B</answer>' });
    const wrong = resultFrom(sample, { response: '<answer>C</answer>' });
    const unparseable = resultFrom(sample, { response: '<answer>Option B</answer>' });
    const error = resultFrom(sample, { response: null, error: { stage: 'clip', message: 'x' } });
    const lettersOnly = resultFrom(sample, { response: null, letterLogprobs: [-3, -0.1, -4, -5] });
    expect([right, wrong, unparseable, error, lettersOnly, undefined].map(questionStatus)).toEqual([
      'right',
      'wrong',
      'unparseable',
      'error',
      'right',
      'not-run',
    ]);
    expect(passesFilter('wrong', unparseable)).toBe(true);
    expect(passesFilter('unparseable', wrong)).toBe(false);
    expect(passesFilter('errors', error)).toBe(true);
    expect(passesFilter('not-run', undefined)).toBe(true);
    expect(passesFilter('all', error)).toBe(true);
  });
});

describe('numbers', () => {
  it('turns letter log-probs into probabilities and shares', () => {
    const { p, share } = letterProbabilities([
      Math.log(0.5),
      Math.log(0.2),
      Math.log(0.2),
      Math.log(0.05),
    ]);
    // exp(log x) is x to within a few ulps.
    expect(p[0]).toBeCloseTo(0.5, 12);
    expect(share.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    expect(share[0]).toBeCloseTo(0.5 / 0.95, 12);
    // Far below exp's range the shares still come out (log-space renormalisation).
    const tiny = letterProbabilities([-800, -801, -900, -900]);
    expect(tiny.p[0]).toBe(0);
    expect(tiny.share[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  });

  it('formats timings and counts tokens', () => {
    expect(formatTiming('prefillMs', 1234.4)).toBe('1234 ms');
    expect(formatTiming('totalMs', 65_000)).toBe('65.0 s');
    expect(formatTiming('jsHeapBytes', 3 * 2 ** 20)).toBe('3.0 MiB');
    expect(formatTiming('decodeTokensPerS', 12.345)).toBe('12.35 /s');
    expect(formatTiming('promptTokens', 850)).toBe('850');
    expect(timingLabel('videoDecodeMs')).toBe('video decode ms');
    expect(secondsText(2 / 3)).toBe('0.67 s');
    expect(secondsText(NaN)).toBe('');
    expect(realTokenCounts(sample, 16)).toEqual({ frames: 16, clipTokens: 648, stillTokens: 81 });
    expect(realTokenCounts({ ...sample, hasClip: false }, null).clipTokens).toBeNull();
  });
});

describe('shortGoal', () => {
  it('uses the task goal, else the "in order to" tail of the question', () => {
    expect(shortGoal({ ...sample, taskGoal: 'make tea' })).toBe('make tea');
    expect(
      shortGoal({
        ...sample,
        question:
          'Considering the progress shown in the video and my current observation in the last frame, what action should I take next in order to smooth a metal bar?',
      }),
    ).toBe('smooth a metal bar');
    expect(shortGoal(sample)).toBe('What next?');
  });
});
