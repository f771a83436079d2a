import { describe, expect, it } from 'vitest';
import { prefillChunks } from './chunks';

describe('prefillChunks', () => {
  it('covers every position once and keeps only the last rows', () => {
    expect(prefillChunks(300, 1, 128)).toEqual([
      { start: 0, length: 128, keep: 0 },
      { start: 128, length: 128, keep: 0 },
      { start: 256, length: 44, keep: 1 },
    ]);
    // Rows asked for across a chunk boundary (the uncached likelihood pass keeps a whole reply).
    expect(prefillChunks(260, 10, 128).map((c) => c.keep)).toEqual([0, 6, 4]);
    expect(prefillChunks(5, 9, 128)).toEqual([{ start: 0, length: 5, keep: 5 }]);
    for (const [n, keep] of [
      [849, 1],
      [845, 7],
      [128, 128],
      [129, 2],
    ] as const) {
      const chunks = prefillChunks(n, keep);
      expect(chunks.reduce((s, c) => s + c.length, 0)).toBe(n);
      expect(chunks.reduce((s, c) => s + c.keep, 0)).toBe(Math.min(keep, n));
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(128);
    }
  });

  it('refuses an empty prompt', () => {
    expect(() => prefillChunks(0, 1)).toThrow(/0 positions/);
  });
});
