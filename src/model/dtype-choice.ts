/**
 * Which dtype to load, and whether its files can load here at all: the per-device default for
 * `dtype: 'auto'`, and a refusal that names the file, its size and the dtype to pick instead when
 * a file is over what a browser holds. Pure (file sizes come through a callback), so Vitest covers it.
 *
 * The limits (onnxruntime-web "Working with large models",
 * https://onnxruntime.ai/docs/tutorials/web/large-models.html):
 * - one file: Chrome's largest ArrayBuffer is 0x7fe00000 bytes (~2 GiB); a model file (graph or one
 *   external-data chunk) is fetched into one;
 * - all files: onnxruntime-web stages every session's model bytes in its one wasm32 heap (4 GiB),
 *   and transformers.js creates the three sessions at once; on wasm the weights stay there; on
 *   WebGPU only the .onnx files do (external data is uploaded from its own buffers to the GPU);
 * - WebGPU: every weight becomes one GPU buffer bound as storage, so the largest weight must fit
 *   the adapter's maxBufferSize and maxStorageBufferBindingSize (`npm run export` splits an
 *   embedding over 1.9 GB into row chunks, one data file each, so both limits hold).
 */
import { assert } from '../bench/index';
import type { DtypeRequest, GraphName, ModelDevice, ModelDtype } from './types';
import { ModelError } from './types';

export type Graph = GraphName;
export const GRAPHS: readonly Graph[] = ['embed_tokens', 'vision_encoder', 'decoder_model_merged'];

/** A record over the three graphs, each value from `f`. */
export function byGraph<T>(f: (graph: Graph) => T): Record<Graph, T> {
  return {
    embed_tokens: f('embed_tokens'),
    vision_encoder: f('vision_encoder'),
    decoder_model_merged: f('decoder_model_merged'),
  };
}

/** File-name suffixes of each dtype, as transformers.js names an export's files. */
export const SUFFIX: Record<ModelDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
};

export const MAX_FILE_BYTES = 0x7fe00000;
export const WASM_HEAP_BYTES = 4 * 2 ** 30;
/** Heap kept free beside the weights for activations, the KV cache and the runtime itself. */
export const HEAP_RESERVE_BYTES = 512 * 2 ** 20;

export interface DeviceCaps {
  device: ModelDevice;
  shaderF16: boolean;
  /** min(maxBufferSize, maxStorageBufferBindingSize) of the adapter (WebGPU only). */
  maxGpuBufferBytes: number | null;
}

/**
 * Why q8 leads on wasm, as the load reason says it. Measured with the app's onnxruntime-web 1.31
 * wasm build on 2 cores: per kernel (bench/cpu-2core.json `kernels`), 4-bit MatMulNBits costs what
 * dequantising the whole matrix on every call would, the 2B gate_proj 33.6 ms vs 8-bit MatMulInteger
 * 2.6 ms at 1 thread (15.6 vs 0.94 at 2), the tiny lm_head 6.1 vs 0.62 ms (3.2 vs 0.73); whole
 * decodes (bench/cpu-2core-q8.json `rows`, fast graphs): the 2B-shaped model 2.03 tokens/s at q8 vs
 * 0.26 at q4 (1 thread), the tiny one 208-267 vs 101-112.
 */
export const WASM_Q8_WHY = "q8's MatMulInteger runs 4-17x faster than q4's MatMulNBits on wasm";

/** dtypes `auto` tries, best first. */
export function dtypePreference(caps: DeviceCaps): ModelDtype[] {
  if (caps.device === 'webgpu')
    return caps.shaderF16 ? ['q4f16', 'q4', 'fp16', 'fp32'] : ['q4', 'fp32'];
  // wasm: q8 first (WASM_Q8_WHY: bench/cpu-2core-q8.json, bench/cpu-2core.json); q4, smaller, where
  // q8's files are missing or do not fit the heap; then fp32.
  return ['q8', 'q4', 'fp32'];
}

/**
 * Why `auto` resolved to `dtype` on this device (the device's first choice, or a fallback; the
 * caller adds what was skipped and why).
 */
export function autoReason(caps: DeviceCaps, dtype: ModelDtype): string {
  if (caps.device === 'wasm') {
    const order = dtypePreference(caps);
    const before = order.slice(0, Math.max(0, order.indexOf(dtype)));
    return before.length === 0
      ? `the wasm default (${WASM_Q8_WHY})`
      : `the wasm fallback after ${before.join(', ')}`;
  }
  return caps.shaderF16
    ? 'the default for WebGPU with shader-f16'
    : 'the default for WebGPU without shader-f16';
}

/**
 * The graph files to try for a graph at a dtype, best first. The public exports ship embed_tokens
 * at 4 bits as a copy of its fp32 (or fp16) graph, since 4-bit quantisation leaves a Gather alone;
 * an export without those copies serves the same lookup from the fp32 / fp16 file.
 */
export function graphCandidates(graph: Graph, dtype: ModelDtype): ModelDtype[] {
  if (graph !== 'embed_tokens') return [dtype];
  if (dtype === 'q4') return ['q4', 'fp32'];
  if (dtype === 'q4f16') return ['q4f16', 'fp16', 'fp32'];
  return [dtype];
}

export interface FileSize {
  path: string;
  bytes: number;
}

export interface GraphFiles {
  dtype: ModelDtype;
  /** The .onnx file, then its external-data chunks. */
  files: FileSize[];
}

export interface Plan {
  dtype: ModelDtype;
  graphs: Record<Graph, GraphFiles>;
  totalBytes: number;
}

export interface Problem {
  dtype: ModelDtype;
  /** The file (or graph) that does not fit. */
  file: string;
  bytes: number;
  message: string;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

/**
 * The first reason a plan cannot load on this device, or null. `largestWeight(graph, dtype)` is
 * the bytes of the graph's largest weight (for Qwen2-VL the vocab x hidden embedding / lm_head).
 */
export function planProblem(
  plan: Plan,
  caps: DeviceCaps,
  largestWeight: (graph: Graph, dtype: ModelDtype) => number,
): Problem | null {
  for (const g of GRAPHS) {
    for (const f of plan.graphs[g].files) {
      if (f.bytes > MAX_FILE_BYTES) {
        return {
          dtype: plan.dtype,
          file: f.path,
          bytes: f.bytes,
          message: `${f.path} is ${formatBytes(f.bytes)}, over the ${formatBytes(MAX_FILE_BYTES)} a browser holds in one file`,
        };
      }
    }
  }
  const heap = WASM_HEAP_BYTES - HEAP_RESERVE_BYTES;
  // On WebGPU onnxruntime's external-data loader uploads each external-data chunk from its own
  // ArrayBuffer straight to the GPU, so only the .onnx files pass through the wasm heap (measured: a
  // 7B-shaped q4 load put 5.1 GB of weights on the H200, bench/export-selfcheck/browser-7b.json).
  const staged =
    caps.device === 'webgpu' ? GRAPHS.map((g) => plan.graphs[g].files.slice(0, 1)).flat() : null;
  const heapBytes = staged ? staged.reduce((n, f) => n + f.bytes, 0) : plan.totalBytes;
  if (heapBytes > heap) {
    const biggest = (staged ?? GRAPHS.flatMap((g) => plan.graphs[g].files)).sort(
      (a, b) => b.bytes - a.bytes,
    )[0];
    const what = staged ? 'its .onnx files (external data goes to the GPU directly)' : 'its files';
    return {
      dtype: plan.dtype,
      file: biggest?.path ?? '',
      bytes: heapBytes,
      message: `${what} are ${formatBytes(heapBytes)} in all (largest ${biggest?.path ?? '?'}, ${formatBytes(biggest?.bytes ?? 0)}), over the ${formatBytes(heap)} of onnxruntime-web's 4 GiB wasm heap left beside the runtime`,
    };
  }
  if (caps.device === 'webgpu' && caps.maxGpuBufferBytes !== null) {
    for (const g of GRAPHS) {
      // A weight lies whole in one file (the .onnx or one external-data chunk), so the graph's
      // largest file bounds it too: an embedding the export wrote as row chunks passes.
      const sizes = plan.graphs[g].files.map((f) => f.bytes);
      const largestFile = sizes.length > 0 ? Math.max(...sizes) : Infinity;
      const bytes = Math.min(largestWeight(g, plan.graphs[g].dtype), largestFile);
      if (bytes > caps.maxGpuBufferBytes) {
        const file = plan.graphs[g].files[0]?.path ?? g;
        return {
          dtype: plan.dtype,
          file,
          bytes,
          message: `the largest weight of ${file} is ${formatBytes(bytes)}, over this GPU's largest storage buffer (${formatBytes(caps.maxGpuBufferBytes)})`,
        };
      }
    }
  }
  return null;
}

/** Bytes of Qwen2-VL's largest weight per graph: the vocab x hidden embedding (and lm_head). */
export function qwenLargestWeight(vocab: number, hidden: number, visionHidden = 0) {
  const perElement: Record<ModelDtype, number> = { fp32: 4, fp16: 2, q8: 1, q4: 0.5, q4f16: 0.5 };
  return (graph: Graph, dtype: ModelDtype): number => {
    if (graph === 'vision_encoder') return (4 * visionHidden) ** 2 * perElement[dtype];
    // A 4-bit embed_tokens file keeps the Gather in its float type (see graphCandidates).
    const embedDtype = graph === 'embed_tokens' && dtype === 'q4' ? 'fp32' : dtype;
    const bytes = graph === 'embed_tokens' && dtype === 'q4f16' ? 2 : perElement[embedDtype];
    return vocab * hidden * bytes;
  };
}

export interface ChoiceInput {
  request: DtypeRequest;
  caps: DeviceCaps;
  /** Explicit per-graph dtypes, kept whatever the request. */
  overrides?: Partial<Record<Graph, ModelDtype>>;
  /** The files of a graph at a dtype with their sizes, or null when its .onnx does not exist. */
  files: (graph: Graph, dtype: ModelDtype) => Promise<FileSize[] | null>;
  largestWeight: (graph: Graph, dtype: ModelDtype) => number;
  /** Report problems instead of refusing (experiments that probe the real limits). */
  enforceLimits?: boolean;
  label: string;
}

export interface Choice {
  plan: Plan;
  /** Why this dtype: the device default, or what was asked for. */
  reason: string;
  /** What stops this plan loading, when limits are not enforced. */
  problem: Problem | null;
}

/** The files of `dtype` (null when a graph has no file for it). */
async function planFor(input: ChoiceInput, dtype: ModelDtype): Promise<Plan | { missing: string }> {
  const found = new Map<Graph, GraphFiles>();
  for (const g of GRAPHS) {
    const wanted = input.overrides?.[g];
    const options = wanted ? [wanted] : graphCandidates(g, dtype);
    for (const d of options) {
      const files = await input.files(g, d);
      if (files) {
        found.set(g, { dtype: d, files });
        break;
      }
    }
    if (!found.has(g)) return { missing: `onnx/${g}${SUFFIX[options[0] ?? dtype]}.onnx` };
  }
  const graphs = byGraph((g) => {
    const files = found.get(g);
    assert(files, `planFor: no files for ${g}`);
    return files;
  });
  const totalBytes = GRAPHS.reduce(
    (s, g) => s + graphs[g].files.reduce((a, f) => a + f.bytes, 0),
    0,
  );
  return { dtype, graphs, totalBytes };
}

/** Pick the dtype to load (auto: the device's best that exists and fits) or check the asked one. */
export async function chooseDtype(input: ChoiceInput): Promise<Choice> {
  const { caps } = input;
  const enforce = input.enforceLimits !== false;
  const tried: string[] = [];
  const fits = async (dtype: ModelDtype) => {
    const plan = await planFor(input, dtype);
    if ('missing' in plan) return { plan: null, problem: null, missing: plan.missing };
    return { plan, problem: planProblem(plan, caps, input.largestWeight), missing: null };
  };
  const alternatives = async (skip: ModelDtype): Promise<string> => {
    for (const d of dtypePreference({
      ...caps,
      shaderF16: caps.device === 'webgpu' && caps.shaderF16,
    })) {
      if (d === skip) continue;
      const r = await fits(d);
      if (r.plan && !r.problem)
        return `; pick ${d} instead (${formatBytes(r.plan.totalBytes)} in all)`;
    }
    return '; no other dtype of this model fits either';
  };

  if (input.request !== 'auto') {
    const dtype = input.request;
    const r = await fits(dtype);
    if (!r.plan) {
      throw new ModelError(
        'missing-file',
        `${input.label} is missing ${r.missing} (needed for ${dtype})`,
        { file: r.missing },
      );
    }
    if (r.problem && enforce) {
      throw new ModelError(
        'too-large',
        `${dtype} cannot load here: ${r.problem.message}${await alternatives(dtype)}`,
        { file: r.problem.file },
      );
    }
    return { plan: r.plan, reason: `${dtype} as asked`, problem: r.problem };
  }

  for (const dtype of dtypePreference(caps)) {
    const r = await fits(dtype);
    if (!r.plan) {
      tried.push(`${dtype}: no ${r.missing}`);
      continue;
    }
    if (r.problem && enforce) {
      tried.push(`${dtype}: ${r.problem.message}`);
      continue;
    }
    const skipped = tried.length > 0 ? ` (skipped ${tried.join('; ')})` : '';
    return {
      plan: r.plan,
      reason: `auto: ${dtype}, ${autoReason(caps, dtype)}${skipped}`,
      problem: r.problem,
    };
  }
  throw new ModelError(
    'too-large',
    `${input.label}: no dtype loads on ${caps.device} here: ${tried.join('; ')}`,
  );
}
