// A local model folder as npm run eval sees it in Node: its content digest over the files the
// app's loader read (the same bench/digest functions the model worker uses), so resuming with
// other bytes under the same folder name is refused before anything runs.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { digestRanges, fileDigest, modelDigest, type FileDigest } from '../src/bench/index';
import {
  copyTokenizer,
  linkSharedTextGraphs,
  TINY_MODEL_DIR,
  TINY_QWEN25_DIR,
} from './copy-tokenizer';

function readRange(fd: number, [start, end]: [number, number]): Uint8Array {
  const buf = new Uint8Array(end - start);
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, start + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** The digest of one file of the folder, or null when it is not there. */
export function folderFileDigest(dir: string, path: string): FileDigest | null {
  const file = join(dir, path);
  if (!existsSync(file) || !statSync(file).isFile()) return null;
  const size = statSync(file).size;
  const r = digestRanges(size);
  const fd = openSync(file, 'r');
  try {
    return fileDigest(path, size, readRange(fd, r.head), readRange(fd, r.tail));
  } finally {
    closeSync(fd);
  }
}

/** The model digest of `files` in `dir` (missing files are left out, so the digest differs). */
export function folderContent(
  dir: string,
  files: readonly string[],
): { digest: string; files: FileDigest[] } {
  const list = files.flatMap((f) => folderFileDigest(dir, f) ?? []);
  return { digest: modelDigest(list), files: list };
}

/**
 * Makes the tiny model folder complete on a fresh checkout (its tokenizer.json comes from an npm
 * package); any other folder must have its own tokenizer. Returns a message when it copied.
 */
export function ensureTokenizer(dir: string): string | null {
  const q25 = resolve(dir) === resolve(TINY_QWEN25_DIR);
  const linked = q25 ? linkSharedTextGraphs() : [];
  const note = linked.length ? `linked the shared text graphs: ${linked.join(', ')}` : null;
  if (existsSync(join(dir, 'tokenizer.json'))) return note;
  if (resolve(dir) !== resolve(TINY_MODEL_DIR) && !q25)
    throw new Error(`${dir} has no tokenizer.json (a model folder needs its tokenizer)`);
  const { src, bytes } = copyTokenizer(dir);
  const copied = `put the tokenizer in place: ${src} -> ${join(dir, 'tokenizer.json')} (${bytes} bytes)`;
  return note ? `${copied}; ${note}` : copied;
}
