/**
 * Prefill in chunks through the KV cache, for decoders without `num_logits_to_keep` (the public
 * hub export): such a graph returns logits for every position it is given, 151,936 floats each
 * (~517 MB for an 850-token prompt), so the prompt goes in pieces of `size` tokens and only the
 * rows asked for are kept. Pure, so Vitest covers it.
 */

/** Tokens per prefill chunk: 128 x 151,936 x 4 bytes = 78 MB of logits at most per step. */
export const PREFILL_CHUNK = 128;

export interface Chunk {
  start: number;
  length: number;
  /** Logit rows to keep from this chunk: its last `keep` positions. */
  keep: number;
}

/** Chunks covering n positions, keeping the logits of the last `keep` positions overall. */
export function prefillChunks(n: number, keep: number, size = PREFILL_CHUNK): Chunk[] {
  if (!Number.isInteger(n) || n < 1) throw new Error(`prefillChunks: ${n} positions`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`prefillChunks: chunk size ${size}`);
  const from = n - Math.min(Math.max(keep, 0), n);
  const out: Chunk[] = [];
  for (let start = 0; start < n; start += size) {
    const length = Math.min(size, n - start);
    out.push({ start, length, keep: Math.max(0, Math.min(length, start + length - from)) });
  }
  return out;
}
