/** Visual inputs of a question: per-slice vision encoding and their place in the prompt embeddings. */
import { Tensor } from '@huggingface/transformers';
import { checkCancelled, type CancelCheck } from './cancel';
import { asFloatType, embed } from './kv';
import { referenceModel, type LoadedModel } from './load';
import { temporalSlices, type Grid, type Patches } from './pixels';
import type { FastFeatures } from './fast/engine';
import type { GpuPatches } from './fast/patchify';
import { dims3, float32, tensor } from './tensor';
import { ModelError } from './types';

export interface Visual {
  tokenId: number;
  grid: Grid;
  /** Its patch rows on the CPU; null where the fast engine built them on the GPU (the question's `GpuPatches`). */
  patches: Patches | null;
  features: Tensor | null;
}

/** A visual's CPU patch rows (the reference engine and the CPU path have them). */
function cpuPatches(v: Visual): Patches {
  if (!v.patches) throw new ModelError('bad-visuals', 'this visual has no patch rows on the CPU');
  return v.patches;
}

/** The pixel side of the frames (square, CHW float). */
export function frameSide(frame: Float32Array, what: string): number {
  const side = Math.round(Math.sqrt(frame.length / 3));
  if (side * side * 3 !== frame.length)
    throw new ModelError('bad-visuals', `${what}: not a square 3-channel frame`);
  return side;
}

/**
 * Encode a visual one temporal slice at a time: exact, as neither Qwen2-VL's nor Qwen2.5-VL's
 * vision attention crosses temporal slices (Qwen2.5-VL's windows and full-attention blocks are
 * per slice; measured: per-slice vs whole-grid 0.0 in transformers' own code).
 */
export async function encodeVisual(
  m: LoadedModel,
  v: Visual,
  cancelled: CancelCheck,
): Promise<Tensor> {
  const parts: Tensor[] = [];
  const patches = cpuPatches(v);
  for (const { rows, h, w } of temporalSlices(patches)) {
    checkCancelled(cancelled, 'during vision encoding');
    const pixels = new Tensor('float32', rows, [h * w, patches.rowLength]);
    const features: unknown = await referenceModel(m).encode_image({
      // As the graph declares it: a float16 vision encoder gets correctly rounded halves.
      pixel_values: asFloatType(pixels, m.graphs.pixelType),
      image_grid_thw: new Tensor('int64', BigInt64Array.from([1n, BigInt(h), BigInt(w)]), [1, 3]),
    });
    parts.push(asFloatType(tensor(features, 'vision encoder output'), 'float32'));
  }
  const [first] = parts;
  if (!first) throw new ModelError('bad-visuals', 'a visual with no temporal slice');
  if (parts.length === 1) return first;
  const hidden = first.dims[1] ?? 0;
  // Every slice's features were widened to float32 above.
  const all = new Float32Array(parts.reduce((n, p) => n + p.size, 0));
  let o = 0;
  for (const p of parts) {
    all.set(float32(p, 'vision encoder output'), o);
    o += p.size;
  }
  return new Tensor('float32', all, [all.length / hidden, hidden]);
}

/** Token embeddings with each visual's features written over its pad run, in prompt order. */
export async function promptEmbeds(
  m: LoadedModel,
  ids: readonly number[],
  visuals: Visual[],
): Promise<Tensor> {
  const embeds = await embed(m, ids);
  const [, , hidden] = dims3(embeds, 'embeddings');
  const data = float32(embeds, 'embeddings');
  let v = 0;
  for (let i = 0; i < ids.length;) {
    const visual = visuals[v];
    if (!visual || ids[i] !== visual.tokenId) {
      i++;
      continue;
    }
    const features = visual.features;
    if (!features) throw new ModelError('prompt-mismatch', `visual ${v} was not encoded`);
    const f = float32(features.to('float32'), `visual ${v} features`);
    const n = features.dims[0] ?? 0;
    for (let k = 0; k < n; k++) {
      if (ids[i + k] !== visual.tokenId)
        throw new ModelError('prompt-mismatch', `visual ${v}: pad run shorter than ${n} features`);
    }
    data.set(f, i * hidden);
    i += n;
    v++;
  }
  if (v !== visuals.length)
    throw new ModelError(
      'prompt-mismatch',
      `prompt has ${v} visual runs, expected ${visuals.length}`,
    );
  return embeds;
}

export function sliceRows(t: Tensor, from: number): Tensor {
  const [b, n, hidden] = dims3(t, 'embeddings');
  const data = float32(t, 'embeddings').slice(from * hidden, n * hidden);
  return new Tensor('float32', data, [b, n - from, hidden]);
}

export function slicePositions(p: BigInt64Array, length: number, from: number): BigInt64Array {
  const n = length - from;
  const out = new BigInt64Array(3 * n);
  for (let r = 0; r < 3; r++) out.set(p.subarray(r * length + from, (r + 1) * length), r * n);
  return out;
}

/**
 * Encode the question's visuals: on the fast engine all of them (every temporal slice in one run, or
 * slice by slice on a reference vision graph; from `staged`, the rows it built on the GPU, where it
 * did), returned as one feature tensor; on the reference engine each visual slice by slice, into
 * `features`.
 */
export async function encodeVisuals(
  m: LoadedModel,
  visuals: Visual[],
  staged: GpuPatches | null,
  cancelled: CancelCheck,
): Promise<FastFeatures | null> {
  if (m.fast) {
    checkCancelled(cancelled, 'before vision encoding');
    return m.fast.encode(staged ?? visuals.map(cpuPatches), cancelled);
  }
  for (const v of visuals) v.features = await encodeVisual(m, v, cancelled);
  return null;
}
