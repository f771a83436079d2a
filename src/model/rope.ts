/**
 * Qwen2-VL and Qwen2.5-VL multimodal rotary positions (M-RoPE), as transformers' `get_rope_index`
 * computes them for one unpadded sequence. Pure, so Vitest covers it.
 */
import type { Grid } from './pixels';

/** What M-RoPE needs of the model besides the ids and grids. */
export interface RopeTokens {
  imageTokenId: number;
  videoTokenId: number;
  visionStartTokenId: number;
  /** Qwen2.5-VL: the videos' absolute time; absent or null for Qwen2-VL (t index = slice). */
  videoTime?: VideoTime | null;
}

export interface RopeIndex {
  /** [3, 1, L] flattened: temporal row, then height row, then width row. */
  positions: BigInt64Array;
  /** max(position) + 1 - L: the offset of every later (text) position. */
  delta: number;
}

/**
 * Qwen2.5-VL's absolute time for videos: the temporal index of grid slice j is
 * floor(j * second_per_grid_ts * tokens_per_second) instead of j. One entry per video, in order.
 */
export interface VideoTime {
  /** Seconds per temporal grid slice, per video: temporal_patch_size / sampled fps. */
  secondPerGrid: readonly number[];
  /** vision_config.tokens_per_second (2 in every Qwen2.5-VL release). */
  tokensPerSecond: number;
}

/**
 * second_per_grid_ts of a clip as the official pipeline gives it: qwen-vl-utils samples n of N
 * frames and reports sample_fps = n / N * fps (float64); Qwen2_5_VLProcessor divides the temporal
 * patch size by it; the model holds the result as a float32 tensor.
 */
export function secondPerGrid(
  sampled: number,
  frameCount: number,
  fps: number,
  temporalPatch = 2,
): number {
  const sampleFps = (sampled / Math.max(frameCount, 1e-6)) * fps;
  return Math.fround(temporalPatch / sampleFps);
}

/**
 * Temporal indices of a video's `t` grid slices. HF multiplies in float32 (a float32
 * second_per_grid_ts tensor times tokens_per_second, times the slice index) and truncates with
 * .long(); the values are non-negative, so truncation is floor.
 */
export function videoTimeIndices(
  t: number,
  secondPerGridTs: number,
  tokensPerSecond: number,
): number[] {
  const step = Math.fround(Math.fround(secondPerGridTs) * tokensPerSecond);
  return Array.from({ length: t }, (_, j) => Math.floor(Math.fround(j * step)));
}

/**
 * Text runs get 1-D positions continuing from the previous maximum + 1; each visual run of grid
 * (t, h, w) gets (offset + t_i, offset + h_i, offset + w_i) over the merged grid (t, h/2, w/2),
 * with `offset` = the position its first token would have had as text. Qwen2-VL has no time scaling
 * of t; with `tokens.videoTime` (Qwen2.5-VL) a video's t_i is its scaled time index (videoTimeIndices).
 * Images and videos draw from their own grid lists in order, as in the reference; each visual is
 * found from its `<|vision_start|>` token.
 */
export function ropeIndex(
  ids: ArrayLike<number>,
  grids: { image: readonly Grid[]; video: readonly Grid[] },
  tokens: RopeTokens,
  mergeSize = 2,
): RopeIndex {
  const videoTime = tokens.videoTime ?? null;
  if (videoTime && videoTime.secondPerGrid.length !== grids.video.length) {
    throw new Error(
      `rope: ${videoTime.secondPerGrid.length} second_per_grid_ts for ${grids.video.length} videos`,
    );
  }
  const L = ids.length;
  const t = new Array<number>(L);
  const h = new Array<number>(L);
  const w = new Array<number>(L);
  let imageIndex = 0;
  let videoIndex = 0;
  let next = 0; // next text position
  let i = 0;
  while (i < L) {
    const id = ids[i] ?? -1;
    const prev = ids[i - 1] ?? -1;
    const isVisual = id === tokens.imageTokenId || id === tokens.videoTokenId;
    if (!isVisual || prev !== tokens.visionStartTokenId) {
      if (isVisual)
        throw new Error(`rope: visual token at ${i} without a preceding <|vision_start|>`);
      t[i] = h[i] = w[i] = next++;
      i++;
      continue;
    }
    const isImage = id === tokens.imageTokenId;
    const spg = isImage ? undefined : videoTime?.secondPerGrid[videoIndex];
    const grid = isImage ? grids.image[imageIndex++] : grids.video[videoIndex++];
    if (!grid) throw new Error(`rope: more ${isImage ? 'image' : 'video'} runs than grids`);
    const gt = grid[0];
    const times =
      spg === undefined || !videoTime ? null : videoTimeIndices(gt, spg, videoTime.tokensPerSecond);
    const gh = Math.floor(grid[1] / mergeSize);
    const gw = Math.floor(grid[2] / mergeSize);
    const count = gt * gh * gw;
    for (let k = 0; k < count; k++) {
      if (ids[i + k] !== id) {
        throw new Error(
          `rope: visual run at ${i} is shorter than its grid [${grid.join(', ')}] needs (${count})`,
        );
      }
    }
    let maxPos = next - 1;
    for (let k = 0; k < count; k++) {
      const slot = Math.floor(k / (gh * gw));
      const pt = next + (times ? (times[slot] ?? slot) : slot);
      const ph = next + (Math.floor(k / gw) % gh);
      const pw = next + (k % gw);
      t[i + k] = pt;
      h[i + k] = ph;
      w[i + k] = pw;
      maxPos = Math.max(maxPos, pt, ph, pw);
    }
    next = maxPos + 1;
    i += count;
  }
  if (imageIndex !== grids.image.length || videoIndex !== grids.video.length) {
    throw new Error(
      `rope: prompt has ${imageIndex} image / ${videoIndex} video runs but ${grids.image.length} / ${grids.video.length} grids`,
    );
  }
  const positions = new BigInt64Array(3 * L);
  // Every position was written above (text and visual runs cover 0..L-1).
  t.forEach((x, k) => (positions[k] = BigInt(x)));
  h.forEach((x, k) => (positions[L + k] = BigInt(x)));
  w.forEach((x, k) => (positions[2 * L + k] = BigInt(x)));
  return { positions, delta: next - L };
}

/** Positions [3, 1, n] of n text tokens appended at cache position `past`. */
export function textPositions(past: number, n: number, delta: number): BigInt64Array {
  const out = new BigInt64Array(3 * n);
  for (let r = 0; r < 3; r++) for (let k = 0; k < n; k++) out[r * n + k] = BigInt(past + k + delta);
  return out;
}
