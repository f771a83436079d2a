import { describe, expect, it } from 'vitest';
import {
  frameBytes,
  mergedTokens,
  patchGrid,
  patchify,
  patchTables,
  QWEN2VL_MEAN,
  QWEN2VL_STD,
  temporalSlices,
} from './pixels';

/** Frames whose every value encodes (frame, channel, y, x), so misplaced values are detectable. */
function codedFrames(n: number, side: number): Float32Array[] {
  return Array.from({ length: n }, (_, f) => {
    const a = new Float32Array(3 * side * side);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) a[(c * side + y) * side + x] = (f * 7 + c * 3 + y + x) % 256;
    return a;
  });
}

/**
 * Independent reference: element (row, col) of transformers' flatten_patches, from the view
 * (t, tp, C, h/2, 2, 14, w/2, 2, 14) permuted to (t, h/2, w/2, 2, 2, C, tp, 14, 14).
 */
function reference(frames: Float32Array[], side: number, row: number, col: number): number {
  const g = side / 14;
  const px = col % 14;
  const py = Math.floor(col / 14) % 14;
  const tp = Math.floor(col / 196) % 2;
  const c = Math.floor(col / 392);
  const mw = row % 2;
  const mh = Math.floor(row / 2) % 2;
  const bw = Math.floor(row / 4) % (g / 2);
  const bh = Math.floor(row / 4 / (g / 2)) % (g / 2);
  const t = Math.floor(row / (g * g));
  const frame = frames[Math.min(t * 2 + tp, frames.length - 1)] as Float32Array;
  const y = (bh * 2 + mh) * 14 + py;
  const x = (bw * 2 + mw) * 14 + px;
  const v = frame[(c * side + y) * side + x] as number;
  return (v / 255 - (QWEN2VL_MEAN[c] as number)) / (QWEN2VL_STD[c] as number);
}

describe('patchify', () => {
  it('lays a 4-frame 56x56 clip out exactly like Qwen2VLImageProcessor', () => {
    const side = 56;
    const frames = codedFrames(4, side);
    const p = patchify(frames, side, side);
    expect(p.grid).toEqual([2, 4, 4]);
    expect(p.rowLength).toBe(1176);
    expect(p.data.length).toBe(2 * 16 * 1176);
    for (let row = 0; row < 32; row++) {
      for (let col = 0; col < 1176; col++) {
        // float32 storage of a float64 computation: 1 ulp at |x| <= 2.2 is < 3e-7.
        expect(
          Math.abs((p.data[row * 1176 + col] as number) - reference(frames, side, row, col)),
        ).toBeLessThan(1e-6);
      }
    }
  });

  it('duplicates a still into two temporal patches: grid [1, 18, 18], 81 tokens at 252', () => {
    const [still] = codedFrames(1, 252) as [Float32Array];
    const p = patchify([still], 252, 252);
    expect(p.grid).toEqual([1, 18, 18]);
    expect(mergedTokens(p.grid)).toBe(81);
    // Columns 0..195 (channel 0, tp 0) equal columns 196..391 (channel 0, tp 1).
    for (let row = 0; row < 324; row += 37) {
      const base = row * 1176;
      expect(Array.from(p.data.subarray(base, base + 196))).toEqual(
        Array.from(p.data.subarray(base + 196, base + 392)),
      );
    }
  });

  it('a 16-frame clip gives grid [8, 18, 18] and 648 tokens', () => {
    const frames = codedFrames(16, 252);
    const p = patchify(frames, 252, 252);
    expect(p.grid).toEqual([8, 18, 18]);
    expect(mergedTokens(p.grid)).toBe(648);
  });

  it('normalises whole and fractional values to the same float32 as (x / 255 - mean) / std', () => {
    // Whole values take a per-channel table, others the formula: both must give its float32 bits.
    const side = 28;
    const frame = new Float32Array(3 * side * side);
    for (let i = 0; i < frame.length; i++) frame[i] = i % 3 === 0 ? (i % 256) + 0.37 : i % 256;
    frame[1] = -0;
    frame[2] = 255;
    frame[4] = 300;
    const p = patchify([frame], side, side);
    const col = (c: number, y: number, x: number) => c * 392 + (y % 14) * 14 + (x % 14);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) {
          const row =
            Math.floor(y / 28) * 2 * 2 + (Math.floor(y / 14) % 2) * 2 + Math.floor(x / 14);
          const v = frame[(c * side + y) * side + x] as number;
          const want = Math.fround(
            (v / 255 - (QWEN2VL_MEAN[c] as number)) / (QWEN2VL_STD[c] as number),
          );
          expect(p.data[row * 1176 + col(c, y, x)]).toBe(want);
        }
  });

  it('rejects frames of the wrong size', () => {
    expect(() => patchify([new Float32Array(10)], 252, 252)).toThrow(/frame 0/);
  });

  it('temporalSlices: each slice its own h*w rows, in order, covering the clip once', () => {
    const p = patchify(codedFrames(4, 56), 56, 56); // grid [2, 4, 4]
    const slices = [...temporalSlices(p)];
    expect(slices.map((s) => [s.h, s.w, s.rows.length])).toEqual([
      [4, 4, 16 * 1176],
      [4, 4, 16 * 1176],
    ]);
    expect(slices[0]?.rows).toEqual(p.data.subarray(0, 16 * 1176));
    expect(slices[1]?.rows).toEqual(p.data.subarray(16 * 1176));
  });

  it('frameBytes: whole values 0..255 as bytes frame after frame, else null (the GPU path then stands down)', () => {
    const a = Float32Array.of(0, 1, 254, 255, -0);
    const b = Float32Array.of(7, 8);
    expect(Array.from(frameBytes([a, b]) ?? [])).toEqual([0, 1, 254, 255, 0, 7, 8]);
    for (const bad of [0.5, -1, 256, NaN, Infinity])
      expect(frameBytes([a, Float32Array.of(3, bad)]), String(bad)).toBeNull();
  });

  it("patchTables: each whole value's float32 as patchify stores it; patchGrid: its grid", () => {
    // The GPU path (fast/patchify.ts) writes tables[c * 256 + byte] where patchify writes its value:
    // bitwise the same when these agree.
    const side = 56;
    const frames = codedFrames(3, side);
    const p = patchify(frames, side, side);
    const tables = patchTables({ mean: QWEN2VL_MEAN, std: QWEN2VL_STD });
    for (let row = 0; row < p.data.length / 1176; row += 5)
      for (let col = 0; col < 1176; col += 7) {
        const v = p.data[row * 1176 + col] as number;
        const c = Math.floor(col / 392);
        const want = Math.fround(reference(frames, side, row, col));
        expect(v).toBe(want);
        const byte = Array.from(tables.subarray(c * 256, (c + 1) * 256)).indexOf(v);
        expect(byte, `row ${row} col ${col}`).toBeGreaterThanOrEqual(0);
      }
    expect(patchGrid(3, side, side)).toEqual({ grid: p.grid, rowLength: 1176 });
    expect(patchGrid(16, 252, 252).grid).toEqual([8, 18, 18]);
    expect(patchGrid(1, 252, 252).grid).toEqual([1, 18, 18]);
  });
});
