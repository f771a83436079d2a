/**
 * The few WebGPU calls the fast engine makes itself (buffers it owns, small copies, readbacks), typed
 * here because the worker's TypeScript lib has no WebGPU declarations.
 */

export interface GpuBuffer {
  readonly size: number;
  readonly mapState: 'unmapped' | 'pending' | 'mapped';
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
  getMappedRange(offset?: number, size?: number): ArrayBuffer;
  unmap(): void;
  destroy(): void;
}

export interface GpuCommandEncoder {
  copyBufferToBuffer(
    src: GpuBuffer,
    srcOffset: number,
    dst: GpuBuffer,
    dstOffset: number,
    size: number,
  ): void;
  finish(): unknown;
}

export interface GpuQueue {
  writeBuffer(buffer: GpuBuffer, offset: number, data: ArrayBufferView): void;
  submit(buffers: unknown[]): void;
  onSubmittedWorkDone(): Promise<void>;
}

export interface GpuDevice {
  readonly queue: GpuQueue;
  createBuffer(d: {
    size: number;
    usage: number;
    mappedAtCreation?: boolean;
    label?: string;
  }): GpuBuffer;
  createCommandEncoder(): GpuCommandEncoder;
  readonly lost: Promise<{ reason?: string; message?: string }>;
}

/** GPUBufferUsage and GPUMapMode values (fixed by the WebGPU spec). */
export const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, STORAGE: 0x80 } as const;
export const MAP_READ = 0x1;

export function asGpuDevice(value: unknown): GpuDevice {
  const d = value as Partial<GpuDevice> | null;
  if (
    !d ||
    typeof d.createBuffer !== 'function' ||
    typeof d.createCommandEncoder !== 'function' ||
    !d.queue
  ) {
    throw new Error('onnxruntime-web returned no WebGPU device');
  }
  return d as GpuDevice;
}

/** A storage buffer the graphs read and write (sizes rounded up to 16 bytes, as WebGPU copies need). */
export function storage(device: GpuDevice, bytes: number, label: string): GpuBuffer {
  return device.createBuffer({
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
    label,
  });
}

export function readback(device: GpuDevice, bytes: number, label: string): GpuBuffer {
  return device.createBuffer({
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: USAGE.MAP_READ | USAGE.COPY_DST,
    label,
  });
}

/** Copy `bytes` of `src` to the CPU (one submit and one map). */
export async function download(
  device: GpuDevice,
  src: GpuBuffer,
  bytes: number,
): Promise<ArrayBuffer> {
  const dst = readback(device, bytes, 'download');
  try {
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(src, 0, dst, 0, Math.ceil(bytes / 4) * 4);
    device.queue.submit([enc.finish()]);
    await dst.mapAsync(MAP_READ);
    return dst.getMappedRange().slice(0, bytes);
  } finally {
    dst.destroy();
  }
}
