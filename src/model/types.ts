/** Types of the model stage. Plain data (structured-clonable) unless noted. */
import type { ChoiceLetter, QuestionWording } from '../bench/index';
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

export interface LoadOptions {
  dtype: ModelDtype;
  /** Per-graph dtypes overriding `dtype`, e.g. { vision_encoder: 'fp32' } beside a q4 decoder. */
  graphDtypes?: Partial<
    Record<'embed_tokens' | 'vision_encoder' | 'decoder_model_merged', ModelDtype>
  >;
  device: DeviceRequest;
  /** wasm threads; defaults to min(4, hardwareConcurrency) when cross-origin isolated, else 1. */
  numThreads?: number;
  /** Cache remote downloads in Cache Storage (default true). */
  cache?: boolean;
  /**
   * 'auto' (default): the fast graphs (onnx/fast.json, scripts/export/fast) when the folder has them
   * for this dtype, else transformers.js on the reference graphs; 'fast' / 'reference' force one.
   */
  engine?: EngineRequest;
  /** Fast engine: KV positions allocated once (default 2048). */
  kvCapacity?: number;
  /** Fast engine on WebGPU: replay decode steps from a captured graph (default true). */
  graphCapture?: boolean;
  /** Fast engine on WebGPU: count and time the decode steps' GPU work into each result (benchmarks). */
  profile?: boolean;
  /** Fast engine on WebGPU: false requests the device without `subgroups` (default: auto, device.ts). */
  gpuSubgroups?: boolean;
  onProgress?: (event: LoadEvent) => void;
}

export type EngineRequest = 'auto' | 'fast' | 'reference';
/** 'fast': our own graphs on onnxruntime-web (src/model/fast); 'reference': transformers.js. */
export type ModelEngine = 'fast' | 'reference';

export interface ScoringOptions {
  /** The official greedy generation (protocol section 4). */
  official: boolean;
  /** Next-token log-probs of A/B/C/D after the official prompt. */
  letters: boolean;
  /** EgoPlan-style likelihood ranking of the four choice texts. */
  likelihood: boolean;
}

export interface RunOptions {
  scoring: ScoringOptions;
  /** Default 256 (protocol). */
  maxNewTokens?: number;
  /** Called with the text decoded so far (special tokens skipped) and the new token id. */
  onToken?: (textSoFar: string, tokenId: number) => void;
  signal?: AbortSignal;
  /** A shared (SharedArrayBuffer) flag: non-zero at index 0 cancels, seen without a message. */
  cancelFlag?: Int32Array;
  /** How the question is worded in the prompt (default 'as-is': the annotation's text). */
  wording?: QuestionWording;
  /** Keep the top-k logits of the first generated position in the result (tests; default 0). */
  topLogits?: number;
  /** Also score the choices without the shared cache, one full pass each (tests). */
  checkLikelihood?: boolean;
  /** Also return the first generated position's raw logits at these token ids (tests). */
  logitsAt?: number[];
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
}

export interface QuestionResult {
  response: string;
  outputIds: number[];
  inputIds: number[];
  /** Natural-log probabilities of the tokens "A".."D" as the first generated token. */
  letterLogprobs?: Record<ChoiceLetter, number>;
  /** Mean negative log-likelihood per token of each choice text as the reply (lower is better). */
  choiceNll?: Record<ChoiceLetter, number>;
  /** The same scores computed without the shared cache (when `checkLikelihood`). */
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
  /** The decode steps' WebGPU work (LoadOptions.profile; see src/model/fast/profile.ts). */
  profile?: DecodeProfile;
}

export type ModelErrorCode =
  | 'missing-file'
  | 'wrong-architecture'
  | 'bad-config'
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
