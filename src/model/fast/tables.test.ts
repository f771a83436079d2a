import { describe, expect, it } from 'vitest';
import { ropeIndex } from '../rope';
import { ropeTable, seenMask, visionTable, visualRows } from './tables';

const TOKENS = { imageTokenId: 9, videoTokenId: 8, visionStartTokenId: 7 };

describe('ropeTable', () => {
  it('row i holds the angles of position i by section, text positions after the prompt', () => {
    // A 2x4x4 video (merged 2x2x2 = 8 tokens) between text: positions differ per axis there.
    const ids = [1, 7, ...new Array<number>(8).fill(8), 2, 3];
    const rope = ropeIndex(ids, { image: [], video: [[2, 4, 4]] }, TOKENS);
    const invFreq = [1, 0.5, 0.25, 0.125];
    const section = [2, 1, 1]; // columns 0-1 from t, 2 from h, 3 from w
    const t = ropeTable(rope.positions, ids.length, rope.delta, 16, invFreq, section, 8);
    expect(t.rows).toBe(16);
    const L = ids.length;
    for (let i = 0; i < 16; i++) {
      for (let c = 0; c < 4; c++) {
        const axis = c < 2 ? 0 : c === 2 ? 1 : 2;
        const p = i < L ? Number(rope.positions[axis * L + i]) : i + rope.delta;
        const angle = Math.fround(p * (invFreq[c] as number));
        expect(t.cos[i * 8 + c]).toBeCloseTo(Math.cos(angle), 6);
        expect(t.sin[i * 8 + c]).toBeCloseTo(Math.sin(angle), 6);
      }
      // Head padding columns do not rotate.
      for (let c = 4; c < 8; c++) {
        expect(t.cos[i * 8 + c]).toBe(1);
        expect(t.sin[i * 8 + c]).toBe(0);
      }
    }
    // The video's second temporal slice has t = offset + 1 but h, w restarting: axes do differ.
    const firstVideo = 2;
    expect(Number(rope.positions[firstVideo + 4])).toBe(Number(rope.positions[firstVideo]) + 1);
    expect(t.cos[(firstVideo + 4) * 8 + 0]).not.toBeCloseTo(t.cos[firstVideo * 8 + 0] as number, 3);
  });

  it("Qwen2.5-VL: the t columns take rope.ts's time-scaled video positions", () => {
    // 3 temporal slices 1.1 s apart at 2 tokens per second: t ids 0, 2, 4 (Qwen2-VL's rule: 0, 1, 2).
    const ids = [1, 7, ...new Array<number>(12).fill(8), 2];
    const grids = { image: [], video: [[3, 4, 4] as [number, number, number]] };
    const videoTime = { secondPerGrid: [1.1], tokensPerSecond: 2 };
    const rope = ropeIndex(ids, grids, { ...TOKENS, videoTime });
    const t = ropeTable(rope.positions, ids.length, rope.delta, 16, [1, 0.5], [1, 1, 0], 2);
    const start = 2; // text positions 0, 1; the video's t ids start at 2
    for (const [slice, tId] of [0, 2, 4].entries()) {
      const row = start + slice * 4;
      expect(Number(rope.positions[row])).toBe(start + tId);
      expect(t.cos[row * 2]).toBeCloseTo(Math.cos(start + tId), 6);
    }
  });

  it('refuses a prompt longer than the cache', () => {
    const rope = ropeIndex([1, 2, 3], { image: [], video: [] }, TOKENS);
    expect(() => ropeTable(rope.positions, 3, rope.delta, 2, [1], [1, 0, 0], 8)).toThrow(
      /capacity/,
    );
  });
});

describe('visionTable', () => {
  it('patch p sits at the (row, col) of the processor order: 2x2 blocks, row-major', () => {
    const t = visionTable([1, 4, 6], [1, 0.1], 2);
    expect(t.rows).toBe(24);
    expect(t.width).toBe(4);
    // Patch 5 is in block 1 (row 0 of blocks, column 1), position 1 inside it: (row 0, col 3).
    // Patch 13 is in block 3 (block row 1, column 0), position 1: (row 2, col 1).
    for (const [p, row, col] of [
      [5, 0, 3],
      [13, 2, 1],
    ] as const) {
      expect(t.cos[p * 4 + 0]).toBeCloseTo(Math.cos(row * 1), 6);
      expect(t.cos[p * 4 + 1]).toBeCloseTo(Math.cos(Math.fround(row * Math.fround(0.1))), 6);
      expect(t.cos[p * 4 + 2]).toBeCloseTo(Math.cos(col * 1), 6);
      expect(t.sin[p * 4 + 3]).toBeCloseTo(Math.sin(Math.fround(col * Math.fround(0.1))), 6);
    }
  });
});

describe('visualRows', () => {
  it('numbers the pad runs in prompt order from 1, text 0', () => {
    const rows = visualRows(
      [1, 8, 8, 8, 2, 9, 9, 3],
      [
        { tokenId: 8, count: 3 },
        { tokenId: 9, count: 2 },
      ],
    );
    expect(Array.from(rows)).toEqual([0, 1, 2, 3, 0, 4, 5, 0]);
  });

  it('names a pad run that does not match its visual', () => {
    expect(() => visualRows([1, 8, 8, 2], [{ tokenId: 8, count: 3 }])).toThrow(/shorter/);
    expect(() => visualRows([1, 2], [{ tokenId: 8, count: 1 }])).toThrow(/0 visual runs/);
  });
});

describe('seenMask', () => {
  it('marks each id present once, ignoring out-of-range ids', () => {
    const m = seenMask([3, 3, 1, 99], 5);
    expect(Array.from(m)).toEqual([0, 1, 0, 1, 0]);
  });
});
