/**
 * Where a decode step's time goes (benchmarks only; LoadOptions.profile): every WebGPU call the worker
 * makes is counted (dispatches, submits, buffer writes, readbacks, allocations, bind groups), the CPU
 * time inside session.run and the readback latency are timed per step, and one step's dispatches get
 * GPU timestamps (the timestamp-query-inside-passes feature; Chromium with
 * --enable-webgpu-developer-features). The wrappers patch the WebGPU prototypes of this realm
 * (the model worker), so they see onnxruntime's own calls, captured-graph replays included.
 */
import type { GpuDevice } from './gpu';

export const COUNTED = [
  'dispatch',
  'dispatchIndirect',
  'submit',
  'writeBuffer',
  'mapAsync',
  'createBuffer',
  'createBindGroup',
  'copyBufferToBuffer',
  'beginComputePass',
] as const;
export type Counted = (typeof COUNTED)[number];
export type Counts = Record<Counted, number>;

export interface DecodeProfile {
  steps: number;
  /** Per decode step, averaged. */
  counts: Counts;
  /** The question's prefill run (null on wasm or when no prefill ran since the last profile). */
  prefill: Counts | null;
  runCpuMs: number;
  readbackMs: number;
  /** One step with GPU timestamps (null when the device lacks the feature). */
  gpu: GpuTiming | null;
  /** The question's prefill run with GPU timestamps (null: no timestamps, or no prefill since). */
  prefillGpu: GpuTiming | null;
  /** The question's vision run (fast vision graph) with GPU timestamps, likewise. */
  visionGpu: GpuTiming | null;
  note: string;
}

export interface GpuTiming {
  dispatches: number;
  /** Sum of the dispatches' GPU durations. */
  busyUs: number;
  /** First dispatch start to last dispatch end. */
  spanUs: number;
  /** Every dispatch's duration in order (µs, 0.1 µs precision). */
  dispatchUs: number[];
}

/** What gets GPU timestamps: one decode step, the prefill and the vision run (each its part of the set). */
export type TimedRun = 'step' | 'prefill' | 'vision';

interface Proto {
  [k: string]: unknown;
}

function globalProto(name: string): Proto | null {
  const ctor = (globalThis as Record<string, unknown>)[name] as { prototype?: Proto } | undefined;
  return ctor?.prototype ?? null;
}

const QUERY_CAPACITY = 4096; // WebGPU's largest query set: one per timed run, two slots a dispatch
// The 2B's vision run is ~1,100 dispatches with its heads and MLP columns in groups
// (scripts/export/fast/vision.py), its prefill ~450, a captured decode step ~490 (its attention in
// standard ops: scripts/export/fast/step_attention.py; ~250 uncaptured); a run past 2,048 dispatches
// is timed up to there only.

export class Profiler {
  counts: Counts = Object.fromEntries(COUNTED.map((k) => [k, 0])) as Counts;
  private timing: TimedRun | null = null;
  private n: Record<TimedRun, number> = { vision: 0, prefill: 0, step: 0 };
  private querySets: Partial<Record<TimedRun, { destroy(): void }>> = {};
  private resolveBufs: Partial<Record<TimedRun, { destroy(): void }>> = {};
  readonly device: GpuDevice;
  readonly timestamps: boolean;

  constructor(device: GpuDevice) {
    this.device = device;
    const features = (device as unknown as { features?: ReadonlySet<string> }).features;
    this.timestamps = !!features?.has('chromium-experimental-timestamp-query-inside-passes');
    this.install();
  }

  private install(): void {
    // The wrappers need both `this` values: the profiler's (closed over) and the GPU object's.
    const counts = this.counts;
    const state = (): Profiler => this;
    const count = (proto: Proto | null, method: string, key: Counted) => {
      const f = proto?.[method];
      if (!proto || typeof f !== 'function') return;
      proto[method] = function (this: unknown, ...args: unknown[]) {
        counts[key]++;
        return (f as (...a: unknown[]) => unknown).apply(this, args);
      };
    };
    // Direct and indirect dispatches, each timed when a run is (onnxruntime's captured attention
    // dispatches indirectly).
    const pass = globalProto('GPUComputePassEncoder');
    const timed = (method: string, key: Counted) => {
      const dispatch = pass?.[method];
      if (!pass || typeof dispatch !== 'function') return;
      pass[method] = function (this: Proto, ...args: unknown[]) {
        const self = state();
        self.counts[key]++;
        const write = this['writeTimestamp'] as ((q: unknown, i: number) => void) | undefined;
        const run = self.timing;
        const querySet = run ? self.querySets[run] : undefined;
        if (run && querySet && write && self.n[run] + 2 <= QUERY_CAPACITY) {
          const slot = self.n[run];
          write.call(this, querySet, slot);
          const r = (dispatch as (...a: unknown[]) => unknown).apply(this, args);
          write.call(this, querySet, slot + 1);
          self.n[run] += 2;
          return r;
        }
        return (dispatch as (...a: unknown[]) => unknown).apply(this, args);
      };
    };
    timed('dispatchWorkgroups', 'dispatch');
    timed('dispatchWorkgroupsIndirect', 'dispatchIndirect');
    count(globalProto('GPUQueue'), 'submit', 'submit');
    count(globalProto('GPUQueue'), 'writeBuffer', 'writeBuffer');
    count(globalProto('GPUBuffer'), 'mapAsync', 'mapAsync');
    count(globalProto('GPUDevice'), 'createBuffer', 'createBuffer');
    count(globalProto('GPUDevice'), 'createBindGroup', 'createBindGroup');
    count(globalProto('GPUCommandEncoder'), 'copyBufferToBuffer', 'copyBufferToBuffer');
    count(globalProto('GPUCommandEncoder'), 'beginComputePass', 'beginComputePass');
  }

  snapshot(): Counts {
    return { ...this.counts };
  }

  /** Time the dispatches issued until `pauseTiming` (one decode step, the prefill or the vision run). */
  startTiming(run: TimedRun = 'step'): void {
    if (!this.timestamps) return;
    const d = this.device as unknown as {
      createQuerySet(d: { type: 'timestamp'; count: number }): { destroy(): void };
    };
    this.querySets[run] ??= d.createQuerySet({ type: 'timestamp', count: QUERY_CAPACITY });
    this.resolveBufs[run] ??= this.device.createBuffer({
      size: QUERY_CAPACITY * 8,
      usage: 0x200 | 0x4,
    }) as unknown as {
      destroy(): void;
    };
    this.n[run] = 0;
    this.timing = run;
  }

  pauseTiming(): void {
    this.timing = null;
  }

  async stopTiming(run: TimedRun = 'step'): Promise<GpuTiming | null> {
    this.timing = null;
    const count = this.n[run];
    const querySet = this.querySets[run];
    const resolveBuf = this.resolveBufs[run];
    if (!this.timestamps || !querySet || !resolveBuf || count === 0) return null;
    const bytes = count * 8;
    const read = this.device.createBuffer({ size: bytes, usage: 0x1 | 0x8 });
    const enc = this.device.createCommandEncoder() as unknown as {
      resolveQuerySet(q: unknown, first: number, count: number, dst: unknown, offset: number): void;
      copyBufferToBuffer(a: unknown, b: number, c: unknown, d: number, e: number): void;
      finish(): unknown;
    };
    enc.resolveQuerySet(querySet, 0, count, resolveBuf, 0);
    enc.copyBufferToBuffer(resolveBuf, 0, read, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    await read.mapAsync(1);
    const t = new BigInt64Array(read.getMappedRange().slice(0));
    read.destroy();
    this.n[run] = 0;
    const dispatchUs: number[] = [];
    for (let i = 0; i < count; i += 2) {
      dispatchUs.push(Math.round(Number((t[i + 1] as bigint) - (t[i] as bigint)) / 100) / 10);
    }
    const first = t[0] as bigint;
    const last = t[count - 1] as bigint;
    return {
      dispatches: dispatchUs.length,
      busyUs: Math.round(dispatchUs.reduce((a, b) => a + b, 0)),
      spanUs: Math.round(Number(last - first) / 1000),
      dispatchUs,
    };
  }
}

/** All counts 0 (wasm: no WebGPU calls). */
export function noCounts(): Counts {
  return Object.fromEntries(COUNTED.map((k) => [k, 0])) as Counts;
}

export function perStep(before: Counts, after: Counts, steps: number): Counts {
  return Object.fromEntries(
    COUNTED.map((k) => [k, steps > 0 ? Math.round(((after[k] - before[k]) / steps) * 10) / 10 : 0]),
  ) as Counts;
}
