/**
 * The content digest of a loaded model: every file the loader read, hashed as it passed through
 * (size plus SHA-256 of its first and last MiB, bench/digest.ts), so a model of the same name but
 * other bytes is another run. Reading only the edges keeps it cheap for multi-GB graphs.
 */
import { digestRanges, fileDigest, modelDigest, type FileDigest } from '../bench/index';
import type { FileServer } from './files';

export interface ModelContent {
  digest: string;
  files: FileDigest[];
}

async function bytes(blob: Blob, [start, end]: [number, number]): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/** The digest of one file's bytes (a File, or a Blob in memory or from Cache Storage). */
export async function blobDigest(path: string, blob: Blob): Promise<FileDigest> {
  const r = digestRanges(blob.size);
  return fileDigest(path, blob.size, await bytes(blob, r.head), await bytes(blob, r.tail));
}

/**
 * Wraps a file server so that every file read is digested on the way (no second read: a remote
 * file without a cache would download again).
 */
export function digestingServer(server: FileServer): FileServer & {
  content(files: readonly string[]): Promise<ModelContent>;
} {
  const seen = new Map<string, Promise<FileDigest>>();
  // Taken before read is replaced below (the server object itself is kept: load.ts sets fields
  // such as `caching` that its own read consults).
  const original = server.read.bind(server);
  const read = async (path: string) => {
    const blob = await original(path);
    if (blob) seen.set(path, blobDigest(path, blob));
    return blob;
  };
  const wrapped = Object.assign(server, { read });
  return Object.assign(wrapped, {
    /** The model's digest over `files` (read now if the loader never did). */
    async content(files: readonly string[]): Promise<ModelContent> {
      const list: FileDigest[] = [];
      for (const f of files) {
        let d = seen.get(f);
        if (!d) {
          const blob = await original(f);
          if (blob) d = blobDigest(f, blob);
        }
        if (d) list.push(await d);
      }
      return { digest: modelDigest(list), files: list };
    },
  });
}
