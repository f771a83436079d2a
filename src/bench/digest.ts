import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { assert } from './assert';
import type { Sample } from './types';

/**
 * Content digests: SHA-256 as lowercase hex. Synchronous and pure (one implementation for the UI
 * thread, the workers and Node), so the same bytes give the same run identity everywhere.
 */

/** SHA-256 (hex) of a string's UTF-8 bytes, or of raw bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return bytesToHex(sha256(typeof data === 'string' ? utf8ToBytes(data) : data));
}

/** How much of each end of a model file the digest reads: the whole of any file up to 2 MiB. */
export const DIGEST_EDGE_BYTES = 1 << 20;

/** One model file's content digest: its size and the SHA-256 of its first and last MiB. */
export interface FileDigest {
  path: string;
  size: number;
  sha256: string;
}

/**
 * The digest of one file from its size and its edges (`head` = the first DIGEST_EDGE_BYTES or the
 * whole file, `tail` = the last DIGEST_EDGE_BYTES when the file is longer than that, else empty).
 * Cheap for multi-GB graphs, and any re-export, re-quantisation or truncation changes it.
 */
export function fileDigest(
  path: string,
  size: number,
  head: Uint8Array,
  tail: Uint8Array,
): FileDigest {
  assert(
    head.length + tail.length <= size && head.length <= DIGEST_EDGE_BYTES,
    `${path}: the digest's edges (${head.length} + ${tail.length} bytes) do not fit a ${size}-byte file`,
  );
  const bytes = new Uint8Array(head.length + tail.length);
  bytes.set(head, 0);
  bytes.set(tail, head.length);
  return { path, size, sha256: sha256Hex(bytes) };
}

/** The byte ranges fileDigest needs, as [start, end) pairs. */
export function digestRanges(size: number): { head: [number, number]; tail: [number, number] } {
  const headEnd = Math.min(size, DIGEST_EDGE_BYTES);
  const tailStart = Math.max(headEnd, size - DIGEST_EDGE_BYTES);
  return { head: [0, headEnd], tail: [tailStart, size] };
}

/** A model's digest: every file it loaded, by path (order-independent). */
export function modelDigest(files: readonly FileDigest[]): string {
  const lines = [...files]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((f) => `${f.path}\t${f.size}\t${f.sha256}\n`);
  return sha256Hex(lines.join(''));
}

/**
 * The digest of a benchmark's questions: every field of every record that reaches the prompt or
 * the score (the record's place in its file is left out, so reordering lines does not count, but
 * any edited text, choice or gold letter does).
 */
export function samplesDigest(samples: readonly Sample[]): string {
  // The origin (file, line) is left out: JSON.stringify's replacer drops it at the top level.
  const lines = samples.map((s) =>
    JSON.stringify(s, (k, v: unknown) => (k === 'origin' ? undefined : v)),
  );
  return sha256Hex(lines.sort().join('\n'));
}
