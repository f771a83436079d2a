/**
 * Model files for transformers.js from a local folder, a URL or a Hugging Face id, through one
 * `env.fetch` hook: transformers.js asks for `https://seedbench.invalid/<key>/<file>`, and we answer
 * from the picked folder, from Cache Storage, or from the network (with per-file progress, cached
 * for offline use after a quota check).
 */
import { env } from '@huggingface/transformers';
import type { LoadEvent, ModelSource } from './types';
import { ModelError } from './types';
import { MODEL_CACHE_NAME as CACHE_NAME } from './cache';

const HOST = 'https://seedbench.invalid/';
const PROGRESS_INTERVAL_MS = 100;

export interface FileServer {
  /** The model id transformers.js is given (unique per load, so its memoised configs never go stale). */
  key: string;
  /** Files transformers.js asked for that do not exist. */
  missing: string[];
  /** Bytes of a file, or null when it does not exist. */
  size(path: string): Promise<number | null>;
  read(path: string): Promise<Blob | null>;
  label: string;
  remote: boolean;
  /** Cache remote downloads (turned off when the quota check fails). */
  caching: boolean;
}

let counter = 0;
let active: FileServer | null = null;
let onEvent: ((e: LoadEvent) => void) | undefined;
let hooked = false;

/** Route transformers.js's file requests to `server` from now on. */
export function activate(server: FileServer, progress?: (e: LoadEvent) => void): void {
  active = server;
  onEvent = progress;
  if (hooked) return;
  const realFetch = globalThis.fetch.bind(globalThis);
  env.remoteHost = HOST;
  env.remotePathTemplate = '{model}/';
  env.fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input.href;
    const server = active;
    if (!server || !url.startsWith(`${HOST}${server.key}/`)) return realFetch(input, init);
    const path = decodeURIComponent(url.slice(`${HOST}${server.key}/`.length));
    if (init?.method === 'HEAD') {
      const size = await server.size(path);
      if (size === null) return new Response(null, { status: 404 });
      return new Response(null, { status: 200, headers: { 'content-length': String(size) } });
    }
    const blob = await server.read(path);
    if (!blob) {
      server.missing.push(path);
      return new Response(null, {
        status: 404,
        statusText: `${path} not found in ${server.label}`,
      });
    }
    return new Response(blob, { status: 200, headers: { 'content-length': String(blob.size) } });
  };
  hooked = true;
}

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s.length > 0 && s !== '.');
}

async function fromHandle(root: FileSystemDirectoryHandle, path: string): Promise<File | null> {
  const parts = splitPath(path);
  const name = parts.pop();
  if (!name) return null;
  try {
    let dir = root;
    for (const part of parts) dir = await dir.getDirectoryHandle(part);
    return await (await dir.getFileHandle(name)).getFile();
  } catch {
    return null;
  }
}

function localServer(label: string, open: (path: string) => Promise<File | null>): FileServer {
  const report = (path: string, file: File) =>
    onEvent?.({
      kind: 'file',
      file: path,
      loaded: file.size,
      total: file.size,
      bytesPerS: null,
      etaS: 0,
      from: 'local',
      done: true,
    });
  return {
    key: `seedbench/m${++counter}`,
    missing: [],
    label,
    remote: false,
    caching: false,
    size: async (path) => (await open(path))?.size ?? null,
    read: async (path) => {
      const file = await open(path);
      if (file) report(path, file);
      return file;
    },
  };
}

/** Base URL (ending in '/') of a remote source. */
export function remoteBase(source: ModelSource): string | null {
  if (source.kind === 'url') return source.url.endsWith('/') ? source.url : `${source.url}/`;
  if (source.kind === 'hub') {
    if (!/^[\w\-.]+\/[\w\-.]+$/.test(source.id)) {
      throw new ModelError(
        'bad-config',
        `"${source.id}" is not a Hugging Face model id (owner/name)`,
      );
    }
    return `https://huggingface.co/${source.id}/resolve/${encodeURIComponent(source.revision ?? 'main')}/`;
  }
  return null;
}

async function openCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE_NAME);
  } catch {
    return null; // e.g. opaque origins: run without a cache
  }
}

async function download(url: string, path: string): Promise<Blob | null> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new ModelError('download-failed', `${path}: network error (${String(e)})`, {
      file: path,
      cause: e,
    });
  }
  if (response.status === 404) return null;
  if (!response.ok || !response.body) {
    throw new ModelError('download-failed', `${path}: HTTP ${response.status} from ${url}`, {
      file: path,
    });
  }
  // With a content-encoding, content-length counts compressed bytes, not the ones read here.
  const total = response.headers.get('content-encoding')
    ? null
    : Number(response.headers.get('content-length')) || null;
  const reader = response.body.getReader();
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let loaded = 0;
  const start = performance.now();
  let lastReport = 0;
  const emit = (done: boolean) => {
    const elapsedS = (performance.now() - start) / 1000;
    const rate = elapsedS > 0 && loaded > 0 ? loaded / elapsedS : null;
    onEvent?.({
      kind: 'file',
      file: path,
      loaded,
      total,
      bytesPerS: rate,
      etaS: done ? 0 : rate && total ? (total - loaded) / rate : null,
      from: 'network',
      done,
    });
  };
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw new ModelError(
        'download-failed',
        `${path}: download interrupted after ${loaded} of ${total ?? '?'} bytes (${String(e)})`,
        { file: path, cause: e },
      );
    }
    const { done, value } = chunk;
    if (done) break;
    chunks.push(value as Uint8Array<ArrayBuffer>);
    loaded += value.byteLength;
    if (performance.now() - lastReport > PROGRESS_INTERVAL_MS) {
      lastReport = performance.now();
      emit(false);
    }
  }
  if (total !== null && loaded !== total) {
    throw new ModelError('download-failed', `${path}: got ${loaded} of ${total} bytes`, {
      file: path,
    });
  }
  emit(true);
  return new Blob(chunks, {
    type: response.headers.get('content-type') ?? 'application/octet-stream',
  });
}

function remoteServer(base: string): FileServer {
  const server: FileServer = {
    key: `seedbench/m${++counter}`,
    missing: [],
    label: base,
    remote: true,
    caching: true,
    size: async (path) => {
      const cache = await openCache();
      const hit = await cache?.match(base + path);
      if (hit) return Number(hit.headers.get('content-length')) || (await hit.clone().blob()).size;
      let head: Response;
      try {
        head = await fetch(base + path, { method: 'HEAD' });
      } catch (e) {
        // Unreachable is not "missing": say which file could not be fetched.
        throw new ModelError('download-failed', `${path}: network error (${String(e)})`, {
          file: path,
          cause: e,
        });
      }
      if (head.status === 404) return null;
      return Number(head.headers.get('x-linked-size') ?? head.headers.get('content-length')) || 0;
    },
    read: async (path) => {
      const url = base + path;
      const cache = await openCache();
      const hit = await cache?.match(url);
      if (hit) {
        const blob = await hit.blob();
        onEvent?.({
          kind: 'file',
          file: path,
          loaded: blob.size,
          total: blob.size,
          bytesPerS: null,
          etaS: 0,
          from: 'cache',
          done: true,
        });
        return blob;
      }
      const blob = await download(url, path);
      if (blob && cache && server.caching) {
        const headers = { 'content-length': String(blob.size) };
        // A full disk must not fail the load: the model still runs, only not offline.
        await cache.put(url, new Response(blob, { headers })).catch(() => undefined);
      }
      return blob;
    },
  };
  return server;
}

/** A file server for any source. */
export function serverFor(source: ModelSource): FileServer {
  switch (source.kind) {
    case 'folder':
      return localServer(`folder "${source.handle.name}"`, (p) => fromHandle(source.handle, p));
    case 'files': {
      const byPath = new Map(source.files.map((f) => [splitPath(f.path).join('/'), f.file]));
      return localServer(`folder "${source.name}"`, (p) =>
        Promise.resolve(byPath.get(splitPath(p).join('/')) ?? null),
      );
    }
    case 'url':
    case 'hub':
      return remoteServer(remoteBase(source) as string);
  }
}

/**
 * Before a remote download: ask for persistent storage and compare the bytes still to download
 * with the free quota; caching is turned off (the model still loads) when they do not fit.
 */
export async function checkQuota(
  server: FileServer,
  sizes: ReadonlyMap<string, number>,
): Promise<LoadEvent> {
  const cache = await openCache();
  let needed = 0;
  for (const [f, size] of sizes) {
    if (!(await cache?.match(server.label + f))) needed += size;
  }
  // persist() is a Window API: the client asks for it on the main thread; a worker can only read it.
  const storage = self.navigator.storage as
    (StorageManager & { persist?: () => Promise<boolean> }) | undefined;
  let persisted: boolean;
  let free: number | null = null;
  try {
    persisted = (await storage?.persisted()) || ((await storage?.persist?.()) ?? false);
  } catch {
    persisted = false;
  }
  try {
    const est = await storage?.estimate();
    if (est?.quota !== undefined) free = est.quota - (est.usage ?? 0);
  } catch {
    free = null;
  }
  // Keep 10% of the quota as headroom: Cache Storage also stores headers and may fragment.
  server.caching = cache !== null && (free === null || needed <= free * 0.9);
  return {
    kind: 'quota',
    neededBytes: needed,
    freeBytes: free,
    persisted,
    caching: server.caching,
  };
}

/** Remove every cached model file (all models). */
export async function clearModelCache(): Promise<boolean> {
  return typeof caches === 'undefined' ? false : caches.delete(CACHE_NAME);
}
