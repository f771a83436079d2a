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
  const unit = p * m;
  if (frames.length === 0) throw new Error('patchify: no frames');
  if (height % unit !== 0 || width % unit !== 0) {
    throw new Error(`patchify: ${width}x${height} is not a multiple of ${unit}`);
  }
  if (stats.mean.length !== 3 || stats.std.length !== 3)
    throw new Error('patchify: image_mean and image_std need 3 values (RGB)');
  const plane = height * width;
  for (const [i, f] of frames.entries()) {
    if (f.length !== 3 * plane) {
      throw new Error(`patchify: frame ${i} has ${f.length} values, expected 3x${height}x${width}`);
    }
  }
  const padded = [...frames];
  const last = frames.at(-1);
  while (last && padded.length % tp !== 0) padded.push(last);

  // (x / 255 - mean) / std in float64, stored as float32 (the reference's dtype). Clip frames and
  // stills hold whole numbers 0..255 (uint8 rounding, protocol section 2): a table per channel
  // gives the same float32 for those; any other value is computed as is.
  const tables = stats.mean.map((mean, c) => {
    const std = stats.std[c] ?? NaN;
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = (v / 255 - mean) / std;
    return { table, mean, std };
  });

  const gt = padded.length / tp;
  const gh = height / p;
  const gw = width / p;
  const rowLength = 3 * tp * p * p;
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
  return { data, grid: [gt, gh, gw], rowLength };
}

/** Tokens one visual of this grid occupies in the prompt after the 2x2 merge. */
export function mergedTokens(grid: Grid): number {
  return (grid[0] * grid[1] * grid[2]) / (MERGE_SIZE * MERGE_SIZE);
}
