/**
 * The vision graph's patch rows built on the GPU from the frames' bytes: the same float32 values, in
 * the same layout, as ../pixels.ts `patchify` (a 256-entry table per channel, computed there, is all
 * the arithmetic), so the vision run's input is bitwise the CPU one. The CPU path spent 18-36 ms of a
 * 16-frame question's time to first token on the H200 hosts writing 13.7 MB of floats, which
 * onnxruntime then copied into its heap and uploaded; this uploads the 3.2 MB of bytes and one
 * dispatch per visual writes the rows where the vision run reads them.
 */
import {
  MERGE_SIZE,
  PATCH_SIZE,
  QWEN2VL_MEAN,
  QWEN2VL_STD,
  TEMPORAL_PATCH,
  checkFrames,
  frameBytes,
  patchGrid,
  patchTables,
  patchify,
  type Grid,
} from '../pixels';
import { USAGE, download, storage, type GpuBuffer, type GpuDevice } from './gpu';

/** One visual: its frames (CHW, 0..255) at height x width. */
export interface FrameVisual {
  frames: readonly Float32Array[];
  height: number;
  width: number;
}

/** The patch rows of a question's visuals on the GPU, slice after slice, as one [slices, h*w, row] input. */
export interface GpuPatches {
  buffer: GpuBuffer;
  slices: number;
  /** Patch rows per temporal slice (h * w). */
  per: number;
  rowLength: number;
  grids: Grid[];
}

const WORKGROUP = 256;
/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension. */
const MAX_GROUPS = 65535;
const PARAMS = 12; // u32 fields of the uniform below

const SHADER = `struct Params {
  byte_base: u32, frames: u32, height: u32, width: u32,
  gh: u32, gw: u32, out_base: u32, count: u32,
  groups_x: u32, pad0: u32, pad1: u32, pad2: u32,
}
@group(0) @binding(0) var<storage, read> bytes: array<u32>;
@group(0) @binding(1) var<storage, read> tables: array<f32>;
@group(0) @binding(2) var<storage, read_write> rows: array<f32>;
@group(0) @binding(3) var<uniform> u: Params;
const P: u32 = ${PATCH_SIZE}u;
const M: u32 = ${MERGE_SIZE}u;
const TP: u32 = ${TEMPORAL_PATCH}u;
const ROW: u32 = 3u * TP * P * P;
@compute @workgroup_size(${WORKGROUP}) fn main(@builtin(workgroup_id) g: vec3<u32>, @builtin(local_invocation_index) l: u32) {
  let o = (g.y * u.groups_x + g.x) * ${WORKGROUP}u + l;
  if (o >= u.count) { return; }
  // patchify's layout: row (t, merge block, position in the block), then channel, temporal patch,
  // pixel row, pixel column.
  let row = o / ROW;
  let r = o % ROW;
  let c = r / (TP * P * P);
  let k = (r / (P * P)) % TP;
  let py = (r / P) % P;
  let px = r % P;
  let t = row / (u.gh * u.gw);
  let rr = row % (u.gh * u.gw);
  let ix = rr % M;
  let iy = (rr / M) % M;
  let q = rr / (M * M);
  let gwm = u.gw / M;
  let y = ((q / gwm) * M + iy) * P + py;
  let x = ((q % gwm) * M + ix) * P + px;
  // A frame count that is not a multiple of the temporal patch repeats the last frame.
  let n = min(t * TP + k, u.frames - 1u);
  let plane = u.height * u.width;
  let b = u.byte_base + n * 3u * plane + c * plane + y * u.width + x;
  let v = (bytes[b / 4u] >> ((b % 4u) * 8u)) & 255u;
  rows[u.out_base + o] = tables[c * 256u + v];
}`;

/** GPUDevice's error scopes (not in the worker's TypeScript lib), where the device has them. */
interface ErrorScopes {
  pushErrorScope(filter: 'validation'): void;
  popErrorScope(): Promise<{ message?: string } | null>;
}
function errorScopes(device: GpuDevice): ErrorScopes | null {
  const d = device as unknown as Partial<ErrorScopes>;
  return typeof d.pushErrorScope === 'function' && typeof d.popErrorScope === 'function'
    ? (d as ErrorScopes)
    : null;
}

export class PatchBuilder {
  private readonly device: GpuDevice;
  private readonly pipeline: { getBindGroupLayout(i: number): unknown };
  private tables: GpuBuffer | null = null;
  private tableKey = '';
  private bytes: GpuBuffer | null = null;
  /** Output buffers by byte size: a benchmark's questions come in a few shapes. */
  private readonly outputs = new Map<number, GpuBuffer>();
  private readonly params: GpuBuffer[] = [];

  constructor(device: GpuDevice) {
    this.device = device;
    const module = device.createShaderModule({ label: 'patch rows', code: SHADER });
    this.pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: 'patch rows',
    });
  }

  /**
   * Queue the patch rows of `visuals` (in order) on the GPU; null when a frame holds a value other
   * than a whole number 0..255 (then only the CPU's formula gives patchify's floats).
   */
  build(visuals: readonly FrameVisual[], tables: Float32Array): GpuPatches | null {
    // Each visual's bytes at a 4-byte boundary (the shader reads words).
    const parts: { base: number; grid: Grid; v: FrameVisual }[] = [];
    let rowLength = 0;
    let total = 0;
    for (const v of visuals) {
      checkFrames(v.frames, v.height, v.width, 'patch rows');
      const g = patchGrid(v.frames.length, v.height, v.width);
      parts.push({ base: total, grid: g.grid, v });
      rowLength = g.rowLength;
      total += Math.ceil((v.frames.length * 3 * v.height * v.width) / 4) * 4;
    }
    const all = new Uint8Array(total);
    for (const p of parts) if (!frameBytes(p.v.frames, all, p.base)) return null;
    const first = parts[0];
    if (!first) throw new Error('PatchBuilder: no visuals');
    const [, h, w] = first.grid;
    if (parts.some((p) => p.grid[1] !== h || p.grid[2] !== w))
      throw new Error('PatchBuilder: every visual must have the same size');
    const d = this.device;
    const tableBuf = (this.tables ??= storage(d, tables.byteLength, 'patch tables'));
    const key = Array.from(tables).join(',');
    if (key !== this.tableKey) {
      d.queue.writeBuffer(tableBuf, 0, tables);
      this.tableKey = key;
    }
    let byteBuf = this.bytes;
    if (!byteBuf || byteBuf.size < total) {
      byteBuf?.destroy(); // freed once the work already queued on it is done
      byteBuf = storage(d, total, 'frame bytes');
      this.bytes = byteBuf;
    }
    d.queue.writeBuffer(byteBuf, 0, all);
    const slices = parts.reduce((n, p) => n + p.grid[0], 0);
    const per = h * w;
    const outBytes = slices * per * rowLength * 4;
    let out = this.outputs.get(outBytes);
    if (!out) {
      out = storage(d, outBytes, `patch rows ${slices}x${per}`);
      this.outputs.set(outBytes, out);
    }
    const enc = d.createCommandEncoder();
    let outBase = 0;
    parts.forEach((p, i) => {
      const count = p.grid[0] * per * rowLength;
      const groups = Math.ceil(count / WORKGROUP);
      const gx = Math.min(groups, MAX_GROUPS);
      const params = this.paramBuffer(i);
      d.queue.writeBuffer(
        params,
        0,
        Uint32Array.of(
          p.base,
          p.v.frames.length,
          p.v.height,
          p.v.width,
          h,
          w,
          outBase,
          count,
          gx,
          0,
          0,
          0,
        ),
      );
      const group = d.createBindGroup({
        layout: this.pipeline.getBindGroupLayout(0),
        entries: [byteBuf, tableBuf, out, params].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      });
      const pass = enc.beginComputePass();
      pass.setPipeline(this.pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(gx, Math.ceil(groups / gx));
      pass.end();
      outBase += count;
    });
    d.queue.submit([enc.finish()]);
    return { buffer: out, slices, per, rowLength, grids: parts.map((p) => p.grid) };
  }

  /**
   * Build a small clip's rows (3 frames, 56 x 56: a repeated last frame, 2 x 2 merge blocks) and
   * compare them with patchify's bit for bit, once per load: null when equal, else why not (the
   * engine then builds every question's rows on the CPU). A shader this adapter rejects would
   * otherwise feed the vision run zeros without an error.
   */
  async check(): Promise<string | null> {
    const side = 56;
    const frames = Array.from({ length: 3 }, (_, f) => {
      const a = new Float32Array(3 * side * side);
      for (let i = 0; i < a.length; i++) a[i] = (f * 7 + i * 13) % 256;
      return a;
    });
    const stats = { mean: QWEN2VL_MEAN, std: QWEN2VL_STD };
    const want = patchify(frames, side, side, stats).data;
    const scopes = errorScopes(this.device);
    scopes?.pushErrorScope('validation');
    let got: Float32Array | null = null;
    let failed = '';
    try {
      const staged = this.build([{ frames, height: side, width: side }], patchTables(stats));
      if (staged)
        got = new Float32Array(await download(this.device, staged.buffer, want.byteLength));
    } catch (e) {
      failed = e instanceof Error ? e.message : String(e);
    }
    const error = (await scopes?.popErrorScope()) ?? null;
    if (error) return `GPU patch rows rejected by WebGPU: ${error.message ?? 'validation error'}`;
    if (failed) return `GPU patch rows failed: ${failed}`;
    if (!got) return 'GPU patch rows: the check frames were refused';
    const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
    const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
    const bad = a.findIndex((x, i) => x !== b[i]);
    return bad < 0 ? null : `GPU patch rows differ from the CPU's at value ${bad} of ${a.length}`;
  }

  private paramBuffer(i: number): GpuBuffer {
    let b = this.params[i];
    if (!b) {
      b = this.device.createBuffer({
        size: PARAMS * 4,
        usage: USAGE.UNIFORM | USAGE.COPY_DST,
        label: `patch rows params ${i}`,
      });
      this.params[i] = b;
    }
    return b;
  }

  destroy(): void {
    this.tables?.destroy();
    this.bytes?.destroy();
    for (const b of this.outputs.values()) b.destroy();
    for (const b of this.params) b.destroy();
  }
}
