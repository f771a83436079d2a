/** Loading a model folder's fast graphs (onnx/fast.json) into the fast engine. */
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { chooseDevice } from '../device';
import { checkQuota, type FileServer } from '../files';
import { runnerIds, type LoadedModel, type QwenConfig } from '../load';
import { classifyError, watchDeviceLost, wasmThreads } from '../runtime';
import type { LoadOptions } from '../types';
import { ModelError } from '../types';
import { FastModel } from './engine';
import type { FastManifest } from './manifest';

const TEXT_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
export const DEFAULT_KV_CAPACITY = 2048;

export async function loadFast(a: {
  server: FileServer;
  config: QwenConfig;
  manifest: FastManifest;
  files: string[];
  options: LoadOptions;
  t0: number;
}): Promise<LoadedModel> {
  const { server, options } = a;
  const emit = options.onProgress;
  const choice = await chooseDevice(options.device, [options.dtype]);
  emit?.({ kind: 'device', device: choice.device, reason: choice.reason });
  const files = [...new Set([...TEXT_FILES, ...a.files])];
  const sizes = new Map<string, number>();
  for (const f of files) {
    const size = await server.size(f);
    if (size === null) {
      throw new ModelError(
        'missing-file',
        `${server.label} is missing ${f} (needed by ${a.manifest.graphs[options.dtype] ? 'the fast graphs' : f})`,
        {
          file: f,
        },
      );
    }
    sizes.set(f, size);
  }
  if (server.remote && options.cache !== false) emit?.(await checkQuota(server, sizes));
  else server.caching = false;

  emit?.({ kind: 'stage', stage: 'tokenizer' });
  let tokenizer: PreTrainedTokenizer;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(server.key);
  } catch (e) {
    throw classifyError(e, `${server.label}: loading the tokenizer`);
  }
  emit?.({
    kind: 'stage',
    stage: 'sessions',
    detail: `${options.dtype} on ${choice.device}, fast engine`,
  });
  const read = async (path: string): Promise<Uint8Array> => {
    const blob = await server.read(path);
    if (!blob)
      throw new ModelError('missing-file', `${server.label} is missing ${path}`, { file: path });
    return new Uint8Array(await blob.arrayBuffer());
  };
  let fast: FastModel;
  try {
    fast = await FastModel.load({
      device: choice.device,
      dtype: options.dtype,
      manifest: a.manifest,
      read,
      capacity: options.kvCapacity ?? DEFAULT_KV_CAPACITY,
      capture: options.graphCapture ?? true,
      profile: options.profile ?? false,
      ...(options.gpuSubgroups === false ? { subgroups: false } : {}),
      label: server.label,
    });
  } catch (e) {
    throw classifyError(
      e,
      `${server.label}: loading the fast graphs (${options.dtype} on ${choice.device})`,
    );
  }
  const loaded: LoadedModel = {
    model: null,
    fast,
    engine: 'fast',
    engineNote: `fast graphs (${FAST_NOTE}); ${fast.stats().captureNote}`,
    tokenizer,
    config: a.config,
    device: choice.device,
    deviceReason: choice.reason,
    dtype: options.dtype,
    graphDtypes: { decoder_fast: options.dtype, vision_fast: options.dtype },
    source: server.label,
    files,
    modelBytes: [...sizes.values()].reduce((x, y) => x + y, 0),
    threads: wasmThreads(),
    deviceLost: null,
    ids: runnerIds(tokenizer),
    loadMs: performance.now() - a.t0,
  };
  if (choice.device === 'webgpu') {
    void watchDeviceLost((message) => {
      loaded.deviceLost = message;
    });
  }
  emit?.({
    kind: 'stage',
    stage: 'ready',
    detail: `${options.dtype} on ${choice.device}, fast engine`,
  });
  return loaded;
}

const FAST_NOTE = 'one run per step, penalty and argmax on the device';
