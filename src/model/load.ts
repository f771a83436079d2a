/** Loading a Qwen2-VL ONNX export with transformers.js. */
import {
  AutoTokenizer,
  ModelRegistry,
  Qwen2VLForConditionalGeneration,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { activate, checkQuota, serverFor, type FileServer } from './files';
export type { FileServer } from './files';
import { chooseDevice } from './device';
import { classifyError, configureRuntime, watchDeviceLost, wasmThreads } from './runtime';
import type { LoadOptions, ModelDevice, ModelDtype, ModelEngine, ModelSource } from './types';
import { ModelError } from './types';
import type { FastModel } from './fast/engine';
import { FAST_MANIFEST, parseFastManifest, type FastManifest } from './fast/manifest';

/** File-name suffixes of each dtype, as transformers.js names an export's files. */
const SUFFIX: Record<ModelDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  q4: '_q4',
  q4f16: '_q4f16',
};
const GRAPHS = ['embed_tokens', 'vision_encoder', 'decoder_model_merged'] as const;
type Graph = (typeof GRAPHS)[number];

/**
 * The dtype of each graph: an explicit per-graph choice, else the one asked for, except that an
 * export may ship embed_tokens only in fp32 (a Gather has nothing to quantise to 4 bits); the
 * embedding lookup is exact either way.
 */
async function graphDtypes(
  server: FileServer,
  base: ModelDtype,
  overrides: Partial<Record<Graph, ModelDtype>> = {},
): Promise<Record<Graph, ModelDtype>> {
  const out = {} as Record<Graph, ModelDtype>;
  for (const g of GRAPHS) {
    const dtype = overrides[g] ?? base;
    const file = `onnx/${g}${SUFFIX[dtype]}.onnx`;
    const embedFallback = g === 'embed_tokens' && !overrides[g] && dtype !== 'fp32';
    // Offline, an embed_tokens variant that was never cached cannot even be probed: the fp32 one
    // (cached) serves, the lookup being exact either way.
    const size = embedFallback
      ? await server.size(file).catch(() => null)
      : await server.size(file);
    if (size !== null) out[g] = dtype;
    else if (embedFallback && (await server.size(`onnx/${g}.onnx`)) !== null) out[g] = 'fp32';
    else
      throw new ModelError(
        'missing-file',
        `${server.label} is missing ${file} (needed for ${dtype})`,
        { file },
      );
  }
  return out;
}

export interface QwenConfig {
  model_type: string;
  architectures?: string[];
  image_token_id: number;
  video_token_id: number;
  vision_start_token_id: number;
  vision_end_token_id?: number;
  vocab_size?: number;
  vision_config?: {
    spatial_merge_size?: number;
    patch_size?: number;
    temporal_patch_size?: number;
  };
}

/** A loaded model: the transformers.js model and tokenizer plus what the runner needs to know. */
export interface LoadedModel {
  /** transformers.js's model on the reference graphs; null when the fast engine runs. */
  model: PreTrainedModel | null;
  /** The fast engine (src/model/fast) on the folder's fast graphs; null for the reference engine. */
  fast: FastModel | null;
  engine: ModelEngine;
  /** Why this engine (and, for the fast one, whether decode steps replay a captured graph). */
  engineNote: string;
  tokenizer: PreTrainedTokenizer;
  config: QwenConfig;
  device: ModelDevice;
  deviceReason: string;
  dtype: ModelDtype;
  /** The dtype each graph actually runs in. */
  graphDtypes: Record<string, ModelDtype>;
  source: string;
  files: string[];
  /** Bytes of all the files loaded (weights, tokenizer, configs). */
  modelBytes: number;
  threads: number;
  /** Set when the WebGPU device was lost: the model must be reloaded (the worker falls back). */
  deviceLost: string | null;
  /** Token ids the runner needs. */
  ids: { imEnd: number; endOfText: number; letters: [number, number, number, number] };
  loadMs: number;
}

const TEXT_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

async function readJson(server: FileServer, path: string): Promise<unknown> {
  const blob = await server.read(path);
  if (!blob) throw new ModelError('missing-file', `${server.label} has no ${path}`, { file: path });
  try {
    return JSON.parse(await blob.text());
  } catch (e) {
    throw new ModelError('bad-config', `${path} in ${server.label} is not valid JSON`, {
      file: path,
      cause: e,
    });
  }
}

function checkConfig(raw: unknown, label: string): QwenConfig {
  const c = raw as Partial<QwenConfig> | null;
  const arch = c?.architectures?.[0];
  if (
    !c ||
    c.model_type !== 'qwen2_vl' ||
    (arch !== undefined && arch !== 'Qwen2VLForConditionalGeneration')
  ) {
    throw new ModelError(
      'wrong-architecture',
      `${label}: config.json describes model_type "${String(c?.model_type)}"${arch ? ` (${arch})` : ''}; this app runs Qwen2-VL (qwen2_vl)`,
      { file: 'config.json' },
    );
  }
  for (const k of ['image_token_id', 'video_token_id', 'vision_start_token_id'] as const) {
    if (typeof c[k] !== 'number') {
      throw new ModelError('bad-config', `${label}: config.json lacks ${k}`, {
        file: 'config.json',
      });
    }
  }
  return c as QwenConfig;
}

function tokenId(tokenizer: PreTrainedTokenizer, text: string, special: boolean): number {
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  if (ids.length !== 1 || ids[0] === undefined) {
    throw new ModelError(
      'bad-config',
      `tokenizer: "${text}" is not a single ${special ? 'special ' : ''}token`,
    );
  }
  return ids[0];
}

/** transformers.js's model of a loaded model (the reference engine); a clear error otherwise. */
export function referenceModel(m: LoadedModel): PreTrainedModel {
  if (!m.model)
    throw new ModelError('runtime', `${m.source} runs on the fast engine, not transformers.js`);
  return m.model;
}

/**
 * The fast graphs to use, or null with the reason for the reference engine: the folder's
 * onnx/fast.json when it lists this dtype and every file it needs exists (engine 'auto' or 'fast').
 */
async function fastGraphs(
  server: FileServer,
  options: LoadOptions,
): Promise<{ manifest: FastManifest; files: string[] } | { manifest: null; why: string }> {
  const want = options.engine ?? 'auto';
  if (want === 'reference') return { manifest: null, why: 'reference engine requested' };
  const blob = await server.read(FAST_MANIFEST).catch(() => null);
  if (!blob) {
    if (want === 'fast') {
      throw new ModelError(
        'missing-file',
        `${server.label} has no ${FAST_MANIFEST} (the fast graphs)`,
        {
          file: FAST_MANIFEST,
        },
      );
    }
    return { manifest: null, why: `no ${FAST_MANIFEST} in ${server.label}` };
  }
  const manifest = parseFastManifest(await blob.text(), server.label);
  const graphs = manifest.graphs[options.dtype];
  if (!graphs || options.graphDtypes) {
    const why = graphs ? 'per-graph dtypes asked for' : `no fast graphs for ${options.dtype}`;
    if (want === 'fast')
      throw new ModelError('missing-file', `${server.label}: ${why}`, { file: FAST_MANIFEST });
    return { manifest: null, why };
  }
  const files = [FAST_MANIFEST];
  for (const g of [graphs.decoder, graphs.vision]) files.push(g.file, ...g.data.map((d) => d.file));
  return { manifest, files: [...new Set(files)] };
}

/** The token ids the runner needs. */
export function runnerIds(tokenizer: PreTrainedTokenizer): LoadedModel['ids'] {
  return {
    imEnd: tokenId(tokenizer, '<|im_end|>', true),
    endOfText: tokenId(tokenizer, '<|endoftext|>', true),
    letters: [
      tokenId(tokenizer, 'A', false),
      tokenId(tokenizer, 'B', false),
      tokenId(tokenizer, 'C', false),
      tokenId(tokenizer, 'D', false),
    ],
  };
}

export async function loadModel(source: ModelSource, options: LoadOptions): Promise<LoadedModel> {
  const t0 = performance.now();
  const emit = options.onProgress;
  configureRuntime(options.numThreads);
  const server = serverFor(source);
  activate(server, emit);

  emit?.({ kind: 'stage', stage: 'config' });
  const config = checkConfig(await readJson(server, 'config.json'), server.label);
  const fast = await fastGraphs(server, options);
  if (fast.manifest) {
    return (await import('./fast/load')).loadFast({ server, config, options, t0, ...fast });
  }
  const dtype = await graphDtypes(server, options.dtype, options.graphDtypes);
  const choice = await chooseDevice(options.device, Object.values(dtype));
  emit?.({ kind: 'device', device: choice.device, reason: choice.reason });

  // The files this dtype needs (external-data chunks included), checked before anything big moves.
  let modelFiles: string[];
  try {
    modelFiles = await ModelRegistry.get_model_files(server.key, {
      config: config as never,
      dtype: dtype as never,
      device: choice.device as never,
    });
  } catch (e) {
    throw classifyError(e, `${server.label}: listing model files`);
  }
  const files = [...new Set([...TEXT_FILES, ...modelFiles])];
  const sizes = new Map<string, number>();
  for (const f of files) {
    const size = await server.size(f);
    if (size === null) {
      throw new ModelError(
        'missing-file',
        `${server.label} is missing ${f} (needed for ${options.dtype})`,
        { file: f },
      );
    }
    sizes.set(f, size);
  }
  if (server.remote && options.cache !== false) emit?.(await checkQuota(server, sizes));
  else server.caching = false;

  emit?.({ kind: 'stage', stage: 'tokenizer' });
  let tokenizer: PreTrainedTokenizer;
  let model: PreTrainedModel;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(server.key);
    emit?.({ kind: 'stage', stage: 'sessions', detail: `${options.dtype} on ${choice.device}` });
    model = await Qwen2VLForConditionalGeneration.from_pretrained(server.key, {
      config: config as never,
      dtype: dtype as never,
      device: choice.device,
    });
  } catch (e) {
    const missing = server.missing.find((f) => files.includes(f)) ?? server.missing[0];
    if (missing && !(e instanceof ModelError)) {
      throw new ModelError('missing-file', `${server.label} is missing ${missing}`, {
        file: missing,
        cause: e,
      });
    }
    throw classifyError(e, `${server.label}: loading ${options.dtype} on ${choice.device}`);
  }
  for (const name of ['embed_tokens', 'vision_encoder', 'decoder_model_merged']) {
    if (!model.sessions[name]) {
      throw new ModelError('bad-config', `${server.label}: the export has no ${name} session`);
    }
  }

  const loaded: LoadedModel = {
    model,
    fast: null,
    engine: 'reference',
    engineNote: `transformers.js on the reference graphs (${fast.why})`,
    tokenizer,
    config,
    device: choice.device,
    deviceReason: choice.reason,
    dtype: options.dtype,
    graphDtypes: dtype,
    source: server.label,
    files,
    modelBytes: [...sizes.values()].reduce((a, b) => a + b, 0),
    threads: wasmThreads(),
    deviceLost: null,
    ids: runnerIds(tokenizer),
    loadMs: performance.now() - t0,
  };
  if (choice.device === 'webgpu') {
    void watchDeviceLost((message) => {
      loaded.deviceLost = message;
    });
  }
  emit?.({ kind: 'stage', stage: 'ready', detail: `${options.dtype} on ${choice.device}` });
  return loaded;
}

export async function disposeModel(m: LoadedModel): Promise<void> {
  await m.model?.dispose();
  await m.fast?.dispose();
}
