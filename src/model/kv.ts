/** One decoder step over transformers.js's merged decoder, with explicit KV-cache ownership. */
import { Tensor } from '@huggingface/transformers';
import { assert } from '../bench/index';
import { prefillChunks } from './chunks';
import { float32ToFloat16Bits, hasNativeFloat16 } from './float16';
import type { FloatType } from './interface';
import { referenceModel, type LoadedModel } from './load';
import { dims3, dims4, float32, tensor } from './tensor';

export type Past = Record<string, Tensor>;

export interface StepResult {
  /** [rows, vocab] float32 logits of the kept positions. */
  logits: Float32Array;
  rows: number;
  vocab: number;
  past: Past;
}

/**
 * `t` as the float type a graph declares. float32 -> float16 is correctly rounded: transformers.js's
 * `.to('float16')` uses Float16Array.from where the runtime has it, but without it truncates each
 * value to an integer, so there the bits are encoded here. float16 -> float32 is exact either way.
 */
export function asFloatType(t: Tensor, type: FloatType): Tensor {
  if (t.type === type) return t;
  if (type === 'float32' || hasNativeFloat16()) return t.to(type);
  return new Tensor(
    'float16',
    float32ToFloat16Bits(float32(t.to('float32'), 'float16 input')),
    t.dims,
  );
}

/**
 * Run the decoder over `embeds` ([1, n, hidden]) after `past` (null = empty cache), keeping the
 * logits of the last `keep` positions. `past` is NOT disposed: the caller owns both caches.
 */
export async function decoderStep(
  m: LoadedModel,
  embeds: Tensor,
  positions: BigInt64Array,
  past: Past | null,
  pastLength: number,
  keep: number,
): Promise<StepResult> {
  const [, n] = dims3(embeds, 'inputs_embeds');
  const inputs: Record<string, unknown> = {
    inputs_embeds: asFloatType(embeds, m.graphs.embedsType),
    attention_mask: new Tensor('int64', new BigInt64Array(pastLength + n).fill(1n), [
      1,
      pastLength + n,
    ]),
    position_ids: new Tensor('int64', positions, [3, 1, n]),
    past_key_values: past,
  };
  // Without num_logits_to_keep every position's logits come back (prefill() keeps that small).
  if (m.graphs.logitsToKeep) inputs['num_logits_to_keep'] = new Tensor('int64', [BigInt(keep)], []);
  const out: unknown = await referenceModel(m).forward(inputs);
  if (typeof out !== 'object' || out === null) throw new Error('decoder returned no outputs');
  const nextPast: Past = {};
  let logitsTensor: Tensor | null = null;
  for (const [name, value] of Object.entries(out)) {
    const t = tensor(value, `decoder output ${name}`);
    if (name.startsWith('present')) nextPast[name.replace('present', 'past_key_values')] = t;
    else if (name === 'logits') logitsTensor = t;
    else if (t.location === 'gpu-buffer') t.dispose();
  }
  if (!logitsTensor) throw new Error('decoder returned no logits');
  const [, total, vocab] = dims3(logitsTensor, 'logits');
  const rows = Math.min(keep, total);
  // Copy out the kept rows only (the output buffer may be reused by the runtime); a float16
  // graph's rows are widened here, never the whole [total, vocab] block.
  const kept = logitsTensor.view(total, vocab).slice([total - rows, total], null);
  const logits = float32(kept.to('float32'), 'logits');
  return { logits, rows, vocab, past: nextPast };
}

/**
 * Prefill `embeds` ([1, n, hidden]) after `past`, keeping the last `keep` positions' logits. A
 * decoder with num_logits_to_keep runs it in one step; one without (the public hub export) runs
 * it in chunks of PREFILL_CHUNK tokens through the cache, so that no step returns more than a
 * chunk of logits. `past` is not disposed; the intermediate caches are.
 */
export async function prefill(
  m: LoadedModel,
  embeds: Tensor,
  positions: BigInt64Array,
  past: Past | null,
  pastLength: number,
  keep: number,
): Promise<StepResult> {
  const [, n, hidden] = dims3(embeds, 'inputs_embeds');
  if (m.graphs.logitsToKeep) return decoderStep(m, embeds, positions, past, pastLength, keep);
  const chunks = prefillChunks(n, keep);
  if (chunks.length === 1) return decoderStep(m, embeds, positions, past, pastLength, keep);
  const rowsOf = embeds.view(n, hidden);
  const parts: Float32Array[] = [];
  let cur = past;
  let vocab = 0;
  for (const c of chunks) {
    const piece = rowsOf.slice([c.start, c.start + c.length], null).view(1, c.length, hidden);
    const pos = new BigInt64Array(3 * c.length);
    for (let r = 0; r < 3; r++) {
      pos.set(positions.subarray(r * n + c.start, r * n + c.start + c.length), r * c.length);
    }
    const step = await decoderStep(m, piece, pos, cur, pastLength + c.start, c.keep);
    if (cur !== past) disposePast(cur);
    cur = step.past;
    vocab = step.vocab;
    if (step.rows > 0) parts.push(step.logits);
  }
  const logits = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    logits.set(p, o);
    o += p.length;
  }
  assert(cur, 'prefill: no chunk ran');
  return { logits, rows: logits.length / vocab, vocab, past: cur };
}

const BYTES: Record<string, number> = { float32: 4, float16: 2, int8: 1, uint8: 1 };

/** Bytes a cache occupies (its tensors' sizes; wherever they live). */
export function pastBytes(past: Past): number {
  let total = 0;
  for (const t of Object.values(past)) {
    total += t.dims.reduce((a, b) => a * b, 1) * (BYTES[t.type] ?? 4);
  }
  return total;
}

/** Release GPU buffers of a cache (CPU tensors are left to the garbage collector). */
export function disposePast(past: Past | null, keep?: Past | null): void {
  if (!past) return;
  const kept = new Set(Object.values(keep ?? {}));
  for (const t of Object.values(past)) if (t.location === 'gpu-buffer' && !kept.has(t)) t.dispose();
}

/** A CPU copy of the first `length` positions of every cache tensor ([batch, heads, seq, dim]). */
export async function prefixOfPast(past: Past, length: number): Promise<Past> {
  const out: Past = {};
  for (const [name, t] of Object.entries(past)) {
    const [b, h, seq, d] = dims4(t, name);
    const ort = t.ort_tensor as unknown as {
      getData(release?: boolean): Promise<ArrayLike<number>>;
    };
    const src = (t.location === 'gpu-buffer' ? await ort.getData() : t.data) as Float32Array;
    const Ctor = src.constructor as new (n: number) => Float32Array;
    const dst = new Ctor(b * h * length * d);
    for (let i = 0; i < b * h; i++) {
      dst.set(src.subarray(i * seq * d, i * seq * d + length * d), i * length * d);
    }
    out[name] = new Tensor(t.type, dst, [b, h, length, d]);
  }
  return out;
}

/** Embeddings of `ids` as float32 [1, n, hidden] (a float16 embed_tokens' output widened). */
export async function embed(m: LoadedModel, ids: readonly number[]): Promise<Tensor> {
  const input = new Tensor(
    'int64',
    BigInt64Array.from(ids, (x) => BigInt(x)),
    [1, ids.length],
  );
  return asFloatType(
    tensor(await referenceModel(m).encode_text({ input_ids: input }), 'embed_tokens output'),
    'float32',
  );
}
