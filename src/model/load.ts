/**
 * Loading a Qwen2-VL or Qwen2.5-VL ONNX export: transformers.js on the reference graphs, or the
 * fast engine where the folder has onnx/fast.json.
 */
import {
  AutoTokenizer,
  Qwen2_5_VLForConditionalGeneration,
  Qwen2VLForConditionalGeneration,
  type PreTrainedModel,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { activate, checkQuota, serverFor, type FileServer } from './files';
import { chooseDevice } from './device';
import {
  byGraph,
  chooseDtype,
  GRAPHS,
  qwenLargestWeight,
  SUFFIX,
  type FileSize,
  type Graph,
} from './dtype-choice';
import { checkQwenInterface, sessionInterface, type QwenInterface } from './interface';
import {
  externalDataChunks,
  familyName,
  modelFamily,
  parseGeneration,
  parsePreprocessor,
  parseQwenConfig,
  textField,
  type GenerationSettings,
  type Preprocess,
  type QwenConfig,
} from './model-config';
import { digestingServer, type ModelContent } from './digest';
import { brokenGraphError } from './graph-check';
import { classifyError, configureRuntime, watchDeviceLost, wasmThreads } from './runtime';
import type {
  LoadProgress,
  LoadSettings,
  ModelDevice,
  ModelDtype,
  ModelEngine,
  ModelSource,
  Q4Int8Mode,
} from './types';
import { ModelError } from './types';
import type { FastModel } from './fast/engine';
import { FAST_MANIFEST, parseFastManifest, type FastManifest } from './fast/manifest';

export type { QwenConfig } from './model-config';
export type { FileServer } from './files';

/** A loaded model: the engine's model and the tokenizer plus what the runner needs to know. */
export interface LoadedModel {
  /** transformers.js's model on the reference graphs; null when the fast engine runs. */
  model: PreTrainedModel | null;
  /** The fast engine (src/model/fast) on the folder's fast graphs; null for the reference engine. */
  fast: FastModel | null;
  engine: ModelEngine;
  /** Why this engine (and, for the fast one, whether decode steps replay a captured graph). */
  engineNote: string;
  /**
   * The int8 activations that took effect (LoadSettings.q4Int8 where it applies: q4 fast graphs
   * with a8 variants on a WebGPU device with subgroups; 'off' everywhere else).
   */
  q4Int8: Q4Int8Mode;
  tokenizer: PreTrainedTokenizer;
  config: QwenConfig;
  device: ModelDevice;
  deviceReason: string;
  /** WebGPU on a software (fallback) adapter, asked for by name: works, slowly. */
  deviceSlow: boolean;
  /** The dtype loaded ('auto' resolved), and why it was picked. */
  dtype: ModelDtype;
  dtypeReason: string;
  /** The dtype each graph actually runs in. */
  graphDtypes: Record<string, ModelDtype>;
  /** Each graph's declared inputs and outputs, and the types the app feeds them. */
  graphs: QwenInterface;
  /** preprocessor_config.json's constants (checked equal to the protocol's). */
  preprocess: Preprocess;
  /** Decoding settings: generation_config.json, or the official ones when absent. */
  generation: GenerationSettings;
  /** What stops this dtype loading here, when loaded with `enforceLimits: false`. */
  sizeProblem: string | null;
  source: string;
  files: string[];
  /** Digest of the bytes of every file loaded: the model's identity in run keys. */
  content: ModelContent;
  /** Bytes of all the files loaded (weights, tokenizer, configs). */
  modelBytes: number;
  threads: number;
  /** Set when the WebGPU device was lost: the model must be reloaded (the worker falls back). */
  deviceLost: string | null;
  /** Token ids the runner needs. */
  ids: { imEnd: number; endOfText: number; letters: [number, number, number, number] };
  loadMs: number;
}

/** Required beside the graphs; generation_config.json is optional (official decoding without). */
export const TEXT_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
];

export async function readJson(
  server: FileServer,
  path: string,
  optional = false,
): Promise<unknown> {
  const blob = await server.read(path);
  if (!blob) {
    if (optional) return null;
    throw new ModelError('missing-file', `${server.label} has no ${path}`, { file: path });
  }
  try {
    return JSON.parse(await blob.text());
  } catch (e) {
    throw new ModelError('bad-config', `${path} in ${server.label} is not valid JSON`, {
      file: path,
      cause: e,
    });
  }
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

/**
 * The folder's fast manifest when the fast engine is to run (engine 'auto' or 'fast'), or null
 * with the reason for the reference engine.
 */
async function fastManifest(
  server: FileServer,
  settings: LoadSettings,
  config: QwenConfig,
): Promise<{ manifest: FastManifest } | { manifest: null; why: string }> {
  const want = settings.engine;
  if (want === 'reference') return { manifest: null, why: 'reference engine requested' };
  const refuse = (why: string) => {
    if (want === 'fast')
      throw new ModelError('missing-file', `${server.label}: ${why}`, { file: FAST_MANIFEST });
    return { manifest: null, why };
  };
  const blob = await server.read(FAST_MANIFEST).catch(() => null);
  if (!blob) return refuse(`no ${FAST_MANIFEST} (the fast graphs)`);
  if (Object.keys(settings.graphDtypes).length > 0) return refuse('per-graph dtypes asked for');
  const manifest = parseFastManifest(await blob.text(), server.label);
  // The fast vision graph (scripts/export/fast) is Qwen2-VL's tower; Qwen2.5-VL's windowed tower runs
  // as its reference vision graph (the decoder graph serves both: positions come from ../rope.ts).
  const family = modelFamily(config);
  if (family !== 'qwen2_vl' && manifest.vision.graph !== 'reference') {
    const why = `${FAST_MANIFEST} lists a fast vision graph (Qwen2-VL's tower) for ${familyName(family)}, whose vision tower differs; its reference vision graph must be listed ("vision": {"graph": "reference"})`;
    if (want === 'fast')
      throw new ModelError('bad-config', `${server.label}: ${why}`, { file: FAST_MANIFEST });
    return { manifest: null, why };
  }
  return { manifest };
}

/**
 * The files of one graph at one dtype with their sizes (null when its .onnx does not exist): the
 * .onnx, then its external data as config.json lists it (transformers.js's `NAME.onnx_data`,
 * `NAME.onnx_data_1`, ...) or, where config.json says nothing, a `NAME.onnx_data` found beside it
 * (the public exports' one-file layout). `chunks` collects each file's chunk count.
 */
function graphFiles(server: FileServer, config: QwenConfig, chunks: Map<string, number>) {
  const sizes = new Map<string, Promise<number | null>>();
  const size = (path: string) => {
    let p = sizes.get(path);
    if (!p) sizes.set(path, (p = server.size(path)));
    return p;
  };
  return async (graph: Graph, dtype: ModelDtype): Promise<FileSize[] | null> => {
    const name = `${graph}${SUFFIX[dtype]}.onnx`;
    const path = `onnx/${name}`;
    // Offline, a 4-bit embed_tokens copy that was never cached cannot even be probed: the fp32 one
    // (cached) serves, the lookup being exact either way.
    const fallback = graph === 'embed_tokens' && dtype !== 'fp32';
    const bytes = fallback ? await size(path).catch(() => null) : await size(path);
    if (bytes === null) return null;
    const files = [{ path, bytes }];
    let n = externalDataChunks(config, name);
    if (n === null) n = (await size(`${path}_data`).catch(() => null)) === null ? 0 : 1;
    for (let i = 0; i < n; i++) {
      const data = `${path}_data${i === 0 ? '' : `_${i}`}`;
      const b = await size(data);
      if (b === null) {
        throw new ModelError(
          'missing-file',
          `${server.label} is missing ${data} (external data of ${path})`,
          { file: data },
        );
      }
      files.push({ path: data, bytes: b });
    }
    chunks.set(name, n);
    return files;
  };
}

export async function loadModel(
  source: ModelSource,
  settings: LoadSettings,
  onProgress: LoadProgress,
): Promise<LoadedModel> {
  const t0 = performance.now();
  const emit = onProgress ?? undefined;
  configureRuntime(settings.numThreads);
  const server = digestingServer(serverFor(source));
  activate(server, emit);

  emit?.({ kind: 'stage', stage: 'config' });
  const config = parseQwenConfig(await readJson(server, 'config.json'), server.label);
  const preprocess = parsePreprocessor(
    await readJson(server, 'preprocessor_config.json'),
    server.label,
  );
  const generationRaw = await readJson(server, 'generation_config.json', true);
  // The fast engine when the folder has fast graphs that fit this load; else why not.
  const fast = await fastManifest(server, settings, config);
  const family = modelFamily(config);
  let referenceWhy: string;
  if (fast.manifest) {
    const out = await (
      await import('./fast/load')
    ).loadFast({ server, config, preprocess, generationRaw, settings, emit, t0, ...fast });
    if (!('reference' in out)) return out;
    referenceWhy = out.reference;
  } else referenceWhy = fast.why;
  // An explicit fp16 variant needs shader-f16 (else wasm); 'auto' adapts to the device instead.
  const asked = [
    ...(settings.dtype === 'auto' ? [] : [settings.dtype]),
    ...Object.values(settings.graphDtypes),
  ];
  const choice = await chooseDevice(settings.device, asked);
  emit?.({ kind: 'device', device: choice.device, reason: choice.reason });

  // The files of the dtype with their sizes, checked against this device before anything big moves.
  const chunks = new Map<string, number>();
  const vocab = textField(config, 'vocab_size') ?? 151936;
  const hidden = textField(config, 'hidden_size') ?? 0;
  const picked = await chooseDtype({
    request: settings.dtype,
    caps: choice,
    overrides: settings.graphDtypes,
    files: graphFiles(server, config, chunks),
    // The vision width: Qwen2-VL's embed_dim, Qwen2.5-VL's vision hidden_size.
    largestWeight: qwenLargestWeight(
      vocab,
      hidden,
      config.vision_config?.embed_dim ??
        (family === 'qwen2_5_vl' ? config.vision_config?.hidden_size : undefined) ??
        0,
    ),
    enforceLimits: settings.enforceLimits,
    label: server.label,
  });
  const dtypeLabel = picked.plan.dtype;
  const dtype = byGraph((g) => picked.plan.graphs[g].dtype);
  const sizes = new Map<string, number>();
  for (const f of TEXT_FILES) {
    const size = await server.size(f);
    if (size === null) {
      throw new ModelError('missing-file', `${server.label} is missing ${f}`, { file: f });
    }
    sizes.set(f, size);
  }
  if (generationRaw !== null) {
    sizes.set('generation_config.json', (await server.size('generation_config.json')) ?? 0);
  }
  for (const g of GRAPHS) for (const f of picked.plan.graphs[g].files) sizes.set(f.path, f.bytes);
  const files = [...sizes.keys()];
  const external = Object.fromEntries(
    GRAPHS.map((g) => {
      const name = `${g}${SUFFIX[dtype[g]]}.onnx`;
      return [name, chunks.get(name) ?? 0];
    }),
  );
  if (server.remote && settings.cache) emit?.(await checkQuota(server, sizes));
  else server.caching = false;

  emit?.({ kind: 'stage', stage: 'tokenizer' });
  let tokenizer: PreTrainedTokenizer;
  let model: PreTrainedModel;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(server.key);
    emit?.({
      kind: 'stage',
      stage: 'sessions',
      detail: `${dtypeLabel} on ${choice.device} (${picked.reason})`,
    });
    // The two classes differ only in the vision encoder's grid input name (grid_thw, image_grid_thw).
    const ModelClass =
      family === 'qwen2_5_vl'
        ? Qwen2_5_VLForConditionalGeneration
        : Qwen2VLForConditionalGeneration;
    model = await ModelClass.from_pretrained(server.key, {
      // Our zod-checked config: transformers.js's PretrainedConfig is a class of its own.
      config: config as never,
      dtype,
      device: choice.device,
      // Our reading of the external data (config.json, else a NAME.onnx_data beside the graph).
      use_external_data_format: external,
    });
  } catch (e) {
    // transformers.js also asks for optional files (generation_config.json): only ours count.
    const missing = server.missing.find((f) => files.includes(f));
    if (missing && !(e instanceof ModelError)) {
      throw new ModelError('missing-file', `${server.label} is missing ${missing}`, {
        file: missing,
        cause: e,
      });
    }
    throw (
      (await brokenGraphError(e, server, files)) ??
      classifyError(e, `${server.label}: loading ${dtypeLabel} on ${choice.device}`)
    );
  }
  let graphs: QwenInterface;
  try {
    const heads = textField(config, 'num_attention_heads');
    graphs = checkQwenInterface(
      Object.fromEntries(
        GRAPHS.map((g) => {
          const session: unknown = model.sessions[g];
          const file = `onnx/${g}${SUFFIX[dtype[g]]}.onnx`;
          return [g, session === undefined ? undefined : sessionInterface(session, g, file)];
        }),
      ),
      {
        layers: textField(config, 'num_hidden_layers') ?? 0,
        kvHeads: textField(config, 'num_key_value_heads'),
        headDim: textField(config, 'head_dim') ?? (heads && hidden ? hidden / heads : undefined),
        hidden: hidden || undefined,
        vocab,
        gridInput: family === 'qwen2_5_vl' ? 'image_grid_thw' : 'grid_thw',
      },
      Object.fromEntries(GRAPHS.map((g) => [g, `onnx/${g}${SUFFIX[dtype[g]]}.onnx`])),
    );
  } catch (e) {
    await model.dispose().catch(() => undefined);
    throw e;
  }
  const ids = runnerIds(tokenizer);

  const content = await server.content(files);
  const loaded: LoadedModel = {
    model,
    fast: null,
    engine: 'reference',
    engineNote: `transformers.js on the reference graphs (${referenceWhy})`,
    q4Int8: 'off',
    tokenizer,
    config,
    device: choice.device,
    deviceReason: choice.reason,
    deviceSlow: choice.slow,
    dtype: dtypeLabel,
    dtypeReason: picked.reason,
    graphDtypes: dtype,
    graphs,
    preprocess,
    generation: parseGeneration(generationRaw, server.label, ids),
    sizeProblem: picked.problem?.message ?? null,
    source: server.label,
    files,
    content,
    modelBytes: [...sizes.values()].reduce((a, b) => a + b, 0),
    threads: wasmThreads(),
    deviceLost: null,
    ids,
    loadMs: performance.now() - t0,
  };
  if (choice.device === 'webgpu') {
    void watchDeviceLost((message) => {
      loaded.deviceLost = message;
    });
  }
  emit?.({ kind: 'stage', stage: 'ready', detail: `${dtypeLabel} on ${choice.device}` });
  return loaded;
}

export async function disposeModel(m: LoadedModel): Promise<void> {
  await m.model?.dispose();
  await m.fast?.dispose();
}
