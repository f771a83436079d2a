import { describe, expect, it } from 'vitest';
import { applyRepetitionPenalty, argmax, commonPrefix, logProbs, meanNll, topK } from './decoding';

describe('decoding arithmetic', () => {
  it('repetition penalty divides positive and multiplies negative logits of seen ids once', () => {
    const logits = new Float32Array([2, -2, 1, 0.5]);
    applyRepetitionPenalty(logits, new Set([0, 1, 1]), 1.05);
    expect(logits[0]).toBeCloseTo(2 / 1.05, 6);
    expect(logits[1]).toBeCloseTo(-2 * 1.05, 6);
    expect(logits[2]).toBe(1);
  });

  it('the penalty can change the greedy choice', () => {
    const logits = new Float32Array([1.0, 0.99]);
    applyRepetitionPenalty(logits, [0], 1.05);
    expect(argmax(logits)).toBe(1);
  });

  it('argmax takes the first of equal maxima', () => {
    expect(argmax([1, 3, 3, 2])).toBe(1);
  });

  it('log-probs are a log-softmax', () => {
    const lp = logProbs([1, 2, 3], [0, 1, 2]);
    const z = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(lp[0]).toBeCloseTo(1 - z, 12);
    expect(lp.reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 12);
  });

  it('mean NLL averages -log p(target) over rows', () => {
    const rows = new Float32Array([0, 0, Math.log(3), 0]); // row0 uniform over 2; row1 p(0)=3/4
    expect(meanNll(rows, 2, [1, 0])).toBeCloseTo((Math.log(2) - Math.log(0.75)) / 2, 6);
  });

  it('topK returns the largest values in order', () => {
    expect(topK([0.1, 5, 3, 5, -1], 3)).toEqual([
      { id: 1, logit: 5 },
      { id: 3, logit: 5 },
      { id: 2, logit: 3 },
    ]);
  });

  it('commonPrefix', () => {
    expect(commonPrefix([1, 2, 3], [1, 2, 4, 5])).toBe(2);
  });
});
