/** Types of the model stage. Plain data (structured-clonable) unless noted. */
import type { ModelFamily } from './model-config';
import type { ChoiceLetter, ModelPrompt } from '../bench/index';
import type { PreparedVisuals } from '../video/index';
import type { DecodeProfile } from './fast/profile';

/**
 * The visuals of one question, as the video stage prepares them (its `PreparedVisuals`; previews
 * and timings are optional here, the worker message drops the previews). Every frame is PLANAR CHW
 * RGB, 3 x height x width, on the 0..255 scale.
 */
export type ModelVisuals = Pick<PreparedVisuals, 'clip' | 'still' | 'stillFrom'> &
  Partial<Pick<PreparedVisuals, 'previews' | 'timings'>>;

export type ModelDtype = 'fp32' | 'fp16' | 'q8' | 'q4' | 'q4f16';
export const MODEL_DTYPES: readonly ModelDtype[] = ['fp32', 'fp16', 'q8', 'q4', 'q4f16'];
/** A dtype, or 'auto': the device's default among the files that exist and fit (dtype-choice.ts). */
export type DtypeRequest = ModelDtype | 'auto';
export const DTYPE_REQUESTS: readonly DtypeRequest[] = ['auto', ...MODEL_DTYPES];
export type DeviceRequest = 'auto' | 'webgpu' | 'wasm';
export type ModelDevice = 'webgpu' | 'wasm';

/** Where the model files come from. */
export type ModelSource =
  /** A folder picked with showDirectoryPicker(). */
  | { kind: 'folder'; handle: FileSystemDirectoryHandle }
  /** Files of a folder picked with <input webkitdirectory>; `path` is relative to the model folder. */
  | { kind: 'files'; name: string; files: { path: string; file: File }[] }
  /** A base URL of a model folder (same layout as a Hugging Face repo). */
  | { kind: 'url'; url: string }
  /** A Hugging Face model id, e.g. onnx-community/Qwen2-VL-2B-Instruct. */
  | { kind: 'hub'; id: string; revision?: string };

export type LoadEvent =
  | {
      kind: 'file';
      file: string;
      loaded: number;
      total: number | null;
      /** Bytes per second over this file so far (null before the first chunk). */
      bytesPerS: number | null;
      etaS: number | null;
      from: 'network' | 'cache' | 'local';
      done: boolean;
    }
  | {
      kind: 'quota';
      neededBytes: number;
      freeBytes: number | null;
      persisted: boolean;
      caching: boolean;
    }
  | { kind: 'device'; device: ModelDevice; reason: string }
  | { kind: 'stage'; stage: 'config' | 'tokenizer' | 'sessions' | 'ready'; detail?: string };

export type GraphName = 'embed_tokens' | 'vision_encoder' | 'decoder_model_merged';

/**
 * How to load a model: built once by the caller (the model step, the CLI through it, the test
 * harness) and passed whole through the client, the worker message and the loader. Every field is
 * required, so a hop cannot drop one silently.
 */
export interface LoadSettings {
  /** A dtype, or 'auto' (resolved at load: LoadedModel.dtype says what ran). */
  dtype: DtypeRequest;
  /** Per-graph dtypes overriding `dtype` ({}: none), e.g. { vision_encoder: 'fp32' } beside q4. */
  graphDtypes: Partial<Record<GraphName, ModelDtype>>;
  device: DeviceRequest;
  /** wasm threads; null: min(4, hardwareConcurrency) when cross-origin isolated, else 1. */
  numThreads: number | null;
  /** Cache remote downloads in Cache Storage. */
  cache: boolean;
  /**
   * Refuse a dtype whose files cannot load here. False only for experiments that probe the real
   * limits: the problem is then reported in `sizeProblem` and the load goes ahead.
   */
  enforceLimits: boolean;
  /**
   * 'auto': the fast graphs (onnx/fast.json, scripts/export/fast) when the folder has them for the
   * dtype, else transformers.js on the reference graphs; 'fast' / 'reference' force one.
   */
  engine: EngineRequest;
  /** Fast engine: KV positions allocated once (prompt + new tokens + 2 for the pipelined steps). */
  kvCapacity: number;
  /** Fast engine on WebGPU: replay decode steps from a captured graph (a second decoder session). */
  graphCapture: boolean;
  /** Fast engine: count and time the decode steps' GPU work (WebGPU), or time their session.run (wasm), into each answer (benchmarks). */
  profile: boolean;
  /**
   * Fast engine on WebGPU: request `subgroups` where the adapter is safe for them (device.ts leaves
   * them off on adapters narrower than 16 lanes); false: never (an A/B switch for benchmarks).
   */
  gpuSubgroups: boolean;
  /**
   * Fast engine on WebGPU: onnxruntime's storageBufferCacheMode. 'bucket' (onnxruntime's default)
   * keeps freed intermediates for reuse; 'lazyRelease' destroys them after each run. Measured on the
   * 2B (bench/gpu-h200-lazyrelease.json): lazyRelease peaks at 8.7 GB against bucket's 3.96 GB (each
   * prefill allocates afresh while the last one's buffers are still being destroyed) and decodes
   * 20-35% slower. So 'bucket'; the other stays as the benchmark's A/B switch. (onnxruntime's
   * 'disabled', a freed buffer destroyed at once, fails there: "Buffer used in submit while
   * destroyed", bench/gpu-h200-vision-whole.json `errors`.)
   */
  gpuBufferCache: 'bucket' | 'lazyRelease';
  /**
   * Fast engine, q4: int8 activations (onnxruntime's accuracy_level 4, the folder's `a8` graphs) for
   * no run, vision + prefill, or every run. Numbers then differ from exact q4 by the rounding of each
   * projection's input to 8 bits (per 128 values on WebGPU).
   */
  q4Int8: Q4Int8Mode;
  /**
   * Fast engine on WebGPU: onnxruntime's maxNumPendingDispatches (dispatches encoded before it
   * submits; null: its default, 16). Passed through a build-time addition to onnxruntime-web's EP
   * options (scripts/vite-ort-ep-options.ts); fixed per device at its first session.
   */
  gpuPendingDispatches: number | null;
  /**
   * Fast engine on WebGPU: decode steps queued past the token being waited for (1-8). Input ids
   * and the repetition mask are updated on the GPU, so steps need not wait for a readback; deeper
   * hides the per-step CPU and IPC time behind the GPU, at the cost of steps computed past a stop.
   */
  gpuDecodeAhead: number;
  /**
   * Fast engine on WebGPU with the fast vision graph: build the vision input's patch rows on the GPU
   * from the frames' bytes (bitwise the CPU's rows: the same per-channel tables; about 20-40 ms of a
   * 16-frame question's time to first token on the H200 hosts); false: on the CPU (an A/B switch).
   */
  gpuPatches: boolean;
  /**
   * Fast engine on WebGPU with graph capture: upload the decoder's weights once and feed them to
   * both decoder sessions (prefill and captured decode: the folder's `feed` graphs, weights as
   * inputs) instead of each session holding its own copy (0.97 GB for the 2B q4); false: the
   * initializer graphs (an A/B switch). Folders without feed graphs load the initializer graphs.
   */
  gpuShareWeights: boolean;
}

/** LoadSettings.q4Int8: int8 activations for no run, vision + prefill, or every run. */
export type Q4Int8Mode = 'off' | 'prefill' | 'all';
export const Q4_INT8_MODES: readonly Q4Int8Mode[] = ['off', 'prefill', 'all'];
/** A q4Int8 mode, or 'default': DEFAULT_LOAD_SETTINGS.q4Int8, resolved when the load is asked. */
export type Q4Int8Request = Q4Int8Mode | 'default';

export type EngineRequest = 'auto' | 'fast' | 'reference';
/** 'fast': our own graphs on onnxruntime-web (src/model/fast); 'reference': transformers.js. */
export type ModelEngine = 'fast' | 'reference';

/** The app's load settings: `auto` dtype and device, default threads, cached, limits enforced. */
export const DEFAULT_LOAD_SETTINGS: LoadSettings = {
  dtype: 'auto',
  graphDtypes: {},
  device: 'auto',
  numThreads: null,
  cache: true,
  enforceLimits: true,
  engine: 'auto',
  kvCapacity: 2048,
  graphCapture: true,
  profile: false,
  gpuSubgroups: true,
  gpuBufferCache: 'bucket',
  q4Int8: 'prefill',
  gpuPendingDispatches: 256,
  gpuDecodeAhead: 4,
  gpuPatches: true,
  gpuShareWeights: true,
};

/** What the loader reports while it works (not part of the settings: a callback, not data). */
export type LoadProgress = ((event: LoadEvent) => void) | null;

/** The per-question options (built once from the run settings, passed whole) are bench's. */
export type { QuestionOptions, ScoringModes } from '../bench/index';

/** What the worker adds to a question's options: streaming and the two ways to cancel. */
export interface RunHooks {
  /** Called with the text decoded so far (special tokens skipped) and the new token id. */
  onToken: ((textSoFar: string, tokenId: number) => void) | null;
  signal: AbortSignal | null;
  /** A shared (SharedArrayBuffer) flag: non-zero at index 0 cancels, seen without a message. */
  cancelFlag: Int32Array | null;
}

/** Milliseconds unless named otherwise. */
export interface QuestionTimings {
  /** pixel_values from the frames (rescale, normalise, patchify). */
  framePrepMs: number;
  tokenizeMs: number;
  visionMs: number;
  /** Official prompt prefill (embeddings + decoder over the prompt). */
  prefillMs: number;
  /** From the start of runQuestion to the first generated token. */
  timeToFirstTokenMs: number | null;
  decodeMs: number;
  decodeTokens: number;
  decodeTokensPerS: number | null;
  letterMs: number;
  likelihoodMs: number;
  totalMs: number;
  promptTokens: number;
  /**
   * Bytes of the KV cache at its largest (prompt + generated tokens), as the runtime holds it (GPU
   * buffers on WebGPU, wasm heap on wasm). ORT's total wasm heap and GPU memory are not exposed.
   */
  kvCacheBytes: number;
  /** Bytes of the JS heap (Chromium's performance.memory); null where not exposed. */
  jsHeapBytes: number | null;
  /**
   * Bytes of onnxruntime-web's wasm heap after the question: its peak so far (a wasm memory never
   * shrinks), which holds the weights and every activation on wasm; null where not seen.
   */
  wasmHeapBytes: number | null;
}

/** What the model made of one question (the benchmark's record of it is bench's QuestionResult). */
export interface ModelAnswer {
  response: string;
  /** What the model was given: wording, tokens, SHA-256 of the exact text tokenized. */
  prompt: ModelPrompt;
  outputIds: number[];
  inputIds: number[];
  /** Natural-log probabilities of the tokens "A".."D" as the first generated token. */
  letterLogprobs?: Record<ChoiceLetter, number>;
  /** Mean negative log-likelihood per token of each choice text as the reply (lower is better). */
  choiceNll?: Record<ChoiceLetter, number>;
  /** The same scores computed without the shared cache (probe `checkLikelihood`). */
  choiceNllNoCache?: Record<ChoiceLetter, number>;
  /** Top-k (id, logit) of the first generated position, before any penalty (when asked). */
  topLogits?: { id: number; logit: number }[];
  logitsAt?: number[];
  /**
   * 'cancelled': the signal fired during decoding; the partial output is kept and the later scoring
   * passes are skipped. A cancel before decoding rejects with ModelError('cancelled') instead.
   * 'not-run': official generation was not asked for.
   */
  stopReason: 'eos' | 'max-tokens' | 'cancelled' | 'not-run';
  timings: QuestionTimings;
  device: ModelDevice;
  dtype: ModelDtype;
  /** Which engine ran the question (and, for the fast one, whether decode steps were captured). */
  engine: ModelEngine;
  engineNote: string;
  /** The model family that ran it (config.json's model_type). */
  family: ModelFamily;
  /**
   * Qwen2.5-VL with a clip: the absolute time its M-RoPE positions were given (seconds per
   * temporal grid slice, from n sampled of N frames at the clip's fps, and tokens per second).
   */
  videoTime: { secondPerGridTs: number; tokensPerSecond: number } | null;
  /** The decode steps' WebGPU work (LoadSettings.profile; see src/model/fast/profile.ts). */
  profile?: DecodeProfile;
}

export type ModelErrorCode =
  | 'missing-file'
  | 'wrong-architecture'
  | 'bad-config'
  /** A graph whose inputs or outputs do not fit the Qwen2-VL interface. */
  | 'bad-interface'
  /** A dtype whose files are over what this browser or device can hold. */
  | 'too-large'
  /** A file that exists but cannot be read as what it should be (a truncated graph). */
  | 'bad-file'
  | 'download-failed'
  | 'out-of-memory'
  | 'device-lost'
  | 'unsupported-device'
  | 'bad-visuals'
  | 'prompt-mismatch'
  | 'cancelled'
  | 'runtime';

/** A model-stage failure with a machine-readable code; `file` names the model file when known. */
export class ModelError extends Error {
  readonly code: ModelErrorCode;
  readonly file: string | undefined;
  constructor(code: ModelErrorCode, message: string, options?: { file?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ModelError';
    this.code = code;
    this.file = options?.file;
  }
}
