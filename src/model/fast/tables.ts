/**
 * The per-question tables the fast graphs take from the CPU (pure, so Vitest covers them):
 * the decoder's M-RoPE cos/sin rows by cache position, the vision rotary rows by patch, the
 * prompt's visual rows, the repetition-penalty mask.
 */
import type { Grid } from '../pixels';

export interface RopeTable {
  cos: Float32Array;
  sin: Float32Array;
  /** Columns per row (the cache head size / 2). */
  width: number;
  rows: number;
}

/**
 * Row i holds the angles of cache position i as transformers' Qwen2-VL rotary computes them:
 * column j < head_dim/2 takes its position from axis t, h or w by `section` (j in the first
 * section[0] columns: t, and so on), angle = fp32(position * inv_freq[j]); prompt positions come
 * from `positions` ([3, L] flattened), later ones (generated text) are i + delta on every axis.
 * GroupQueryAttention's do_rotary then looks row i up for the token at position i, which is exact
 * M-RoPE. Columns past head_dim/2 (head padding, see kv_head_dim) rotate by 0: cos 1, sin 0.
 */
export function ropeTable(
  positions: BigInt64Array,
  length: number,
  delta: number,
  capacity: number,
  invFreq: readonly number[],
  section: readonly number[],
  width: number,
): RopeTable {
  if (positions.length !== 3 * length) throw new Error('ropeTable: positions must be [3, length]');
  if (length > capacity)
    throw new Error(`ropeTable: ${length} positions exceed capacity ${capacity}`);
  const half = invFreq.length;
  const axisOf = new Int32Array(half);
  let j = 0;
  for (const [s, n] of section.entries()) for (let k = 0; k < n; k++) axisOf[j++] = s % 3;
  if (j !== half) throw new Error('ropeTable: section does not cover inv_freq');
  const inv = Float32Array.from(invFreq);
  const cos = new Float32Array(capacity * width).fill(1);
  const sin = new Float32Array(capacity * width);
  for (let i = 0; i < capacity; i++) {
    for (let c = 0; c < half; c++) {
      const p = i < length ? Number(positions[(axisOf[c] as number) * length + i]) : i + delta;
      const angle = Math.fround(Math.fround(p) * (inv[c] as number));
      cos[i * width + c] = Math.cos(angle);
      sin[i * width + c] = Math.sin(angle);
    }
  }
  return { cos, sin, width, rows: capacity };
}

/**
 * Qwen2-VL's vision rotary for one temporal slice of `grid` (t ignored): patch p of the processor's
 * order (2x2 merge blocks, row-major) sits at (row, col); its row holds row * inv_freq then
 * col * inv_freq (head_dim / 2 columns), fp32 products as the reference.
 */
export function visionTable(grid: Grid, invFreq: readonly number[], merge = 2): RopeTable {
  const [, h, w] = grid;
  const q = invFreq.length;
  const width = 2 * q;
  const rows = h * w;
  const cos = new Float32Array(rows * width);
  const sin = new Float32Array(rows * width);
  const perBlock = merge * merge;
  const blocksPerRow = w / merge;
  for (let p = 0; p < rows; p++) {
    const blk = Math.floor(p / perBlock);
    const r = p % perBlock;
    const row = Math.floor(blk / blocksPerRow) * merge + Math.floor(r / merge);
    const col = (blk % blocksPerRow) * merge + (r % merge);
    for (let c = 0; c < q; c++) {
      const f = invFreq[c] as number;
      const a = Math.fround(Math.fround(row) * Math.fround(f));
      const b = Math.fround(Math.fround(col) * Math.fround(f));
      cos[p * width + c] = Math.cos(a);
      sin[p * width + c] = Math.sin(a);
      cos[p * width + q + c] = Math.cos(b);
      sin[p * width + q + c] = Math.sin(b);
    }
  }
  return { cos, sin, width, rows };
}

export interface VisualRun {
  tokenId: number;
  /** Feature rows this visual contributes (its merged token count). */
  count: number;
}

/**
 * For each prompt position: 0 for text, else 1 + the row of the visual features (all visuals'
 * features concatenated in prompt order) that replaces the pad token there. Throws when the
 * prompt's pad runs do not match the visuals (order, count, length).
 */
export function visualRows(ids: ArrayLike<number>, runs: readonly VisualRun[]): Int32Array {
  const out = new Int32Array(ids.length);
  let v = 0;
  let row = 1;
  for (let i = 0; i < ids.length;) {
    const run = runs[v];
    if (!run || ids[i] !== run.tokenId) {
      i++;
      continue;
    }
    for (let k = 0; k < run.count; k++) {
      if (ids[i + k] !== run.tokenId)
        throw new Error(`visual ${v}: pad run shorter than ${run.count} features`);
      out[i + k] = row++;
    }
    i += run.count;
    v++;
  }
  if (v !== runs.length) throw new Error(`prompt has ${v} visual runs, expected ${runs.length}`);
  return out;
}

/** 1 at every id present (transformers' repetition penalty acts on each distinct id once). */
export function seenMask(ids: Iterable<number>, vocab: number): Float32Array {
  const m = new Float32Array(vocab);
  for (const id of ids) if (id >= 0 && id < vocab) m[id] = 1;
  return m;
}
