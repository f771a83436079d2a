/** One decoder step over transformers.js's merged decoder, with explicit KV-cache ownership. */
import { Tensor } from '@huggingface/transformers';
import { referenceModel, type LoadedModel } from './load';

export type Past = Record<string, Tensor>;

export interface StepResult {
  /** [rows, vocab] float32 logits of the kept positions. */
  logits: Float32Array;
  rows: number;
  vocab: number;
  past: Past;
}

interface SessionLike {
  inputNames: string[];
  inputMetadata?: { name: string; type?: string }[];
}

function decoderSession(m: LoadedModel): SessionLike {
  return referenceModel(m).sessions['decoder_model_merged'] as SessionLike;
}

function hasInput(m: LoadedModel, name: string): boolean {
  return decoderSession(m).inputNames.includes(name);
}

/** The element type the decoder wants for inputs_embeds (fp16 exports may not keep fp32 IO). */
function embedsType(m: LoadedModel): string | null {
  return decoderSession(m).inputMetadata?.find((x) => x.name === 'inputs_embeds')?.type ?? null;
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
  const n = embeds.dims[1] as number;
  const want = embedsType(m);
  const inputs: Record<string, unknown> = {
    inputs_embeds: want && want !== embeds.type ? embeds.to(want as 'float32') : embeds,
    attention_mask: new Tensor('int64', new BigInt64Array(pastLength + n).fill(1n), [
      1,
      pastLength + n,
    ]),
    position_ids: new Tensor('int64', positions, [3, 1, n]),
    past_key_values: past,
  };
  if (hasInput(m, 'num_logits_to_keep'))
    inputs['num_logits_to_keep'] = new Tensor('int64', [BigInt(keep)], []);
  const out = (await referenceModel(m).forward(inputs)) as Record<string, Tensor>;
  const nextPast: Past = {};
  let logitsTensor: Tensor | null = null;
  for (const [name, t] of Object.entries(out)) {
    if (name.startsWith('present')) nextPast[name.replace('present', 'past_key_values')] = t;
    else if (name === 'logits') logitsTensor = t;
    else if (t.location === 'gpu-buffer') t.dispose();
  }
  if (!logitsTensor) throw new Error('decoder returned no logits');
  const f32 = logitsTensor.to('float32');
  const [, total, vocab] = logitsTensor.dims as [number, number, number];
  const rows = Math.min(keep, total);
  const data = f32.data as Float32Array;
  // Copy out the kept rows: the output buffer may be reused by the runtime.
  const logits = data.slice((total - rows) * vocab, total * vocab);
  return { logits, rows, vocab, past: nextPast };
}

const BYTES: Record<string, number> = { float32: 4, float16: 2, int8: 1, uint8: 1 };

/** Bytes a cache occupies (its tensors' sizes; wherever they live). */
export function pastBytes(past: Past): number {
  let total = 0;
  for (const t of Object.values(past)) {
    total += (t.dims as number[]).reduce((a, b) => a * b, 1) * (BYTES[t.type] ?? 4);
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
    const [b, h, seq, d] = t.dims as [number, number, number, number];
    const ort = t.ort_tensor as unknown as {
      getData(release?: boolean): Promise<ArrayLike<number>>;
    };
    const src = (t.location === 'gpu-buffer' ? await ort.getData() : t.data) as Float32Array;
    const Ctor = src.constructor as new (n: number) => Float32Array;
    const dst = new Ctor(b * h * length * d);
    for (let i = 0; i < b * h; i++) {
      dst.set(src.subarray(i * seq * d, i * seq * d + length * d), i * length * d);
    }
    out[name] = new Tensor(t.type as 'float32', dst, [b, h, length, d]);
  }
  return out;
}

/** Embeddings of `ids` as [1, n, hidden]. */
export async function embed(m: LoadedModel, ids: readonly number[]): Promise<Tensor> {
  const input = new Tensor(
    'int64',
    BigInt64Array.from(ids, (x) => BigInt(x)),
    [1, ids.length],
  );
  return (await referenceModel(m).encode_text({ input_ids: input })) as Tensor;
}
