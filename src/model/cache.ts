/**
 * The model loader's Cache Storage (files.ts writes it): what is in it, per model, and removing
 * one model. No runtime import, so the UI can list caches without loading transformers.js.
 */
export const MODEL_CACHE_NAME = 'seedbench-models-v1';

export interface CachedModel {
  /** The model's base URL (a folder URL, or a hub id's resolve/<revision>/ URL). */
  base: string;
  files: number;
  bytes: number;
}

/**
 * The model folder a cached file belongs to: files sit in the Hugging Face layout, at the root
 * (config.json, tokenizer.json, …) or under onnx/.
 */
export function modelBaseOf(url: string): string {
  const onnx = url.lastIndexOf('/onnx/');
  if (onnx >= 0) return url.slice(0, onnx + 1);
  return url.slice(0, url.lastIndexOf('/') + 1);
}

async function open(): Promise<Cache | null> {
  try {
    if (typeof caches === 'undefined' || !(await caches.has(MODEL_CACHE_NAME))) return null;
    return await caches.open(MODEL_CACHE_NAME);
  } catch {
    return null; // opaque origins have no Cache Storage
  }
}

/** Every cached model with its file count and bytes (files.ts stores content-length with each). */
export async function listCachedModels(): Promise<CachedModel[]> {
  const cache = await open();
  if (!cache) return [];
  const models = new Map<string, CachedModel>();
  for (const request of await cache.keys()) {
    const base = modelBaseOf(request.url);
    const response = await cache.match(request);
    const bytes =
      Number(response?.headers.get('content-length')) || ((await response?.blob())?.size ?? 0);
    const entry = models.get(base) ?? { base, files: 0, bytes: 0 };
    entry.files += 1;
    entry.bytes += bytes;
    models.set(base, entry);
  }
  return [...models.values()].sort((a, b) => a.base.localeCompare(b.base));
}

/** Remove one model's cached files; returns how many were removed. */
export async function removeCachedModel(base: string): Promise<number> {
  const cache = await open();
  if (!cache) return 0;
  let removed = 0;
  for (const request of await cache.keys()) {
    if (modelBaseOf(request.url) === base && (await cache.delete(request))) removed += 1;
  }
  return removed;
}
