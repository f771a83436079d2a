/**
 * The decoder's weights in GPU buffers of the engine's own, fed to both decoder sessions.
 *
 * onnxruntime uploads each session's initializers into buffers of that session, so the prefill and
 * the captured decode session each held the decoder's weights (0.97 GB twice for the 2B q4:
 * bench/gpu-h200-vision-whole.json `memory_ab`). The folder's feed graphs (scripts/export/fast/feed.py) take those
 * weights as inputs instead; the manifest says where each one's bytes lie, and this uploads each
 * once. The buffers are the same every run, as a captured session needs.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { assert } from '../../bench/index';
import { ModelError } from '../types';
import { storage, type GpuBuffer, type GpuDevice } from './gpu';
import type { FeedWeight } from './manifest';

const TYPES = { float: 'float32', uint8: 'uint8' } as const;

export class FeedWeights {
  /** Input name -> the tensor over its buffer. */
  readonly tensors: Readonly<Record<string, ort.Tensor>>;
  readonly bytes: number;
  private readonly buffers: GpuBuffer[];

  private constructor(tensors: Record<string, ort.Tensor>, buffers: GpuBuffer[], bytes: number) {
    this.tensors = tensors;
    this.buffers = buffers;
    this.bytes = bytes;
  }

  /** Read each weight's file once and upload every weight (identical byte ranges share a buffer). */
  static async upload(
    device: GpuDevice,
    weights: readonly FeedWeight[],
    read: (file: string) => Promise<Uint8Array>,
    label: string,
  ): Promise<FeedWeights> {
    const files = new Map<string, Uint8Array>();
    for (const file of new Set(weights.map((w) => w.file))) files.set(file, await read(file));
    const tensors: Record<string, ort.Tensor> = {};
    const byRange = new Map<string, GpuBuffer>();
    const buffers: GpuBuffer[] = [];
    let bytes = 0;
    try {
      for (const w of weights) {
        const data = files.get(w.file);
        assert(data, `${label}: ${w.file} was not read`);
        const count = w.dims.reduce((a, b) => a * b, 1);
        const width = w.type === 'float' ? 4 : 1;
        if (w.offset + w.length > data.length || count * width !== w.length) {
          throw new ModelError(
            'bad-config',
            `${label}: ${w.file} does not hold weight ${w.name} (${w.length} bytes at ${w.offset}, ${w.dims.join('x')} ${w.type}; the file has ${data.length})`,
            { file: w.file },
          );
        }
        const key = `${w.file}:${w.offset}:${w.length}`;
        let buffer = byRange.get(key);
        if (!buffer) {
          buffer = storage(device, w.length, `weight ${w.name}`);
          buffers.push(buffer);
          byRange.set(key, buffer);
          bytes += buffer.size;
          // writeBuffer takes whole 4-byte words: a ragged tail goes through a padded copy.
          const view = data.subarray(w.offset, w.offset + w.length);
          const words = w.length % 4 === 0 ? view : padded(view);
          device.queue.writeBuffer(buffer, 0, words);
        }
        tensors[w.name] = ort.Tensor.fromGpuBuffer(buffer, {
          dataType: TYPES[w.type],
          dims: w.dims,
        });
      }
    } catch (e) {
      for (const b of buffers) b.destroy();
      throw e;
    }
    return new FeedWeights(tensors, buffers, bytes);
  }

  /** The weights a session takes (by its input names). */
  feedsOf(inputNames: readonly string[]): Record<string, ort.Tensor> {
    const out: Record<string, ort.Tensor> = {};
    for (const name of inputNames) {
      const t = this.tensors[name];
      if (t) out[name] = t;
    }
    return out;
  }

  /** Every buffer, for the capture's pin (capture.ts). */
  get gpuBuffers(): readonly GpuBuffer[] {
    return this.buffers;
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
  }
}

function padded(view: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(view.length / 4) * 4);
  out.set(view);
  return out;
}
