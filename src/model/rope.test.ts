import { describe, expect, it } from 'vitest';
import { ropeIndex, textPositions } from './rope';

const tokens = { imageTokenId: 151655, videoTokenId: 151656, visionStartTokenId: 151652 };
const VS = 151652;
const VE = 151653;
const I = 151655;
const V = 151656;

describe('ropeIndex', () => {
  it('matches get_rope_index on text, a video [2,4,4] and an image [1,4,4]', () => {
    const ids = [
      10,
      11,
      VS,
      ...Array<number>(8).fill(V),
      VE,
      VS,
      ...Array<number>(4).fill(I),
      VE,
      12,
      13,
    ];
    const r = ropeIndex(ids, { image: [[1, 4, 4]], video: [[2, 4, 4]] }, tokens);
    const L = ids.length;
    const row = (k: number) => Array.from(r.positions.subarray(k * L, (k + 1) * L), Number);
    // Worked by hand from the reference algorithm: text 0..2, video offset 3 over merged grid
    // (2, 2, 2), next text at max + 1 = 5, image offset 7 over (1, 2, 2), text resumes at 9.
    expect(row(0)).toEqual([0, 1, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 6, 7, 7, 7, 7, 9, 10, 11]);
    expect(row(1)).toEqual([0, 1, 2, 3, 3, 4, 4, 3, 3, 4, 4, 5, 6, 7, 7, 8, 8, 9, 10, 11]);
    expect(row(2)).toEqual([0, 1, 2, 3, 4, 3, 4, 3, 4, 3, 4, 5, 6, 7, 8, 7, 8, 9, 10, 11]);
    expect(r.delta).toBe(12 - L);
  });

  it('text-only sequences get 0..L-1 and delta 0', () => {
    const r = ropeIndex([1, 2, 3], { image: [], video: [] }, tokens);
    expect(Array.from(r.positions, Number)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(r.delta).toBe(0);
  });

  it('continues generated tokens at past + delta on all three rows', () => {
    expect(Array.from(textPositions(20, 2, -8), Number)).toEqual([12, 13, 12, 13, 12, 13]);
  });

  it('rejects a pad run that does not match its grid', () => {
    const ids = [VS, I, I, VE];
    expect(() => ropeIndex(ids, { image: [[1, 4, 4]], video: [] }, tokens)).toThrow(/shorter/);
  });
});
