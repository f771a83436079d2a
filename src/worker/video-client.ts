// Promise-based client of the video worker, used on the UI thread.
import {
  needsVideoElementFallback,
  prepareVisualsWithVideoElement,
  videoErrorFromData,
  type PreparedVisuals,
  type PrepareInput,
  type PrepareOptions,
} from '../video/index';
import type { VideoRequest, VideoResponse } from './video-protocol';

interface Pending {
  resolve(v: PreparedVisuals): void;
  reject(e: Error): void;
}

export class VideoClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(worker?: Worker) {
    this.worker =
      worker ?? new Worker(new URL('./video.worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<VideoResponse>) => this.receive(e.data);
    this.worker.onerror = (e: ErrorEvent) => {
      const err = new Error(`video worker failed: ${e.message}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  private receive(msg: VideoResponse): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.type === 'result') {
      p.resolve(msg.visuals);
    } else if (msg.error.code === 'internal') {
      p.reject(new Error(`${msg.error.file}: ${msg.error.message}`));
    } else {
      p.reject(videoErrorFromData(msg.error));
    }
  }

  /**
   * Prepares one question's visuals in the worker (check `decoder` on the result: only
   * 'webcodecs' reproduces the reference pixels). Rejects with a VideoError (code, file) for bad
   * input; the caller records it against the question and goes on.
   */
  prepare(input: PrepareInput, options?: PrepareOptions): Promise<PreparedVisuals> {
    // Without WebCodecs the worker cannot decode: seek a <video> here instead (approximate
    // pixels, reported as decoder 'video-element').
    if (needsVideoElementFallback()) return prepareVisualsWithVideoElement(input, options);
    const id = this.nextId++;
    const req: VideoRequest = { type: 'prepare', id, input, ...(options ? { options } : {}) };
    return new Promise<PreparedVisuals>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(req);
    });
  }

  dispose(): void {
    this.worker.terminate();
    const err = new Error('the video worker was disposed before it answered');
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
