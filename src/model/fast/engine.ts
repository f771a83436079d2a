/**
 * The fast engine: Qwen2-VL and Qwen2.5-VL through the graphs of scripts/export/fast on onnxruntime-web
 * directly.
 *
 * - Vision: every temporal slice of a question (clip and still) in one session.run; or, where the
 *   manifest lists the model's reference vision graph (Qwen2.5-VL: no fast graph of its windowed
 *   tower exists; exact by construction, and vision is a small part of a question), that graph once
 *   per temporal slice as the reference engine runs it, its rows gathered under a zero row 0.
 * - Qwen2.5-VL's decoder is the same graph: only the M-RoPE positions that fill its tables differ
 *   (time-scaled for videos; ../rope.ts computes both families').
 * - Decoder: one session.run per step; the embedding lookup, the visual rows, M-RoPE (cos/sin tables
 *   by cache position, written once per question), the repetition penalty and the argmax all run in
 *   the graph; the KV cache is a fixed-capacity GPU buffer bound as both past and present.
 *   On WebGPU only the next token id (8 bytes) is read back per step; decoding is pipelined two deep
 *   (step k+1 is submitted before step k's id is read: its input id is copied GPU to GPU).
 * - Decode steps replay a captured command list (enableGraphCapture) in a second session when the
 *   runtime allows it (see capture.ts); else the prefill session decodes too.
 * - With a decode session, both decoder sessions run the folder's feed graphs (weights as inputs)
 *   on one copy of the weights that the engine uploads itself (weights.ts).
 * - wasm: the same graphs on onnxruntime's CPU kernels; the cache is passed from run to run.
 */
import * as ort from 'onnxruntime-web/webgpu';
import type { RopeIndex } from '../rope';
import { checkCancelled, type CancelCheck } from '../cancel';
import { temporalSlices, type Patches } from '../pixels';
import { ModelError } from '../types';
import { pinned } from './capture';
import { createFastDevice } from './device';
import { noCounts, perStep, Profiler, type Counts, type DecodeProfile } from './profile';
import {
  asGpuDevice,
  download,
  pickNext,
  readback,
  seenMarker,
  storage,
  MAP_READ,
  type GpuBuffer,
  type GpuCommandEncoder,
  type GpuDevice,
} from './gpu';
import {
  fastVisionOf,
  int8Unused,
  feedsWeights,
  sessionFileNames,
  sessionGraphs,
  type FastGraphFile,
  type FastManifest,
  type Int8Runs,
  type SessionGraphs,
} from './manifest';
import { PatchBuilder, type FrameVisual, type GpuPatches } from './patchify';
import { ropeTable, seenMask, visionTable, visualRows, type VisualRun } from './tables';
import { FeedWeights } from './weights';

type Session = ort.InferenceSession;
type Tensor = ort.Tensor;

export interface FastLoadOptions {
  device: 'webgpu' | 'wasm';
  dtype: string;
  manifest: FastManifest;
  /** Bytes of a file of the model folder (graphs and their external data). */
  read: (path: string) => Promise<Uint8Array>;
  /** KV positions allocated once (prompt + new tokens + 2 for the pipelined steps), rounded up to a
   * multiple of CACHE_ALIGN. */
  capacity: number;
  /** Replay decode steps from a captured command list (WebGPU; needs a second session). */
  capture: boolean;
  /** Count and time the decode steps' WebGPU work; on wasm, time their session.run (benchmarks; see profile.ts). */
  profile?: boolean;
  /** false: no `subgroups` on the device whatever the adapter (device.ts decides otherwise). */
  subgroups?: boolean;
  /**
   * WebGPU: what onnxruntime does with an intermediate's storage buffer once it is free (its
   * storageBufferCacheMode): 'bucket' keeps it for reuse by later runs, 'lazyRelease' destroys it at
   * the end of the run. Captured decode steps allocate nothing either way (their session has its own
   * graph buffers). Fixed per device at its first session: every session passes the same.
   */
  bufferCache?: 'bucket' | 'lazyRelease';
  /**
   * WebGPU: decode steps queued past the token the caller waits for (default 2). Each step's input
   * id and repetition mask are updated on the GPU, so only the caller's stop check needs the CPU; a
   * deeper queue hides the per-step CPU and IPC time behind the GPU's work, at the cost of up to this
   * many steps computed past a stop (their tokens are never returned).
   */
  ahead?: number;
  /** WebGPU: onnxruntime's maxNumPendingDispatches (undefined: its default). */
  pendingDispatches?: number;
  /** q4: which runs load the int8-activation graphs (manifest `a8`; sessionGraphs). */
  int8?: Int8Runs;
  /** Run on this WebGPU device instead of onnxruntime's own (the profiler needs its features). */
  gpuDevice?: unknown;
  /** The reference vision graph's grid input (Qwen2.5-VL's exports: image_grid_thw). */
  gridInput?: 'grid_thw' | 'image_grid_thw';
  /**
   * WebGPU with the fast vision graph: build the patch rows on the GPU from the frames' bytes
   * (patchify.ts: bitwise the CPU's rows); false: the caller's CPU patch rows (default true).
   */
  gpuPatches?: boolean;
  /**
   * Where the manifest has feed graphs, upload the decoder's weights once and feed them to both
   * decoder sessions (weights.ts; on WebGPU with capture: manifest.ts feedsWeights); else each
   * session holds its own copy.
   */
  shareWeights?: boolean;
  label: string;
}

export interface FastFeatures {
  /** [1 + rows, hidden]: row 0 is zeros. */
  tensor: Tensor;
  rows: number;
}

export interface FastStats {
  /** Whether decode steps replay a captured graph, and why not when they do not. */
  capture: boolean;
  captureNote: string;
  capacity: number;
  kvBytes: number;
  sessions: number;
}

const EXT_LOCATION = 'gpu-buffer' as const;
/**
 * KV capacities are rounded up to a multiple of this: the step graph sums its attention's context
 * over the cache in runs of 64 positions (scripts/export/fast/step_attention.py CHUNK).
 */
export const CACHE_ALIGN = 64;

/** The most decode steps FastLoadOptions.ahead may queue past the token asked for. */
export const MAX_AHEAD = 8;
/** The decode step that gets GPU timestamps when profiling (past the first ones: capture, warm-up). */
const PROFILED_STEP = 16;

function ep(o: FastLoadOptions): ort.InferenceSession.ExecutionProviderConfig {
  if (o.device === 'wasm') return 'wasm';
  // onnxruntime-web accepts a GPUDevice in the WebGPU EP options (not in its typings).
  const option: ort.InferenceSession.WebGpuExecutionProviderOption & {
    device?: unknown;
    maxNumPendingDispatches?: number;
  } = {
    name: 'webgpu',
  };
  if (o.gpuDevice) option.device = o.gpuDevice;
  // Read by onnxruntime only through scripts/vite-ort-ep-options.ts (not in its JS option list).
  if (o.pendingDispatches !== undefined) option.maxNumPendingDispatches = o.pendingDispatches;
  if (o.bufferCache) option.storageBufferCacheMode = o.bufferCache;
  return option;
}

async function createSession(
  o: FastLoadOptions,
  graph: FastGraphFile,
  extra: ort.InferenceSession.SessionOptions,
): Promise<Session> {
  const [model, ...data] = await Promise.all([
    o.read(graph.file),
    ...graph.data.map((d) => o.read(d.file)),
  ]);
  try {
    return await ort.InferenceSession.create(model, {
      executionProviders: [ep(o)],
      externalData: graph.data.map((d, i) => ({ path: d.path, data: data[i] as Uint8Array })),
      graphOptimizationLevel: 'all',
      ...extra,
    });
  } catch (e) {
    throw new ModelError(
      'runtime',
      `${o.label}: ${graph.file} on ${o.device}: ${(e as Error).message}`,
      {
        file: graph.file,
        cause: e,
      },
    );
  }
}

function i64(values: ArrayLike<number>, dims: number[]): Tensor {
  return new ort.Tensor(
    'int64',
    BigInt64Array.from(Array.from(values), (x) => BigInt(x)),
    dims,
  );
}
function i32(values: ArrayLike<number>, dims: number[]): Tensor {
  return new ort.Tensor('int32', Int32Array.from(values), dims);
}

/** WebGPU buffers the engine owns for the whole load: KV cache, tables, decode IO. */
interface GpuState {
  device: GpuDevice;
  kv: { key: Tensor; value: Tensor; keyBuf: GpuBuffer; valueBuf: GpuBuffer }[];
  cos: Tensor;
  sin: Tensor;
  seen: Tensor;
  bufs: Record<
    | 'cos'
    | 'sin'
    | 'seen'
    | 'ids'
    | 'rows'
    | 'vemb'
    | 'seq'
    | 'positions'
    | 'total'
    | 'lrows'
    | 'logits'
    | 'next',
    GpuBuffer
  >;
  /** Decode IO: the same tensors every step (a captured graph binds them once). */
  decodeFeeds: Record<string, Tensor>;
  decodeFetches: Record<string, Tensor>;
  /**
   * The step graph's IO (manifest `step`): the same tensors without `seen` and `next_token`, and
   * without the visual inputs where its graph has none (load keeps the session's inputs).
   */
  stepFeeds: Record<string, Tensor>;
  stepFetches: Record<string, Tensor>;
  staging: GpuBuffer[];
  /** Encodes seen[input id] = 1 (gpu.ts seenMarker). */
  markSeen: (enc: GpuCommandEncoder) => void;
  /** Encodes the penalty, argmax and bookkeeping after a step graph's run (gpu.ts pickNext). */
  pick: (enc: GpuCommandEncoder) => void;
}

export class FastModel {
  readonly manifest: FastManifest;
  readonly device: 'webgpu' | 'wasm';
  readonly capacity: number;
  private readonly vision: Session;
  private readonly gridInput: 'grid_thw' | 'image_grid_thw';
  private readonly dtype: string;
  private readonly prefillSession: Session;
  private readonly ahead: number;
  private decodeSession: Session | null = null;
  /** The decode session replays the step graph: the engine picks each next id (gpu.ts pickNext). */
  private decodePicks = false;
  private captureNote = '';
  private deviceNote = '';
  private gpu: GpuState | null = null;
  /** wasm: the cache tensors of the last run. */
  private cpuKv: Record<string, Tensor> = {};
  private cpuSeen: Float32Array | null = null;
  /** Positions of the cache holding this question's tokens. */
  private past = 0;
  /** Decode pipeline: readbacks of launched steps, oldest first; the last token known on the CPU. */
  private pending: Promise<number>[] = [];
  private launched = 0;
  private stagingSlot = 0;
  /** LoadOptions.profile: WebGPU call counts and timings of the decode steps. */
  private profiler: Profiler | null = null;
  private countsAtPrefill: Counts | null = null;
  private prefillCounts: Counts | null = null;
  private bufferNote = '';
  /** q4Int8 as asked, and why it did not apply (null: it did). */
  private int8: { asked: Int8Runs; unused: string | null } = { asked: 'off', unused: null };
  /** The graphs the sessions loaded, and whether a decode session was asked for (it loads one more). */
  private loaded: { graphs: SessionGraphs; capture: boolean } | null = null;
  private decodeSteps = 0;
  private profileStep = 0;
  private runCpuMs = 0;
  private readbackMs = 0;
  /** wasm with LoadOptions.profile: decode steps run and their session.run time. */
  private cpuProfile: { steps: number; runMs: number } | null = null;
  /** Builds the fast vision graph's patch rows on the GPU (WebGPU, FastLoadOptions.gpuPatches). */
  private patchBuilder: PatchBuilder | null = null;
  /** Where the last question's patch rows were made, as its record says. */
  private patchNote = '';
  /** The decoder weights fed to the prefill and decode sessions (feed graphs), or null. */
  private weights: FeedWeights | null = null;
  /** The prefill session's weight feeds ({} with initializer graphs). */
  private prefillWeights: Record<string, Tensor> = {};

  private constructor(o: FastLoadOptions, vision: Session, prefill: Session) {
    this.manifest = o.manifest;
    this.dtype = o.dtype;
    this.device = o.device;
    this.capacity = Math.ceil(o.capacity / CACHE_ALIGN) * CACHE_ALIGN;
    this.vision = vision;
    this.gridInput = o.gridInput ?? 'grid_thw';
    this.prefillSession = prefill;
    this.ahead = Math.min(MAX_AHEAD, Math.max(1, Math.round(o.ahead ?? 2)));
  }

  static async load(o: FastLoadOptions): Promise<FastModel> {
    const entry = o.manifest.graphs[o.dtype];
    if (!entry) throw new ModelError('missing-file', `${o.label}: ${o.dtype} has no fast graphs`);
    const t = o.manifest.text;
    const outs = ['logits', 'next_token'];
    for (let l = 0; l < t.layers; l++) outs.push(`present_key.${l}`, `present_value.${l}`);
    const gpuOut =
      o.device === 'webgpu'
        ? { preferredOutputLocation: Object.fromEntries(outs.map((n) => [n, EXT_LOCATION])) }
        : {};
    let deviceNote = '';
    if (o.device === 'webgpu' && !o.gpuDevice) {
      // Our own device for every session (see device.ts); onnxruntime's env points at it too, so
      // the device-lost watch and the tests' device reset find it.
      const made = await createFastDevice(o.subgroups !== false);
      o = { ...o, gpuDevice: made.device };
      deviceNote = made.note;
      (ort.env.webgpu as { device?: unknown }).device = made.device;
    }
    const asked = o.int8 ?? 'off';
    const features = (o.gpuDevice as { features?: ReadonlySet<string> } | undefined)?.features;
    const why = int8Unused(asked, entry.a8 !== undefined, o.device, features?.has('subgroups'));
    const files = sessionGraphs(
      entry,
      why === null ? asked : 'off',
      feedsWeights(o.device, o.capture, o.shareWeights === true),
    );
    // Uploaded before any session, so a failed load frees them below.
    const weights = files.weights
      ? await FeedWeights.upload(asGpuDevice(o.gpuDevice), files.weights, o.read, o.label)
      : null;
    // The reference vision graph's rows come back to the CPU (gathered there under the zero row).
    const fastVision = fastVisionOf(o.manifest, o.dtype) !== null;
    let vision: Session;
    try {
      vision = await createSession(
        o,
        files.vision,
        o.device === 'webgpu' && fastVision ? { preferredOutputLocation: EXT_LOCATION } : {},
      );
    } catch (e) {
      weights?.destroy();
      throw e;
    }
    let prefill: Session;
    try {
      prefill = await createSession(o, files.prefill, gpuOut);
    } catch (e) {
      await vision.release(); // the caller may load the reference graphs next: free this memory first
      weights?.destroy();
      throw e;
    }
    const m = new FastModel(o, vision, prefill);
    if (weights) {
      m.weights = weights;
      m.prefillWeights = weights.feedsOf(prefill.inputNames);
    }
    m.deviceNote = deviceNote;
    if (o.device === 'webgpu' && o.bufferCache) m.bufferNote = `storage buffers: ${o.bufferCache}`;
    if (o.device === 'webgpu' && o.pendingDispatches !== undefined)
      m.bufferNote += `${m.bufferNote ? ', ' : ''}up to ${o.pendingDispatches} dispatches per submit`;
    m.int8 = { asked, unused: why };
    m.loaded = { graphs: files, capture: o.capture };
    if (o.profile && o.device === 'webgpu') m.profiler = new Profiler(asGpuDevice(o.gpuDevice));
    if (o.profile && o.device === 'wasm') m.cpuProfile = { steps: 0, runMs: 0 };
    if (o.device === 'webgpu') {
      const g = m.allocate(asGpuDevice(o.gpuDevice));
      m.gpu = g;
      if (fastVision && o.gpuPatches !== false) {
        const builder = new PatchBuilder(g.device);
        const why = await builder.check();
        if (why === null) m.patchBuilder = builder;
        else {
          builder.destroy();
          m.deviceNote = [m.deviceNote, `patch rows on the CPU: ${why}`].filter(Boolean).join('; ');
        }
      }
      if (o.capture) {
        try {
          m.decodeSession = await createSession(o, files.decode, {
            ...gpuOut,
            enableGraphCapture: true,
          });
          m.decodePicks = files.decodePicks;
          // The step graph's inputs (step.py: no `seen`; no visual inputs in folders built since it
          // left the visual merge out): a captured session binds exactly its inputs.
          const inputs = new Set(m.decodeSession.inputNames);
          g.stepFeeds = Object.fromEntries(
            Object.entries({ ...g.stepFeeds, ...weights?.tensors }).filter(([name]) =>
              inputs.has(name),
            ),
          );
          m.captureNote = files.decodePicks
            ? 'decode steps replay a captured graph (logits only: one dispatch of the engine picks the next id)'
            : 'decode steps replay a captured graph';
        } catch (e) {
          m.captureNote = `graph capture unavailable: ${(e as Error).message}`;
        }
      } else m.captureNote = 'graph capture off';
    } else m.captureNote = 'wasm: no graph capture';
    return m;
  }

  /** The vision and (prefill) decoder sessions, for the interface check at load. */
  get sessions(): { decoder: Session; vision: Session } {
    return { decoder: this.prefillSession, vision: this.vision };
  }

  stats(): FastStats {
    const t = this.manifest.text;
    return {
      capture: this.decodeSession !== null,
      captureNote: [
        this.captureNote,
        this.deviceNote,
        this.bufferNote,
        this.int8Note(),
        this.weightsNote(),
      ]
        .filter(Boolean)
        .join('; '),
      capacity: this.capacity,
      kvBytes: t.layers * 2 * t.kv_heads * this.capacity * t.kv_head_dim * 4,
      sessions: this.decodeSession ? 3 : 2,
    };
  }

  /**
   * The int8 activations in effect: without a decode session (capture off, or lost at its first
   * run) the decode steps run on the prefill session's graph, so 'prefill' covers them too.
   */
  int8Runs(): Int8Runs {
    const i = this.int8;
    if (i.asked === 'off' || i.unused !== null) return 'off';
    return i.asked === 'prefill' && this.decodeSession === null ? 'all' : i.asked;
  }

  /** The graph files the vision and prefill sessions loaded. */
  get loadedGraphs(): { vision: FastGraphFile; prefill: FastGraphFile } {
    if (!this.loaded) throw new Error('FastModel: no graphs loaded');
    return { vision: this.loaded.graphs.vision, prefill: this.loaded.graphs.prefill };
  }

  /** The model folder's files the sessions read: graphs, their external data, fed weights. */
  graphFiles(): string[] {
    if (!this.loaded) throw new Error('FastModel: no graphs loaded');
    return sessionFileNames(this.loaded.graphs, this.device, this.loaded.capture);
  }

  private weightsNote(): string {
    if (this.weights) {
      const mb = Math.round(this.weights.bytes / 1e6);
      return this.decodeSession
        ? `decoder weights: one copy (${mb} MB) fed to the prefill and decode sessions`
        : `decoder weights: fed from one copy (${mb} MB)`;
    }
    return this.decodeSession ? 'decoder weights: a copy in each decoder session' : '';
  }

  private int8Note(): string {
    const i = this.int8;
    if (i.asked === 'off') return '';
    if (i.unused !== null) return `int8 activations (${i.asked}) not used: ${i.unused}`;
    return this.int8Runs() === 'all'
      ? 'int8 activations: every run (DP4A kernels)'
      : 'int8 activations: vision and prefill, decode steps exact (DP4A kernels)';
  }

  /** onnxruntime's WebGPU device (null on wasm), for the profiler. */
  gpuDevice(): GpuDevice | null {
    return this.gpu?.device ?? null;
  }

  private allocate(device: GpuDevice): GpuState {
    const t = this.manifest.text;
    const C = this.capacity;
    const D = t.kv_head_dim;
    const kvBytes = t.kv_heads * C * D * 4;
    const gt = (b: GpuBuffer, type: 'float32' | 'int32' | 'int64', dims: number[]) =>
      ort.Tensor.fromGpuBuffer(b, { dataType: type, dims });
    const kv = Array.from({ length: t.layers }, (_, l) => {
      const keyBuf = storage(device, kvBytes, `past_key.${l}`);
      const valueBuf = storage(device, kvBytes, `past_value.${l}`);
      return {
        keyBuf,
        valueBuf,
        key: gt(keyBuf, 'float32', [1, t.kv_heads, C, D]),
        value: gt(valueBuf, 'float32', [1, t.kv_heads, C, D]),
      };
    });
    const bufs = {
      cos: storage(device, C * (D / 2) * 4, 'cos_cache'),
      sin: storage(device, C * (D / 2) * 4, 'sin_cache'),
      seen: storage(device, t.vocab * 4, 'seen'),
      ids: storage(device, 8, 'input_ids'),
      rows: storage(device, 4, 'visual_rows'),
      vemb: storage(device, t.hidden * 4, 'visual_embeds'),
      seq: storage(device, 4, 'seqlens_k'),
      total: storage(device, 4, 'total_sequence_length'),
      lrows: storage(device, 8, 'logit_rows'),
      logits: storage(device, t.vocab * 4, 'logits'),
      next: storage(device, 8, 'next_token'),
      positions: storage(device, C * 4, 'cache_positions'),
    };
    const cos = gt(bufs.cos, 'float32', [C, D / 2]);
    const sin = gt(bufs.sin, 'float32', [C, D / 2]);
    const seen = gt(bufs.seen, 'float32', [t.vocab]);
    const decodeFeeds: Record<string, Tensor> = {
      input_ids: gt(bufs.ids, 'int32', [1, 1]),
      visual_rows: gt(bufs.rows, 'int32', [1, 1]),
      visual_embeds: gt(bufs.vemb, 'float32', [1, t.hidden]),
      seqlens_k: gt(bufs.seq, 'int32', [1]),
      total_sequence_length: gt(bufs.total, 'int32', []),
      cos_cache: cos,
      sin_cache: sin,
      logit_rows: gt(bufs.lrows, 'int64', [1]),
      seen,
    };
    const decodeFetches: Record<string, Tensor> = {
      logits: gt(bufs.logits, 'float32', [1, t.vocab]),
      next_token: gt(bufs.next, 'int32', [1, 1]),
    };
    kv.forEach((c, l) => {
      decodeFeeds[`past_key.${l}`] = c.key;
      decodeFeeds[`past_value.${l}`] = c.value;
      decodeFetches[`present_key.${l}`] = c.key;
      decodeFetches[`present_value.${l}`] = c.value;
    });
    // One per step in flight (up to MAX_AHEAD) and one being read.
    const staging = Array.from({ length: MAX_AHEAD + 2 }, (_, i) =>
      readback(device, 8, `next_token readback ${i}`),
    );
    const markSeen = seenMarker(device, bufs.ids, bufs.seen);
    const pick = pickNext(device, bufs, this.manifest.repetition_penalty);
    const without = (io: Record<string, Tensor>, name: string) =>
      Object.fromEntries(Object.entries(io).filter(([k]) => k !== name));
    // The full graph's decode runs (prefill session, or an a8 decode session: the same inputs).
    Object.assign(decodeFeeds, this.prefillWeights);
    const stepFeeds = without(decodeFeeds, 'seen');
    // The step graph's attention masks the cache by position (scripts/export/fast/step_attention.py):
    // 0..C-1, written once. Bound only where the step graph has the input (the session's filter).
    device.queue.writeBuffer(
      bufs.positions,
      0,
      Int32Array.from({ length: C }, (_, i) => i),
    );
    stepFeeds['cache_positions'] = gt(bufs.positions, 'int32', [C]);
    const stepFetches = without(decodeFetches, 'next_token');
    return {
      device,
      kv,
      cos,
      sin,
      seen,
      bufs,
      decodeFeeds,
      decodeFetches,
      stepFeeds,
      stepFetches,
      staging,
      markSeen,
      pick,
    };
  }

  private kvFeeds(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    const t = this.manifest.text;
    for (let l = 0; l < t.layers; l++) {
      if (this.gpu) {
        const c = this.gpu.kv[l] as GpuState['kv'][number];
        out[`past_key.${l}`] = c.key;
        out[`past_value.${l}`] = c.value;
      } else {
        const empty = () =>
          new ort.Tensor('float32', new Float32Array(t.kv_heads * this.capacity * t.kv_head_dim), [
            1,
            t.kv_heads,
            this.capacity,
            t.kv_head_dim,
          ]);
        out[`past_key.${l}`] = this.cpuKv[`present_key.${l}`] ?? empty();
        out[`past_value.${l}`] = this.cpuKv[`present_value.${l}`] ?? empty();
      }
    }
    return out;
  }

  private keepCpuKv(out: Record<string, Tensor>): void {
    for (const [name, tensor] of Object.entries(out))
      if (name.startsWith('present_')) this.cpuKv[name] = tensor;
  }

  /**
   * Queue the patch rows of a question's visuals (in prompt order) on the GPU for `encode`, from the
   * frames' bytes with patchify's tables (`tables`: ../pixels.ts patchTables). Null where the rows
   * come from the CPU instead: no builder (wasm, a reference vision graph, gpuPatches off) or a frame
   * value other than a whole number 0..255; the question's record says which (`patchesNote`).
   */
  stagePatches(visuals: readonly FrameVisual[], tables: Float32Array): GpuPatches | null {
    if (!this.patchBuilder) {
      this.patchNote = '';
      return null;
    }
    const staged = this.patchBuilder.build(visuals, tables);
    this.patchNote = staged
      ? 'patch rows built on the GPU'
      : 'patch rows built on the CPU (a frame value is not a whole number 0..255)';
    return staged;
  }

  /** Where the last question's patch rows were made ('' where only the CPU makes them). */
  get patchesNote(): string {
    return this.patchNote;
  }

  /**
   * The vision features of every visual of a question, in prompt order: from one run of the fast
   * vision graph (on patch rows from the CPU, or staged on the GPU), or from the reference vision
   * graph slice by slice.
   */
  async encode(
    items: readonly Patches[] | GpuPatches,
    cancelled?: CancelCheck,
  ): Promise<FastFeatures> {
    const v = fastVisionOf(this.manifest, this.dtype);
    const onGpu = 'buffer' in items;
    const first = onGpu ? items.grids[0] : items[0]?.grid;
    if (!first) throw new ModelError('bad-visuals', 'no visuals to encode');
    if (!v) {
      if (onGpu) throw new ModelError('bad-visuals', 'GPU patch rows need the fast vision graph');
      return this.encodeReference(items, cancelled);
    }
    const [, h, w] = first;
    const per = h * w;
    const pixels = onGpu
      ? ort.Tensor.fromGpuBuffer(items.buffer, {
          dataType: 'float32',
          dims: [items.slices, items.per, items.rowLength],
        })
      : cpuPixels(items, h, w);
    const table = visionTable(first, v.inv_freq, v.merge);
    this.profiler?.startTiming('vision');
    const out = await this.vision.run({
      pixel_values: pixels,
      cos_cache: new ort.Tensor('float32', table.cos, [per, table.width]),
      sin_cache: new ort.Tensor('float32', table.sin, [per, table.width]),
    });
    this.profiler?.pauseTiming();
    const tensor = out['visual_embeds'] as Tensor;
    return { tensor, rows: (tensor.dims[0] as number) - 1 };
  }

  /**
   * The reference vision graph, one temporal slice per run with grid [1, h, w], as the reference
   * engine feeds it (../visuals.ts: exact, no attention crosses slices); the rows of every slice of
   * every visual, in prompt order, below a zero row 0 (the decoder's "not a visual" row).
   */
  private async encodeReference(
    items: readonly Patches[],
    cancelled: CancelCheck | undefined,
  ): Promise<FastFeatures> {
    const hidden = this.manifest.text.hidden;
    const parts: Float32Array[] = [];
    let rows = 0;
    for (const p of items) {
      for (const { rows: pixels, h, w } of temporalSlices(p)) {
        if (cancelled) checkCancelled(cancelled, 'during vision encoding');
        const out = await this.vision.run({
          pixel_values: new ort.Tensor('float32', pixels, [h * w, p.rowLength]),
          [this.gridInput]: i64([1, h, w], [1, 3]),
        });
        const name = 'image_features';
        const f = out[name];
        if (!f || f.type !== 'float32' || f.dims[1] !== hidden) {
          throw new ModelError(
            'bad-interface',
            `vision encoder output "${name}" is ${f ? `${f.type} [${f.dims.join(', ')}]` : 'missing'}, expected float32 [rows, ${hidden}]`,
          );
        }
        parts.push(f.data as Float32Array);
        rows += f.dims[0] as number;
      }
    }
    const data = new Float32Array((1 + rows) * hidden);
    let o = hidden;
    for (const part of parts) {
      data.set(part, o);
      o += part.length;
    }
    return { tensor: new ort.Tensor('float32', data, [1 + rows, hidden]), rows };
  }

  private writeTable(rope: RopeIndex, length: number): ort.Tensor[] {
    const t = this.manifest.text;
    const table = ropeTable(
      rope.positions,
      length,
      rope.delta,
      this.capacity,
      t.inv_freq,
      t.mrope_section,
      t.kv_head_dim / 2,
    );
    if (this.gpu) {
      this.gpu.device.queue.writeBuffer(this.gpu.bufs.cos, 0, table.cos);
      this.gpu.device.queue.writeBuffer(this.gpu.bufs.sin, 0, table.sin);
      return [this.gpu.cos, this.gpu.sin];
    }
    return [
      new ort.Tensor('float32', table.cos, [this.capacity, table.width]),
      new ort.Tensor('float32', table.sin, [this.capacity, table.width]),
    ];
  }

  private checkCapacity(total: number): void {
    if (total + 2 > this.capacity) {
      throw new ModelError(
        'runtime',
        `the fast engine's KV cache holds ${this.capacity} positions; this question needs ${total + 2} (load with a larger capacity)`,
      );
    }
  }

  /**
   * One multi-token step through the prefill session: `ids` at cache positions from..from+n-1, with
   * rope tables for the whole prompt (`rope` covers positions 0..rope length-1). Returns the logits
   * of the `keep` rows (indices into this step) and the next token (on the GPU: also copied where the
   * decode step reads its input).
   */
  private async step(a: {
    ids: readonly number[];
    from: number;
    rows: Int32Array;
    features: FastFeatures | null;
    keep: readonly number[];
    seen: Iterable<number> | null;
  }): Promise<{ logits: Float32Array; next: number }> {
    await this.drain();
    const t = this.manifest.text;
    const n = a.ids.length;
    this.checkCapacity(a.from + n);
    const feeds: Record<string, Tensor> = {
      input_ids: i32(a.ids, [n, 1]),
      visual_rows: i32(a.rows, [n, 1]),
      seqlens_k: i32([a.from + n - 1], [1]),
      total_sequence_length: i32([a.from + n], []),
      logit_rows: i64(a.keep, [a.keep.length]),
      ...this.kvFeeds(),
      ...this.prefillWeights,
    };
    const g = this.gpu;
    if (g) {
      feeds['cos_cache'] = g.cos;
      feeds['sin_cache'] = g.sin;
      if (a.seen) g.device.queue.writeBuffer(g.bufs.seen, 0, seenMask(a.seen, t.vocab));
      feeds['seen'] = g.seen;
    } else {
      if (a.seen) this.cpuSeen = seenMask(a.seen, t.vocab);
      feeds['seen'] = new ort.Tensor('float32', this.cpuSeen ?? new Float32Array(t.vocab), [
        t.vocab,
      ]);
      feeds['cos_cache'] = this.cpuTable[0] as Tensor;
      feeds['sin_cache'] = this.cpuTable[1] as Tensor;
    }
    feeds['visual_embeds'] = a.features?.tensor ?? this.zeroVisual();
    const fetches: Record<string, Tensor | null> = { logits: null, next_token: null };
    for (let l = 0; l < t.layers; l++) {
      // WebGPU: written in place (the same buffers as past_*); wasm: new tensors for the next run.
      const c = g?.kv[l];
      fetches[`present_key.${l}`] = c ? c.key : null;
      fetches[`present_value.${l}`] = c ? c.value : null;
    }
    const out = await this.prefillSession.run(feeds, fetches);
    const logitsT = out['logits'] as Tensor;
    const nextT = out['next_token'] as Tensor;
    let logits: Float32Array;
    let next: number;
    if (g) {
      const enc = g.device.createCommandEncoder();
      enc.copyBufferToBuffer(nextT.gpuBuffer as unknown as GpuBuffer, 0, g.bufs.ids, 0, 4);
      g.device.queue.submit([enc.finish()]);
      logits = (await logitsT.getData(true)) as Float32Array;
      next = Number(((await nextT.getData(true)) as Int32Array)[0]);
    } else {
      this.keepCpuKv(out);
      logits = logitsT.data as Float32Array;
      next = Number((nextT.data as Int32Array)[0]);
    }
    this.past = a.from + n;
    return { logits, next };
  }

  private cpuTable: Tensor[] = [];
  private zeroCpu: Tensor | null = null;

  private zeroVisual(): Tensor {
    if (this.gpu) return this.gpu.decodeFeeds['visual_embeds'] as Tensor;
    this.zeroCpu ??= new ort.Tensor('float32', new Float32Array(this.manifest.text.hidden), [
      1,
      this.manifest.text.hidden,
    ]);
    return this.zeroCpu;
  }

  /** Prefill the official prompt: raw logits of its last position and the first generated token. */
  async prefill(
    ids: readonly number[],
    runs: readonly VisualRun[],
    features: FastFeatures | null,
    rope: RopeIndex,
  ): Promise<{ logits: Float32Array; first: number }> {
    await this.drain();
    this.tables(rope, ids.length);
    let rows: Int32Array;
    try {
      rows = visualRows(ids, runs);
    } catch (e) {
      throw new ModelError('prompt-mismatch', (e as Error).message, { cause: e });
    }
    const before = this.profiler?.snapshot() ?? null;
    this.profiler?.startTiming('prefill');
    const r = await this.step({ ids, from: 0, rows, features, keep: [ids.length - 1], seen: ids });
    this.profiler?.pauseTiming();
    this.launched = 0;
    this.decodeSteps = 0;
    this.countsAtPrefill = this.profiler?.snapshot() ?? null;
    this.prefillCounts =
      before && this.countsAtPrefill ? perStep(before, this.countsAtPrefill, 1) : null;
    return { logits: r.logits, first: r.next };
  }

  private tables(rope: RopeIndex, length: number): void {
    this.cpuTable = this.writeTable(rope, length);
  }

  /**
   * The next greedy token. The k-th call (given token k; the prefill gave token 1) returns token
   * k + 1, computed by the step whose input is token k. Steps are queued `ahead` deep: each takes
   * its input id from the previous step's output and marks it in `seen` on the GPU, so `previous`
   * is only the caller's (the graph already saw it). A step is only queued where its cache position
   * fits; when none is queued for the token asked for, the capacity error says why.
   */
  async next(previous: number): Promise<number> {
    if (!this.gpu) return this.nextCpu(previous);
    while (this.pending.length < this.ahead && this.past + this.launched < this.capacity)
      this.pending.push(this.launch());
    if (this.pending.length === 0) this.checkCapacity(this.past + this.launched + 1);
    return (await this.pending.shift()) as number;
  }

  /**
   * Queue one decode step. Everything it writes (the sequence lengths) is written when its turn
   * comes in the chain, so it lands in the GPU queue after the earlier steps' work and before its
   * own; after the run, one encoder marks its input id in `seen`, then copies its output to the next
   * step's input and to a readback buffer.
   */
  private launch(): Promise<number> {
    const g = this.gpu as GpuState;
    const pos = this.past + this.launched;
    this.launched++;
    const q = g.device.queue;
    const slot = this.stagingSlot++ % g.staging.length;
    const staging = g.staging[slot] as GpuBuffer;
    const run = async () => {
      q.writeBuffer(g.bufs.seq, 0, Int32Array.of(pos));
      q.writeBuffer(g.bufs.total, 0, Int32Array.of(pos + 1));
      const prof = this.profiler;
      const timed = prof !== null && this.profileStep++ === PROFILED_STEP;
      if (timed) prof.startTiming();
      const t0 = performance.now();
      // Whether this run is the step graph's (decided before it: a failed capture drops the session
      // after its first run, which still needs its pick).
      const picks = this.decodeSession !== null && this.decodePicks;
      const io = picks
        ? { feeds: g.stepFeeds, fetches: g.stepFetches }
        : { feeds: g.decodeFeeds, fetches: g.decodeFetches };
      if (this.decodeSession) {
        if (!this.captured) await this.captureFirst(io.feeds, io.fetches);
        else await this.decodeSession.run(io.feeds, io.fetches);
      } else await this.prefillSession.run(g.decodeFeeds, g.decodeFetches);
      const t1 = performance.now();
      const enc = g.device.createCommandEncoder();
      if (picks)
        g.pick(enc); // next, ids[0] and seen, from the logits
      else {
        g.markSeen(enc);
        enc.copyBufferToBuffer(g.bufs.next, 0, g.bufs.ids, 0, 4);
      }
      if (timed) prof.pauseTiming();
      enc.copyBufferToBuffer(g.bufs.next, 0, staging, 0, 4);
      q.submit([enc.finish()]);
      // Not awaited here: the next step is submitted while this id travels back (wrapped, so that
      // the chain does not adopt the readback promise and wait for it).
      const readback = staging.mapAsync(MAP_READ).then(() => {
        const id = new Int32Array(staging.getMappedRange().slice(0, 4))[0] as number;
        staging.unmap();
        this.runCpuMs += t1 - t0;
        this.readbackMs += performance.now() - t1;
        return id;
      });
      return { readback };
    };
    // Runs are chained (onnxruntime sessions are not re-entrant); the readback is not part of it.
    const submitted = this.chain.then(run);
    this.chain = submitted.then(
      () => undefined,
      () => undefined,
    );
    return submitted.then((s) => s.readback);
  }

  private chain: Promise<void> = Promise.resolve();
  private captured = false;

  /** The captured session's first run: records the command list; its IO buffers pinned (capture.ts). */
  private async captureFirst(
    feeds: Record<string, Tensor>,
    fetches: Record<string, Tensor>,
  ): Promise<void> {
    const g = this.gpu as GpuState;
    const s = this.decodeSession as Session;
    const buffers = [...Object.values(feeds), ...Object.values(fetches)].map(
      (t) => t.gpuBuffer as unknown as GpuBuffer,
    );
    const want = new Set(buffers).size;
    const { pinned: n } = await pinned(g.device, buffers, () => s.run(feeds, fetches));
    this.captured = true;
    if (n !== want) {
      // Without the pin the next replay would fail: decode with the prefill session from now on.
      this.decodeSession = null;
      this.captureNote = `graph capture off: ${n} of ${want} IO buffers could be kept registered`;
    }
  }

  private async nextCpu(previous: number): Promise<number> {
    const t = this.manifest.text;
    const pos = this.past;
    this.checkCapacity(pos + 1);
    const seen = this.cpuSeen ?? new Float32Array(t.vocab);
    const t0 = performance.now();
    const out = await this.prefillSession.run({
      input_ids: i32([previous], [1, 1]),
      visual_rows: i32([0], [1, 1]),
      visual_embeds: this.zeroVisual(),
      seqlens_k: i32([pos], [1]),
      total_sequence_length: i32([pos + 1], []),
      cos_cache: this.cpuTable[0] as Tensor,
      sin_cache: this.cpuTable[1] as Tensor,
      logit_rows: i64([0], [1]),
      seen: new ort.Tensor('float32', seen, [t.vocab]),
      ...this.kvFeeds(),
    });
    if (this.cpuProfile) {
      this.cpuProfile.steps++;
      this.cpuProfile.runMs += performance.now() - t0;
    }
    this.keepCpuKv(out);
    seen[previous] = 1;
    this.past = pos + 1;
    return Number(((out['next_token'] as Tensor).data as Int32Array)[0]);
  }

  /** Wait for every launched decode step (the pipeline runs up to two past the last token used). */
  async drain(): Promise<void> {
    const rest = this.pending.splice(0);
    await Promise.allSettled(rest);
    await this.chain;
    this.past += this.launched;
    this.decodeSteps += this.launched;
    this.launched = 0;
  }

  /** The decode profile of the question so far (LoadOptions.profile), then reset. */
  async takeProfile(): Promise<DecodeProfile | null> {
    const c = this.cpuProfile;
    if (c) {
      const steps = c.steps;
      const out: DecodeProfile = {
        steps,
        counts: noCounts(),
        prefill: null,
        runCpuMs: steps ? c.runMs / steps : 0,
        readbackMs: 0,
        gpu: null,
        prefillGpu: null,
        visionGpu: null,
        note: "wasm: runCpuMs is the wall time of a decode step's session.run (feeds in, outputs out)",
      };
      this.cpuProfile = { steps: 0, runMs: 0 };
      return out;
    }
    const p = this.profiler;
    if (!p) return null;
    await this.drain();
    const steps = this.decodeSteps;
    const out: DecodeProfile = {
      steps,
      counts: perStep(this.countsAtPrefill ?? p.snapshot(), p.snapshot(), steps),
      prefill: this.prefillCounts,
      runCpuMs: steps ? this.runCpuMs / steps : 0,
      readbackMs: steps ? this.readbackMs / steps : 0,
      gpu: await p.stopTiming('step'),
      prefillGpu: await p.stopTiming('prefill'),
      visionGpu: await p.stopTiming('vision'),
      note: this.decodeSession ? 'captured decode session' : 'decode through the prefill session',
    };
    this.decodeSteps = 0;
    this.runCpuMs = 0;
    this.readbackMs = 0;
    this.profileStep = 0;
    this.countsAtPrefill = null;
    this.prefillCounts = null;
    return out;
  }

  /**
   * Logits rows of a continuation: `ids` at positions from.., with rope tables of the whole prompt
   * `rope` (its `length` positions), returning the rows `keep` (indices into `ids`). The cache
   * before `from` is whatever the official prompt left there: shared prefixes are reused as is.
   */
  async rows(a: {
    ids: readonly number[];
    from: number;
    rope: RopeIndex;
    ropeLength: number;
    visual: Int32Array;
    features: FastFeatures | null;
    keep: readonly number[];
  }): Promise<{ logits: Float32Array; vocab: number }> {
    await this.drain();
    this.tables(a.rope, a.ropeLength);
    const r = await this.step({
      ids: a.ids,
      from: a.from,
      rows: a.visual,
      features: a.features,
      keep: a.keep,
      seen: null,
    });
    return { logits: r.logits, vocab: this.manifest.text.vocab };
  }

  async dispose(): Promise<void> {
    await this.drain().catch(() => undefined);
    await Promise.all([
      this.vision.release(),
      this.prefillSession.release(),
      this.decodeSession?.release(),
    ]);
    if (this.gpu) {
      for (const c of this.gpu.kv) {
        c.keyBuf.destroy();
        c.valueBuf.destroy();
      }
      for (const b of Object.values(this.gpu.bufs)) b.destroy();
      for (const b of this.gpu.staging) b.destroy();
      this.patchBuilder?.destroy();
      this.weights?.destroy();
    }
  }
}

/** The fast vision graph's input from CPU patch rows: every visual's slices, in order. */
function cpuPixels(items: readonly Patches[], h: number, w: number): Tensor {
  const rowLength = items[0]?.rowLength ?? 0;
  let slices = 0;
  for (const p of items) {
    if (p.grid[1] !== h || p.grid[2] !== w || p.rowLength !== rowLength)
      throw new ModelError(
        'bad-visuals',
        'the fast vision graph needs every visual at the same size',
      );
    slices += p.grid[0];
  }
  const data = new Float32Array(slices * h * w * rowLength);
  let o = 0;
  for (const p of items) {
    data.set(p.data, o);
    o += p.data.length;
  }
  return new ort.Tensor('float32', data, [slices, h * w, rowLength]);
}

/** Read back a GPU buffer's float32 contents (tests and the profiler). */
export async function readFloats(
  device: GpuDevice,
  buffer: GpuBuffer,
  count: number,
): Promise<Float32Array> {
  return new Float32Array(await download(device, buffer, count * 4));
}
