import { describe, expect, it } from 'vitest';
import { runKeyOf, type RunSettings } from './db';

const settings: RunSettings = {
  model: 'tiny-random-qwen2-vl',
  dtype: 'fp32',
  scoring: { official: true, letters: false, likelihood: true },
  wording: 'seed-bench-r1',
  maxNewTokens: 256,
  benchmark: 'egoplan-validation-L1',
};

describe('run keys', () => {
  it('name everything that can change an answer, so the same settings resume the same run', () => {
    expect(runKeyOf(settings)).toBe(
      'egoplan-validation-L1 | tiny-random-qwen2-vl | fp32 | official+likelihood | seed-bench-r1 | max256',
    );
    // Keys stored before clip values were a setting stay valid for the default.
    expect(runKeyOf({ ...settings, clipValues: 'uint8' })).toBe(runKeyOf(settings));
    expect(runKeyOf({ ...settings, clipValues: 'float' })).toMatch(/ \| float-frames$/);
    expect(runKeyOf({ ...settings, dtype: 'q4' })).not.toBe(runKeyOf(settings));
  });
});
