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

export interface GpuComputePass {
  setPipeline(p: unknown): void;
  setBindGroup(index: number, group: unknown): void;
  dispatchWorkgroups(x: number, y?: number): void;
  end(): void;
}

export interface GpuCommandEncoder {
  beginComputePass(): GpuComputePass;
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
  createShaderModule(d: { code: string; label?: string }): unknown;
  createComputePipeline(d: {
    layout: 'auto';
    compute: { module: unknown; entryPoint: string };
    label?: string;
  }): { getBindGroupLayout(i: number): unknown };
  createBindGroup(d: {
    layout: unknown;
    entries: { binding: number; resource: { buffer: GpuBuffer } }[];
  }): unknown;
  readonly lost: Promise<{ reason?: string; message?: string }>;
}

/** GPUBufferUsage and GPUMapMode values (fixed by the WebGPU spec). */
export const USAGE = {
  MAP_READ: 0x1,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;
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

/**
 * A compute shader (entry point `main`) bound to `buffers` as bindings 0.. of group 0, as an
 * encoder step that runs one workgroup of it in its own pass.
 */
function oneWorkgroup(device: GpuDevice, label: string, buffers: GpuBuffer[], code: string) {
  const module = device.createShaderModule({ label, code });
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module, entryPoint: 'main' },
    label,
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  return (enc: GpuCommandEncoder): void => {
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(1);
    pass.end();
  };
}

/**
 * `seen[ids[0]] = 1`: adds a decode step's input id to the repetition-penalty mask on the GPU, after
 * the step ran (the id came from the previous step's output and is not known on the CPU yet). With
 * it no step waits for a readback to update the mask, so steps can be queued further ahead.
 * onnxruntime offers no op for this that a captured graph replays (ScatterND's copy does not replay).
 */
export function seenMarker(device: GpuDevice, ids: GpuBuffer, seen: GpuBuffer) {
  return oneWorkgroup(
    device,
    'seen marker',
    [ids, seen],
    `@group(0) @binding(0) var<storage, read> ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> seen: array<f32>;
@compute @workgroup_size(1) fn main() {
  let id = ids[0];
  if (id >= 0 && u32(id) < arrayLength(&seen)) { seen[u32(id)] = 1.0; }
}`,
  );
}

/**
 * The next greedy id after a step graph's run (manifest `step`: logits only), in one dispatch: the
 * repetition penalty over `seen` and the step's input id `ids[0]` (divide positive logits, multiply
 * negative ones, as the full graph and transformers do), the first index of the largest value (as
 * ArgMax and the full graph's two-level reduction give it), then `next[0]` and `ids[0]` = that id
 * and `seen[input] = 1`. One workgroup: 256 strided partial maxima, then a tree over them keeping
 * the lower index on ties. Exact: the same float32 operations on each logit as the graph's, and
 * max / first index do not depend on the order.
 */
export function pickNext(
  device: GpuDevice,
  b: { logits: GpuBuffer; seen: GpuBuffer; ids: GpuBuffer; next: GpuBuffer },
  penalty: number,
) {
  const buffers = [b.logits, b.seen, b.ids, b.next];
  return oneWorkgroup(
    device,
    'pick next id',
    buffers,
    `@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> seen: array<f32>;
@group(0) @binding(2) var<storage, read_write> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> next: array<i32>;
const PENALTY: f32 = ${Math.fround(penalty)};
const W: u32 = 256u;
var<workgroup> best: array<f32, W>;
var<workgroup> at: array<u32, W>;
@compute @workgroup_size(W) fn main(@builtin(local_invocation_index) t: u32) {
  let input = ids[0];
  let n = arrayLength(&logits);
  var v = -3.4028234663852886e38;
  var k = 0xffffffffu;
  for (var i = t; i < n; i += W) {
    var x = logits[i];
    if (seen[i] > 0.0 || i32(i) == input) { x = select(x / PENALTY, x * PENALTY, x < 0.0); }
    if (x > v || k == 0xffffffffu) { v = x; k = i; }
  }
  best[t] = v;
  at[t] = k;
  workgroupBarrier();
  for (var s = W / 2u; s > 0u; s /= 2u) {
    if (t < s) {
      let ov = best[t + s];
      let ok = at[t + s];
      if (ov > best[t] || (ov == best[t] && ok < at[t])) { best[t] = ov; at[t] = ok; }
    }
    workgroupBarrier();
  }
  if (t == 0u) {
    let id = i32(at[0]);
    next[0] = id;
    ids[0] = id;
    if (input >= 0 && u32(input) < n) { seen[u32(input)] = 1.0; }
  }
}`,
  );
}
