// Promise-based client of the model worker, used on the UI thread: load, run with streaming,
// cancel, dispose; load progress and device fallbacks arrive as callbacks.
import type { QuestionOptions, Sample } from '../bench/index';
import {
  ModelError,
  type LoadEvent,
  type LoadSettings,
  type ModelAnswer,
  type ModelSource,
  type ModelVisuals,
} from '../model/index';
import type { ModelInfo, ModelRequest, ModelResponse } from './model-protocol';

/** What the caller adds to a question's options on this side of the worker. */
export interface ClientRunHooks {
  onToken: ((textSoFar: string, tokenId: number) => void) | null;
  signal: AbortSignal | null;
  /** Transfer the frame buffers to the worker instead of copying them. */
  transfer: boolean;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: ModelError): void;
  onProgress?: ((event: LoadEvent) => void) | undefined;
  onToken?: ((text: string, tokenId: number) => void) | undefined;
}

/** A model source from the files of an <input webkitdirectory> pick (paths relative to its folder). */
export function sourceFromFiles(list: ArrayLike<File>): ModelSource {
  const files = Array.from(list);
  // webkitRelativePath is set by <input webkitdirectory> (empty for files picked one by one).
  const picked = files.map((file) => ({ file, rel: file.webkitRelativePath || file.name }));
  const first = picked[0]?.rel.split('/')[0] ?? 'model';
  const sameTop = picked.every(({ rel }) => rel.includes('/') && rel.split('/')[0] === first);
  return {
    kind: 'files',
    name: sameTop ? first : 'picked files',
    files: picked.map(({ file, rel }) => ({
      path: sameTop ? rel.slice(first.length + 1) : rel,
      file,
    })),
  };
}

export class ModelClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly flags = new Map<number, Int32Array>();
  /** Called when the worker fell back to wasm after losing the WebGPU device. */
  onFallback: ((reason: string, info: ModelInfo) => void) | null = null;
  info: ModelInfo | null = null;

  constructor(worker?: Worker) {
    this.worker =
      worker ?? new Worker(new URL('./model.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<ModelResponse>) => this.receive(e.data);
    this.worker.onerror = (e: ErrorEvent) => {
      const err = new ModelError('runtime', `model worker failed: ${e.message}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  private receive(msg: ModelResponse): void {
    const p = this.pending.get(msg.id);
    if (msg.type === 'result' || msg.type === 'error') this.flags.delete(msg.id);
    switch (msg.type) {
      case 'progress':
        p?.onProgress?.(msg.event);
        return;
      case 'token':
        p?.onToken?.(msg.text, msg.tokenId);
        return;
      case 'fallback':
        this.info = msg.info;
        this.onFallback?.(msg.reason, msg.info);
        return;
      case 'loaded':
        this.info = msg.info;
        break;
      case 'error':
        this.pending.delete(msg.id);
        p?.reject(
          new ModelError(
            msg.error.code,
            msg.error.message,
            msg.error.file ? { file: msg.error.file } : undefined,
          ),
        );
        return;
      default:
        break;
    }
    this.pending.delete(msg.id);
    p?.resolve(
      msg.type === 'loaded'
        ? msg.info
        : msg.type === 'result'
          ? msg.result
          : msg.type === 'device-destroyed'
            ? msg.destroyed
            : undefined,
    );
  }

  private request<T>(
    req: ModelRequest,
    extra: Omit<Pending, 'resolve' | 'reject'> = {},
    transfer: Transferable[] = [],
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Each request's id is its own: the response for it carries a T (see receive()).
      const settle = (v: unknown) => resolve(v as T);
      this.pending.set(req.id, { resolve: settle, reject, ...extra });
      this.worker.postMessage(req, transfer);
    });
  }

  /** Load a model; `settings` reach the loader exactly as given. */
  async load(
    source: ModelSource,
    settings: LoadSettings,
    onProgress: ((event: LoadEvent) => void) | null,
  ): Promise<ModelInfo> {
    if (source.kind === 'url' || source.kind === 'hub') {
      // Ask for persistent storage before a big download (a Window API: here, not in the worker).
      const storage = (globalThis.navigator as { storage?: { persist?: () => Promise<boolean> } })
        .storage;
      await storage?.persist?.().catch(() => false);
    }
    const id = this.nextId++;
    const request: ModelRequest = { type: 'load', id, source, settings };
    return this.request<ModelInfo>(request, { onProgress: onProgress ?? undefined });
  }

  /** One question; `options` reach the model exactly as given (see bench questionOptions). */
  run(
    sample: Sample,
    visuals: ModelVisuals,
    options: QuestionOptions,
    hooks: ClientRunHooks,
  ): Promise<ModelAnswer> {
    const id = this.nextId++;
    const rest: Omit<ModelVisuals, 'previews'> = {
      clip: visuals.clip,
      still: visuals.still,
      stillFrom: visuals.stillFrom,
      ...(visuals.timings ? { timings: visuals.timings } : {}),
    };
    const buffers = hooks.transfer
      ? [...(rest.clip?.frames ?? []), rest.still].map((f) => f.buffer)
      : [];
    const unique = [...new Set(buffers)].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    if (hooks.signal?.aborted)
      return Promise.reject(new ModelError('cancelled', 'cancelled before start'));
    // With cross-origin isolation a shared flag reaches the worker at once, even mid-decoding.
    const cancelFlag = globalThis.crossOriginIsolated
      ? new Int32Array(new SharedArrayBuffer(4))
      : null;
    const cancel = () => {
      if (cancelFlag) Atomics.store(cancelFlag, 0, 1);
      this.worker.postMessage({ type: 'cancel', id } satisfies ModelRequest);
    };
    if (cancelFlag) this.flags.set(id, cancelFlag);
    hooks.signal?.addEventListener('abort', cancel, { once: true });
    const request: ModelRequest = { type: 'run', id, sample, visuals: rest, options, cancelFlag };
    return this.request<ModelAnswer>(request, { onToken: hooks.onToken ?? undefined }, unique);
  }

  /** Cancel every run in flight. */
  cancelAll(): void {
    for (const id of this.pending.keys()) {
      const flag = this.flags.get(id);
      if (flag) Atomics.store(flag, 0, 1);
      this.worker.postMessage({ type: 'cancel', id } satisfies ModelRequest);
    }
  }

  /** Tests only: destroy the worker's WebGPU device; the next run falls back to wasm. */
  loseDeviceForTesting(): Promise<boolean> {
    return this.request<boolean>({ type: 'lose-device', id: this.nextId++ });
  }

  async dispose(): Promise<void> {
    await this.request<unknown>({ type: 'dispose', id: this.nextId++ });
  }

  terminate(): void {
    this.worker.terminate();
    const err = new ModelError('cancelled', 'model worker terminated');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
