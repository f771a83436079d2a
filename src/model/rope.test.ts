import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ropeIndex, secondPerGrid, textPositions, videoTimeIndices } from './rope';

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

describe('Qwen2.5-VL time scaling', () => {
  it("gives get_rope_index's docstring example: 3 slices at fps 1, 25 tokens per second", () => {
    // transformers' modeling_qwen2_5_vl get_rope_index docstring: temporal patch 2 at 1 fps is
    // 2 s per grid slice, x 25 tokens/s = 50 per slice: vision t = 0, 50, 100; text from 101.
    // Here <|vision_start|> comes first, so everything is shifted by 1.
    const ids = [VS, ...Array<number>(12).fill(V), 20, 21, 22, 23, 24];
    const spg = secondPerGrid(2, 2, 1); // 2 of 2 frames at 1 fps: sample fps 1, 2 s per slice
    expect(spg).toBe(2);
    const r = ropeIndex(
      ids,
      { image: [], video: [[3, 4, 4]] },
      {
        ...tokens,
        videoTime: { secondPerGrid: [spg], tokensPerSecond: 25 },
      },
    );
    const L = ids.length;
    const row = (k: number) => Array.from(r.positions.subarray(k * L, (k + 1) * L), Number);
    const v = (t: number) => Array<number>(4).fill(1 + t);
    expect(row(0)).toEqual([0, ...v(0), ...v(50), ...v(100), 102, 103, 104, 105, 106]);
    expect(row(1)).toEqual([0, 1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2, 102, 103, 104, 105, 106]);
    expect(row(2)).toEqual([0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 102, 103, 104, 105, 106]);
    expect(r.delta).toBe(107 - L);
  });

  it('second_per_grid_ts of the reference clips, and their time indices at 2 tokens per second', () => {
    // n of N frames at 30 fps (e2e/fixtures/reference): sample fps = n / N * 30, spg = 2 / that,
    // in float32; indices floor(j * fround(spg * 2)) worked by hand.
    const cases: [number, number, number, number[]][] = [
      [6, 99, 1.1, [0, 2, 4]], // 2.2 per slice
      [16, 295, 295 / 240, [0, 2, 4, 7, 9, 12, 14, 17]], // 2.4583 per slice
      [16, 627, 2.6125, [0, 5, 10, 15, 20, 26, 31, 36]], // 5.225 per slice
    ];
    for (const [n, N, spg, want] of cases) {
      const got = secondPerGrid(n, N, 30);
      expect(got).toBe(Math.fround(spg));
      expect(videoTimeIndices(n / 2, got, 2)).toEqual(want);
    }
  });

  it('leaves the still (an image) unscaled beside a scaled video', () => {
    const ids = [VS, ...Array<number>(8).fill(V), VE, VS, ...Array<number>(4).fill(I), VE];
    const r = ropeIndex(
      ids,
      { image: [[1, 4, 4]], video: [[2, 4, 4]] },
      {
        ...tokens,
        videoTime: { secondPerGrid: [Math.fround(2.6125)], tokensPerSecond: 2 },
      },
    );
    const t = Array.from(r.positions.subarray(0, ids.length), Number);
    // video at offset 1: t 1 (slice 0) and 1 + 5 (slice 1); VE at 7; VS 8; image t 9; VE 11.
    expect(t).toEqual([0, 1, 1, 1, 1, 6, 6, 6, 6, 7, 8, 9, 9, 9, 9, 11]);
  });

  it('refuses a time list that does not match the videos', () => {
    expect(() =>
      ropeIndex(
        [1],
        { image: [], video: [] },
        {
          ...tokens,
          videoTime: { secondPerGrid: [1], tokensPerSecond: 2 },
        },
      ),
    ).toThrow(/second_per_grid_ts/);
  });
});

describe("Qwen2.5-VL positions vs transformers' get_rope_index (e2e/fixtures/reference-qwen25)", () => {
  // Each fixture holds HF's own position ids (transformers 4.50 modeling_qwen2_5_vl, run by
  // scripts/export/reference_qwen25_local.py) for the prompt's input_ids, grids and clip timing.
  interface Fixture {
    input_ids: number[];
    image_grid_thw: [number, number, number][];
    video_grid_thw?: [number, number, number][];
    N: number | null;
    fps: number | null;
    n_sampled: number;
    position_ids: number[][];
    time?: { second_per_grid_ts: number; tokens_per_second: number };
  }
  const dir = new URL('../../e2e/fixtures/reference-qwen25/', import.meta.url);
  for (const id of ['clip-f71fb12c', 'clip-c847fafa', 'clip-17be1d0a', 'still-sample5']) {
    it(`${id}: every position equal`, () => {
      const fx = JSON.parse(readFileSync(new URL(`${id}.json`, dir), 'utf8')) as Fixture;
      const video = fx.video_grid_thw ?? [];
      const spg =
        fx.N !== null && fx.fps !== null && video.length
          ? [secondPerGrid(fx.n_sampled, fx.N, fx.fps)]
          : [];
      if (fx.time) expect(spg[0]).toBe(Math.fround(fx.time.second_per_grid_ts));
      const r = ropeIndex(
        fx.input_ids,
        { image: fx.image_grid_thw, video },
        {
          ...tokens,
          videoTime: video.length ? { secondPerGrid: spg, tokensPerSecond: 2 } : null,
        },
      );
      const L = fx.input_ids.length;
      for (let k = 0; k < 3; k++) {
        expect(Array.from(r.positions.subarray(k * L, (k + 1) * L), Number)).toEqual(
          fx.position_ids[k],
        );
      }
      // Without the time scale (Qwen2-VL's rule) the 16-frame clips' ids would differ.
      if (video.length && (video[0]?.[0] ?? 0) > 3) {
        const plain = ropeIndex(fx.input_ids, { image: fx.image_grid_thw, video }, tokens);
        expect(Array.from(plain.positions.subarray(0, L), Number)).not.toEqual(fx.position_ids[0]);
      }
    });
  }
});
