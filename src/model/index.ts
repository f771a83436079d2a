// The model stage: Qwen2-VL and Qwen2.5-VL through transformers.js (load, one question, scoring) and the pure
// pieces it is built from (patch layout, M-RoPE positions, decoding arithmetic).
// transformers.js and onnxruntime-web are imported lazily, so that importing this entry point (for
// types, ModelError or the pure helpers) does not pull the runtime into the UI thread's bundle.
import type { LoadedModel } from './load';
import type {
  LoadProgress,
  LoadSettings,
  ModelAnswer,
  ModelSource,
  ModelVisuals,
  RunHooks,
} from './types';
import type { QuestionOptions, Sample } from '../bench/index';

export * from './types';
export * from './constants';
export type { LoadedModel, QwenConfig } from './load';
export {
  listCachedModels,
  removeCachedModel,
  modelBaseOf,
  MODEL_CACHE_NAME,
  type CachedModel,
} from './cache';
export { chooseDevice, needsShaderF16, type DeviceChoice } from './device';
export {
  patchify,
  mergedTokens,
  QWEN2VL_MEAN,
  QWEN2VL_STD,
  type Grid,
  type Patches,
} from './pixels';
export {
  ropeIndex,
  secondPerGrid,
  textPositions,
  videoTimeIndices,
  type RopeIndex,
  type RopeTokens,
  type VideoTime,
} from './rope';
export {
  applyRepetitionPenalty,
  argmax,
  logProbs,
  logSumExp,
  meanNll,
  topK,
  commonPrefix,
} from './decoding';

/** Load a Qwen2-VL ONNX export (see load.ts). */
export async function loadModel(
  source: ModelSource,
  settings: LoadSettings,
  onProgress: LoadProgress,
): Promise<LoadedModel> {
  return (await import('./load')).loadModel(source, settings, onProgress);
}

export async function disposeModel(model: LoadedModel): Promise<void> {
  return (await import('./load')).disposeModel(model);
}

/** Run one question: official generation and the scoring passes asked for (see run.ts). */
export async function runQuestion(
  model: LoadedModel,
  sample: Sample,
  visuals: ModelVisuals,
  options: QuestionOptions,
  hooks: RunHooks,
): Promise<ModelAnswer> {
  return (await import('./run')).runQuestion(model, sample, visuals, options, hooks);
}

/** Destroy the WebGPU device under the loaded model (tests of the device-lost fallback). */
export async function loseGpuDeviceForTesting(): Promise<boolean> {
  return (await import('./runtime')).destroyGpuDevice();
}

/** Remove every cached model file. */
export async function clearModelCache(): Promise<boolean> {
  return (await import('./files')).clearModelCache();
}
