// Messages between the UI thread and the video worker (src/worker/video.worker.ts).
import type { PreparedVisuals, PrepareInput, PrepareOptions, VideoErrorData } from '../video/index';

export interface VideoPrepareRequest {
  type: 'prepare';
  id: number;
  /** Blobs and Files are cloned by reference (no copy of the bytes). */
  input: PrepareInput;
  options?: PrepareOptions;
}

export type VideoRequest = VideoPrepareRequest;

export interface VideoPrepareResult {
  type: 'result';
  id: number;
  /** The frames' buffers are transferred, not copied. */
  visuals: PreparedVisuals;
}

export interface VideoPrepareError {
  type: 'error';
  id: number;
  /** A VideoError's fields, or code 'internal' for anything unexpected. */
  error: VideoErrorData | { code: 'internal'; file: string; message: string };
}

export type VideoResponse = VideoPrepareResult | VideoPrepareError;

/** The buffers to transfer with a result: every frame's, once. */
export function visualsTransferables(v: PreparedVisuals): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const f of [...(v.clip?.frames ?? []), v.still]) {
    if (f.buffer instanceof ArrayBuffer) buffers.add(f.buffer);
  }
  return [...buffers];
}
