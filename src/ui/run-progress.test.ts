import { describe, expect, it } from 'vitest';
import type { LiveQuestion } from '../store/index';
import { estimateProgress } from './run-progress';

const live = (over: Partial<LiveQuestion> = {}): LiveQuestion => ({
  sampleId: 's1',
  stage: 'model',
  text: '',
  tokens: 0,
  maxTokens: 256,
  startedAt: 0,
  firstTokenAt: null,
  lastTokenAt: null,
  ...over,
});

describe('estimateProgress', () => {
  it('has no rate or ETA before the second token of the first question', () => {
    const e = estimateProgress({
      now: 500,
      live: live({ tokens: 1, firstTokenAt: 400, lastTokenAt: 400 }),
      durationsMs: [],
      done: 0,
      total: 10,
      running: true,
    });
    expect(e).toMatchObject({ liveTokensPerS: null, tokens: 1, maxTokens: 256, etaMs: null });
  });

  it('gives an upper-bound ETA from the first tokens: every answer uses its whole budget', () => {
    // 1 s of frames and prefill, then 11 tokens in 0.5 s: 20 tokens/s, 245 tokens left = 12.25 s.
    const e = estimateProgress({
      now: 1600,
      live: live({ tokens: 11, firstTokenAt: 1000, lastTokenAt: 1500 }),
      durationsMs: [],
      done: 0,
      total: 3,
      running: true,
    });
    expect(e.liveTokensPerS).toBeCloseTo(20, 10);
    expect(e.tokens).toBe(11);
    // This question: 12.25 s left; the 2 others as long as this one in all (1.6 + 12.25 s).
    expect(e.etaMs).toBeCloseTo(12_250 + 2 * (1_600 + 12_250), 6);
    expect(e.etaUpperBound).toBe(true);
  });

  it('uses the mean question time once questions have finished, counting down the current one', () => {
    const e = estimateProgress({
      now: 3000,
      live: live({ tokens: 50, firstTokenAt: 500, lastTokenAt: 2950, startedAt: 1000 }),
      durationsMs: [4000, 6000],
      done: 2,
      total: 5,
      running: true,
    });
    // Mean 5 s; the current question has run 2 s: 3 s left, then 2 more questions of 5 s.
    expect(e.etaMs).toBeCloseTo(3000 + 2 * 5000, 6);
    expect(e.etaUpperBound).toBe(false);
    expect(e.questionsPerMin).toBeCloseTo(12, 10);
  });

  it('falls back to the budget when the current question outlasts the mean', () => {
    const e = estimateProgress({
      now: 9000,
      live: live({ tokens: 101, firstTokenAt: 4000, lastTokenAt: 9000, startedAt: 1000 }),
      durationsMs: [5000],
      done: 1,
      total: 2,
      running: true,
    });
    // 100 tokens in 5 s = 20/s; 155 left = 7.75 s; no question after this one.
    expect(e.etaMs).toBeCloseTo(7750, 6);
  });

  it('has no ETA while paused or when done, and between questions uses the mean', () => {
    const base = { now: 0, durationsMs: [2000], done: 1, total: 4 };
    expect(estimateProgress({ ...base, live: null, running: false }).etaMs).toBeNull();
    expect(estimateProgress({ ...base, done: 4, live: null, running: true }).etaMs).toBeNull();
    expect(estimateProgress({ ...base, live: null, running: true }).etaMs).toBe(6000);
  });
});
