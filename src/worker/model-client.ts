// Promise-based client of the model worker, used on the UI thread: load, run with streaming,
// cancel, dispose; load progress and device fallbacks arrive as callbacks.
import type { QuestionWording, Sample } from '../bench/index';
import {
  ModelError,
  type DeviceRequest,
  type LoadEvent,
  type LoadOptions,
  type ModelDtype,
  type ModelSource,
  type ModelVisuals,
  type QuestionResult,
  type ScoringOptions,
} from '../model/index';
import type { ModelInfo, ModelRequest, ModelResponse } from './model-protocol';

export interface ClientLoadOptions {
  dtype: ModelDtype;
  graphDtypes?: LoadOptions['graphDtypes'];
  device: DeviceRequest;
  numThreads?: number;
  cache?: boolean;
  engine?: LoadOptions['engine'];
  kvCapacity?: number;
  graphCapture?: boolean;
  profile?: boolean;
  gpuSubgroups?: boolean;
  onProgress?: (event: LoadEvent) => void;
}

export interface ClientRunOptions {
  scoring: ScoringOptions;
  maxNewTokens?: number;
  topLogits?: number;
  logitsAt?: number[];
  checkLikelihood?: boolean;
  wording?: QuestionWording;
  onToken?: (textSoFar: string, tokenId: number) => void;
  signal?: AbortSignal;
  /** Transfer the frame buffers to the worker instead of copying them (default true). */
  transfer?: boolean;
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
  const rel = files.map(
    (f) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name,
  );
  const first = rel[0]?.split('/')[0] ?? 'model';
  const sameTop = rel.every((p) => p.includes('/') && p.split('/')[0] === first);
  return {
    kind: 'files',
    name: sameTop ? first : 'picked files',
    files: files.map((file, i) => ({
      path: sameTop ? (rel[i] as string).slice(first.length + 1) : (rel[i] as string),
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
      this.pending.set(req.id, { resolve: resolve as (v: unknown) => void, reject, ...extra });
      this.worker.postMessage(req, transfer);
    });
  }

  async load(source: ModelSource, options: ClientLoadOptions): Promise<ModelInfo> {
    if (source.kind === 'url' || source.kind === 'hub') {
      // Ask for persistent storage before a big download (a Window API: here, not in the worker).
      const storage = (globalThis.navigator as { storage?: { persist?: () => Promise<boolean> } })
        .storage;
      await storage?.persist?.().catch(() => false);
    }
    const id = this.nextId++;
    return this.request<ModelInfo>(
      {
        type: 'load',
        id,
        source,
        dtype: options.dtype,
        ...(options.graphDtypes ? { graphDtypes: options.graphDtypes } : {}),
        device: options.device,
        ...(options.numThreads !== undefined ? { numThreads: options.numThreads } : {}),
        ...(options.cache !== undefined ? { cache: options.cache } : {}),
        ...(options.engine ? { engine: options.engine } : {}),
        ...(options.kvCapacity !== undefined ? { kvCapacity: options.kvCapacity } : {}),
        ...(options.graphCapture !== undefined ? { graphCapture: options.graphCapture } : {}),
        ...(options.profile ? { profile: true } : {}),
        ...(options.gpuSubgroups === false ? { gpuSubgroups: false } : {}),
      },
      { onProgress: options.onProgress },
    );
  }

  run(sample: Sample, visuals: ModelVisuals, options: ClientRunOptions): Promise<QuestionResult> {
    const id = this.nextId++;
    const rest: Omit<ModelVisuals, 'previews'> = {
      clip: visuals.clip,
      still: visuals.still,
      stillFrom: visuals.stillFrom,
      ...(visuals.timings ? { timings: visuals.timings } : {}),
    };
    const buffers =
      options.transfer === false
        ? []
        : [...(rest.clip?.frames ?? []), rest.still].map((f) => f.buffer);
    const unique = [...new Set(buffers)].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
    if (options.signal?.aborted)
      return Promise.reject(new ModelError('cancelled', 'cancelled before start'));
    // With cross-origin isolation a shared flag reaches the worker at once, even mid-decoding.
    const flag =
      globalThis.crossOriginIsolated === true
        ? new Int32Array(new SharedArrayBuffer(4))
        : undefined;
    const cancel = () => {
      if (flag) Atomics.store(flag, 0, 1);
      this.worker.postMessage({ type: 'cancel', id } satisfies ModelRequest);
    };
    if (flag) this.flags.set(id, flag);
    options.signal?.addEventListener('abort', cancel, { once: true });
    return this.request<QuestionResult>(
      {
        type: 'run',
        id,
        sample,
        visuals: rest,
        scoring: options.scoring,
        ...(options.maxNewTokens !== undefined ? { maxNewTokens: options.maxNewTokens } : {}),
        ...(options.topLogits !== undefined ? { topLogits: options.topLogits } : {}),
        ...(options.logitsAt !== undefined ? { logitsAt: options.logitsAt } : {}),
        ...(options.checkLikelihood ? { checkLikelihood: true } : {}),
        ...(options.wording !== undefined ? { wording: options.wording } : {}),
        ...(flag ? { cancelFlag: flag } : {}),
      },
      { onToken: options.onToken },
      unique,
    );
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
