/**
 * pixel_values exactly as transformers' Qwen2VLImageProcessor / Qwen2VLVideoProcessor lay them out.
 * Pure: no runtime imports, so Vitest covers it.
 */

export const QWEN2VL_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const QWEN2VL_STD = [0.26862954, 0.26130258, 0.27577711] as const;
export const PATCH_SIZE = 14;
export const TEMPORAL_PATCH = 2;
export const MERGE_SIZE = 2;

export type Grid = [t: number, h: number, w: number];

export interface Patches {
  /** Rows of C * TEMPORAL_PATCH * PATCH_SIZE^2 = 1176 values, `t*h*w` rows. */
  data: Float32Array;
  grid: Grid;
  rowLength: number;
}

/**
 * A visual's temporal slices as the vision graph takes them one at a time: each slice's h*w patch
 * rows and its grid [1, h, w]. Exact: no vision attention of Qwen2-VL or Qwen2.5-VL crosses slices.
 */
export function* temporalSlices(
  p: Patches,
): Generator<{ rows: Float32Array; h: number; w: number }> {
  const [t, h, w] = p.grid;
  const per = h * w * p.rowLength;
  for (let s = 0; s < t; s++) yield { rows: p.data.subarray(s * per, (s + 1) * per), h, w };
}

/**
 * Rescale by 1/255 and normalise with the Qwen2-VL mean/std (the export's preprocessor_config.json
 * values, checked equal to the protocol's at load), then flatten into patch rows.
 *
 * The processor views the frames as (t, tp, C, h/m, m, p, w/m, m, p) and permutes to
 * (t, h/m, w/m, m, m, C, tp, p, p): rows ordered by temporal slice, merge block (row-major),
 * position inside the 2x2 block; each row holds channel, then temporal patch, then the 14x14 pixels.
 * A frame count that is not a multiple of the temporal patch repeats the last frame (the still,
 * one frame, becomes two identical frames).
 */
export function patchify(
  frames: readonly Float32Array[],
  height: number,
  width: number,
  stats: { mean: readonly number[]; std: readonly number[] } = {
    mean: QWEN2VL_MEAN,
    std: QWEN2VL_STD,
  },
): Patches {
  const p = PATCH_SIZE;
  const m = MERGE_SIZE;
  const tp = TEMPORAL_PATCH;
  checkFrames(frames, height, width, 'patchify');
  if (stats.mean.length !== 3 || stats.std.length !== 3)
    throw new Error('patchify: image_mean and image_std need 3 values (RGB)');
  const plane = height * width;
  const padded = [...frames];
  const last = frames.at(-1);
  while (last && padded.length % tp !== 0) padded.push(last);

  // (x / 255 - mean) / std in float64, stored as float32 (the reference's dtype). Clip frames and
  // stills hold whole numbers 0..255 (uint8 rounding, protocol section 2): a table per channel
  // gives the same float32 for those; any other value is computed as is.
  const all = patchTables(stats);
  const tables = stats.mean.map((mean, c) => ({
    table: all.subarray(c * 256, (c + 1) * 256),
    mean,
    std: stats.std[c] ?? NaN,
  }));

  const { grid, rowLength } = patchGrid(frames.length, height, width);
  const [gt, gh, gw] = grid;
  const data = new Float32Array(gt * gh * gw * rowLength);
  // One pass in the frames' order, each run of p pixels written to its place in its patch row
  // (no normalised copies and no views per run: 2x faster than copying patch by patch).
  for (const [n, f] of padded.entries()) {
    const t = Math.floor(n / tp);
    const k = n % tp;
    for (const [c, { table, mean, std }] of tables.entries()) {
      const column = (c * tp + k) * p * p;
      for (let y = 0; y < height; y++) {
        const py = y % p;
        const by = Math.floor(y / p);
        const rowY = t * gh * gw + Math.floor(by / m) * gw * m + (by % m) * m;
        let s = c * plane + y * width;
        for (let bx = 0; bx < gw; bx++) {
          const row = rowY + Math.floor(bx / m) * m * m + (bx % m);
          let o = row * rowLength + column + py * p;
          for (let x = 0; x < p; x++) {
            const v = f[s++] ?? 0;
            const i = v | 0;
            data[o++] = i === v && i >= 0 && i < 256 ? (table[i] ?? 0) : (v / 255 - mean) / std;
          }
        }
      }
    }
  }
  return { data, grid, rowLength };
}

/**
 * Frames patch rows can be made of (here or on the GPU, fast/patchify.ts): at least one, each
 * 3 x height x width values, the sides multiples of a merged patch. Throws naming `what`.
 */
export function checkFrames(
  frames: readonly Float32Array[],
  height: number,
  width: number,
  what: string,
): void {
  const unit = PATCH_SIZE * MERGE_SIZE;
  if (frames.length === 0) throw new Error(`${what}: no frames`);
  if (height % unit !== 0 || width % unit !== 0)
    throw new Error(`${what}: ${width}x${height} is not a multiple of ${unit}`);
  for (const [i, f] of frames.entries()) {
    if (f.length !== 3 * height * width)
      throw new Error(`${what}: frame ${i} has ${f.length} values, expected 3x${height}x${width}`);
  }
}

/**
 * The patch grid of `frames` frames of height x width (the frame count padded to a multiple of the
 * temporal patch, as patchify pads it) and the patch row length.
 */
export function patchGrid(
  frames: number,
  height: number,
  width: number,
): { grid: Grid; rowLength: number } {
  const tp = TEMPORAL_PATCH;
  return {
    grid: [Math.ceil(frames / tp), height / PATCH_SIZE, width / PATCH_SIZE],
    rowLength: 3 * tp * PATCH_SIZE * PATCH_SIZE,
  };
}

/**
 * The normalised float32 of each whole value 0..255 per channel: [R 0..255, G 0..255, B 0..255],
 * (v / 255 - mean) / std computed in float64 and stored as float32, as patchify stores them.
 */
export function patchTables(stats: {
  mean: readonly number[];
  std: readonly number[];
}): Float32Array {
  const out = new Float32Array(3 * 256);
  for (let c = 0; c < 3; c++) {
    const mean = stats.mean[c] ?? NaN;
    const std = stats.std[c] ?? NaN;
    for (let v = 0; v < 256; v++) out[c * 256 + v] = (v / 255 - mean) / std;
  }
  return out;
}

/**
 * The frames' values as bytes, frame after frame (each CHW), when every value is a whole number
 * 0..255 (clip frames and stills are: uint8 rounding, protocol section 2); null otherwise. With the
 * tables above these bytes give exactly patchify's floats (its table path). Written into `out` at
 * `offset` where given.
 */
export function frameBytes(
  frames: readonly Float32Array[],
  out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0)),
  offset = 0,
): Uint8Array | null {
  let o = offset;
  for (const f of frames) {
    for (let i = 0; i < f.length; i++) {
      const v = f[i] ?? NaN;
      const b = v | 0;
      if (b !== v || b < 0 || b > 255) return null;
      out[o++] = b;
    }
  }
  return out;
}

/** Tokens one visual of this grid occupies in the prompt after the 2x2 merge. */
export function mergedTokens(grid: Grid): number {
  return (grid[0] * grid[1] * grid[2]) / (MERGE_SIZE * MERGE_SIZE);
}
