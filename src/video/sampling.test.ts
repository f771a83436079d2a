import { describe, expect, it } from 'vitest';
import reference from './fixtures/torch-sampling.json';
import {
  linspaceFloat32,
  roundHalfToEven,
  sampledFrameCount,
  sampleFrameIndices,
} from './sampling';

describe('sampledFrameCount (qwen-vl-utils smart_nframes)', () => {
  // Hand-computed from the Python: n = N / fps * 2, clamped to [4, floor2(min(16, N))] and N, floored to even.
  it.each([
    [100, 30, 6], // 6.67 -> 6
    [119, 30, 6], // 7.93 -> 6
    [120, 30, 8],
    [240, 30, 16],
    [241, 30, 16],
    [1409, 30, 16],
    [60, 30, 4], // 4 (the minimum)
    [10, 30, 4],
    [5, 30, 4], // max_frames = 4
    [3, 30, 2], // max_frames = floor2(3) = 2
    [2, 30, 2],
    [1, 30, 0], // too few: the caller reports it
    [0, 30, 0],
    [7, 1, 6], // 14 -> min(14, 6, 7) = 6
    [45, 5, 16],
  ])('N=%i fps=%f -> %i', (n, fps, expected) => {
    expect(sampledFrameCount(n, fps)).toBe(expected);
  });
});

describe('sampleFrameIndices', () => {
  it('N=100, fps=30 gives 6 frames: linspace(0, 99, 6) = 0, 19.8, 39.6, 59.4, 79.2, 99', () => {
    expect(sampleFrameIndices(100, 30)).toEqual([0, 20, 40, 59, 79, 99]);
  });
  it('N=1409, fps=30 gives 16 frames, endpoints included', () => {
    const idx = sampleFrameIndices(1409, 30);
    expect(idx).toHaveLength(16);
    expect(idx[0]).toBe(0);
    expect(idx[15]).toBe(1408);
    // 1408 / 15 = 93.8667: k = 1 -> 93.87 -> 94, k = 8 -> 750.93 -> 751
    expect(idx[1]).toBe(94);
    expect(idx[8]).toBe(751);
  });
  it('is empty for clips of fewer than 2 frames', () => {
    expect(sampleFrameIndices(1, 30)).toEqual([]);
    expect(sampleFrameIndices(0, 30)).toEqual([]);
  });
  it('rejects nonsense input', () => {
    expect(() => sampleFrameIndices(10.5, 30)).toThrow(RangeError);
    expect(() => sampleFrameIndices(10, 0)).toThrow(RangeError);
  });

  // Every row of the fixture was produced by real torch (see its "source"); all must match exactly.
  it(`equals torch.linspace(...).round() for ${reference.rows.length} (N, fps) pairs`, () => {
    const mismatches: unknown[] = [];
    for (const row of reference.rows) {
      const [n, fps, count, ...indices] = row as [number, number, number, ...number[]];
      expect(sampledFrameCount(n, fps)).toBe(count);
      const got = sampleFrameIndices(n, fps);
      const want = count >= 2 ? indices : [];
      if (got.join() !== want.join()) mismatches.push({ n, fps, got, want });
    }
    expect(mismatches).toEqual([]);
  });
});

describe('roundHalfToEven (torch.round)', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [3.5, 4],
    [-0.5, -0],
    [2.4999, 2],
    [2.5001, 3],
    [7, 7],
  ])('%f -> %f', (x, r) => {
    expect(roundHalfToEven(x)).toBe(r);
  });
});

describe('linspaceFloat32', () => {
  it('rounds every step to float32 like torch (float32 linspace(0, 99, 6))', () => {
    // numpy: np.linspace(0, 99, 6, dtype=np.float32) -> 0, 19.8, 39.6, 59.4, 79.2, 99 in float32
    expect(linspaceFloat32(0, 99, 6)).toEqual([0, 19.8, 39.6, 59.4, 79.2, 99].map(Math.fround));
  });
  it('computes the second half down from the end, so the last value is exact', () => {
    const v = linspaceFloat32(0, 1408, 16);
    expect(v[15]).toBe(1408);
    expect(v[8]).toBe(Math.fround(1408 - Math.fround(Math.fround(1408 / 15) * 7)));
  });
  it('a tie rounds to even: linspace(0, 5, 3) = 0, 2.5, 5 -> 0, 2, 5', () => {
    // Ties cannot arise with the even sample counts the protocol uses (n - 1 is odd), but the
    // rounding itself must still be torch's.
    expect(linspaceFloat32(0, 5, 3).map(roundHalfToEven)).toEqual([0, 2, 5]);
  });
});
