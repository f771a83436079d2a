/** Loading a model folder's fast graphs (onnx/fast.json) into the fast engine. */
import { AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import { chooseDevice } from '../device';
import { autoReason, dtypePreference } from '../dtype-choice';
import { checkQuota } from '../files';
import { brokenGraphError } from '../graph-check';
import type { ModelContent } from '../digest';
import { runnerIds, TEXT_FILES, type FileServer, type LoadedModel, type QwenConfig } from '../load';
import { checkVisionInterface, sessionInterface } from '../interface';
import { modelFamily, parseGeneration, type Preprocess } from '../model-config';
import { classifyError, missingKernel, watchDeviceLost, wasmThreads } from '../runtime';
import type { LoadEvent, LoadSettings, ModelDtype } from '../types';
import { MODEL_DTYPES, ModelError } from '../types';
import { FastModel } from './engine';
import {
  FAST_MANIFEST,
  fastVisionOf,
  feedsWeights,
  sessionFileNames,
  sessionGraphs,
  type FastManifest,
} from './manifest';

const FAST_NOTE = 'one run per step, penalty and argmax on the device';
const REFERENCE_VISION_NOTE = "the model's reference vision graph per temporal slice";
/**
 * Why the fast q8 graphs do not run on WebGPU: onnxruntime-web 1.31's WebGPU EP has no kernel for
 * their DynamicQuantizeLinear / MatMulInteger (measured with the app's bundle on SwiftShader: a
 * session with `session.disable_cpu_ep_fallback` refuses either op as "assigned to the default CPU
 * EP", while MatMul and MatMulNBits load), so every projection would run on the CPU with a GPU -> CPU
 * copy around it, silently.
 */
export const Q8_WEBGPU_WHY =
  'the fast q8 graphs use MatMulInteger, which onnxruntime-web has no webgpu kernel for (it would run on the CPU)';

/**
 * Load the fast graphs, or say why not when engine 'auto' finds none that fit this load (the
 * reference engine then loads; engine 'fast' throws instead). `server` digests what it reads.
 */
export async function loadFast(a: {
  server: FileServer & { content(files: readonly string[]): Promise<ModelContent> };
  config: QwenConfig;
  preprocess: Preprocess;
  generationRaw: unknown;
  manifest: FastManifest;
  settings: LoadSettings;
  emit: ((event: LoadEvent) => void) | undefined;
  t0: number;
}): Promise<LoadedModel | { reference: string }> {
  const { server, settings, manifest, emit } = a;
  const asked = settings.dtype === 'auto' ? [] : [settings.dtype];
  const choice = await chooseDevice(settings.device, asked);
  const present = MODEL_DTYPES.filter((d) => manifest.graphs[d]);
  let dtype: ModelDtype | undefined;
  let dtypeReason: string;
  if (settings.dtype === 'auto') {
    dtype = dtypePreference(choice).find((d) => manifest.graphs[d]);
    // The device's order, as the reference engine's `auto` (on wasm q8 first: WASM_Q8_WHY).
    const why = dtype ? `, ${autoReason(choice, dtype)}` : '';
    dtypeReason = `auto: ${dtype ?? 'none'} among the fast graphs (${present.join(', ')})${why}`;
  } else {
    dtype = manifest.graphs[settings.dtype] ? settings.dtype : undefined;
    dtypeReason = `${settings.dtype} as asked`;
  }
  const refuse = (why: string, code: 'missing-file' | 'bad-config' | 'unsupported-device') => {
    if (settings.engine === 'fast') {
      throw new ModelError(code, `${server.label}: ${why}`, { file: FAST_MANIFEST });
    }
    return { reference: why };
  };
  const graphs = dtype ? manifest.graphs[dtype] : undefined;
  if (!dtype || !graphs) {
    return refuse(
      `no fast graphs for ${settings.dtype} (${FAST_MANIFEST} has ${present.join(', ')})`,
      'missing-file',
    );
  }
  if (dtype === 'q8' && choice.device === 'webgpu')
    return refuse(Q8_WEBGPU_WHY, 'unsupported-device');
  emit?.({ kind: 'device', device: choice.device, reason: choice.reason });
  // Every graph the sessions may load (the engine falls back to the exact q4 graphs where int8
  // activations would not apply); the record lists what they did load (fast.graphFiles()).
  const feed = feedsWeights(choice.device, settings.graphCapture, settings.gpuShareWeights);
  const maybe = [sessionGraphs(graphs, 'off', feed), sessionGraphs(graphs, settings.q4Int8, feed)];
  const graphFiles = [
    ...new Set(maybe.flatMap((u) => sessionFileNames(u, choice.device, settings.graphCapture))),
  ];
  const hasGeneration = a.generationRaw !== null;
  const textFiles = [
    ...TEXT_FILES,
    FAST_MANIFEST,
    ...(hasGeneration ? ['generation_config.json'] : []),
  ];
  const files = [...new Set([...textFiles, ...graphFiles])];
  const sizes = new Map<string, number>();
  for (const f of files) {
    const size = await server.size(f);
    if (size === null) {
      throw new ModelError('missing-file', `${server.label} is missing ${f}`, { file: f });
    }
    sizes.set(f, size);
  }
  if (server.remote && settings.cache) emit?.(await checkQuota(server, sizes));
  else server.caching = false;

  emit?.({ kind: 'stage', stage: 'tokenizer' });
  let tokenizer: PreTrainedTokenizer;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(server.key);
  } catch (e) {
    throw classifyError(e, `${server.label}: loading the tokenizer`);
  }
  const ids = runnerIds(tokenizer);
  // The fast graphs apply their repetition penalty on the device: it must be the one decoding uses.
  const generation = parseGeneration(a.generationRaw, server.label, ids);
  if (generation.repetitionPenalty !== manifest.repetition_penalty) {
    return refuse(
      `the fast graphs apply repetition penalty ${manifest.repetition_penalty}, ${generation.from} asks for ${generation.repetitionPenalty}`,
      'bad-config',
    );
  }
  emit?.({
    kind: 'stage',
    stage: 'sessions',
    detail: `${dtype} on ${choice.device}, fast engine (${dtypeReason})`,
  });
  const read = async (path: string): Promise<Uint8Array> => {
    const blob = await server.read(path);
    if (!blob)
      throw new ModelError('missing-file', `${server.label} is missing ${path}`, { file: path });
    return new Uint8Array(await blob.arrayBuffer());
  };
  // A manifest's reference vision graph takes the grid input the reference loader feeds the family.
  const gridInput = modelFamily(a.config) === 'qwen2_5_vl' ? 'image_grid_thw' : 'grid_thw';
  const visionGraph = fastVisionOf(manifest, dtype) ? 'vision_fast' : 'vision_encoder';
  let fast: FastModel;
  try {
    fast = await FastModel.load({
      device: choice.device,
      dtype,
      manifest,
      read,
      capacity: settings.kvCapacity,
      capture: settings.graphCapture,
      profile: settings.profile,
      subgroups: settings.gpuSubgroups,
      // Without a captured decode session every step allocates its intermediates: keep them cached.
      bufferCache: settings.graphCapture ? settings.gpuBufferCache : 'bucket',
      int8: settings.q4Int8,
      ahead: settings.gpuDecodeAhead,
      gpuPatches: settings.gpuPatches,
      shareWeights: settings.gpuShareWeights,
      ...(settings.gpuPendingDispatches !== null
        ? { pendingDispatches: settings.gpuPendingDispatches }
        : {}),
      gridInput,
      label: server.label,
    });
  } catch (e) {
    // Fast q4 graphs of real models look up the embedding with GatherBlockQuantized, which the app's
    // wasm runtime has no kernel for: engine 'auto' then runs the reference graphs instead of failing.
    const op = missingKernel(e);
    if (op) {
      const file = (e instanceof ModelError ? e.file : undefined) ?? graphs.decoder.file;
      const why = `${file} uses ${op}, which onnxruntime-web has no ${choice.device} kernel for`;
      if (settings.engine !== 'fast') return { reference: why };
      throw new ModelError(
        'unsupported-device',
        `${server.label}: ${why}; pick another device or engine`,
        {
          file,
          cause: e,
        },
      );
    }
    // A parse failure names the graph file that is cut short or not ONNX, as the reference loader does.
    throw (
      (await brokenGraphError(e, server, graphFiles)) ??
      classifyError(e, `${server.label}: loading the fast graphs (${dtype} on ${choice.device})`)
    );
  }
  const used = fast.loadedGraphs;
  const visionInterface = sessionInterface(fast.sessions.vision, visionGraph, used.vision.file);
  if (visionGraph === 'vision_encoder') {
    try {
      // Fed as the reference engine feeds it, float32 rows (the fast engine does not cast).
      checkVisionInterface(
        visionInterface,
        { hidden: manifest.text.hidden, gridInput },
        used.vision.file,
        ['float32'],
      );
    } catch (e) {
      await fast.dispose();
      throw e;
    }
  }
  const loadedFiles = [...textFiles, ...fast.graphFiles()];
  const loaded: LoadedModel = {
    model: null,
    fast,
    engine: 'fast',
    engineNote: `fast graphs (${FAST_NOTE}${visionGraph === 'vision_encoder' ? `, ${REFERENCE_VISION_NOTE}` : ''}); ${fast.stats().captureNote}`,
    q4Int8: fast.int8Runs(),
    tokenizer,
    config: a.config,
    device: choice.device,
    deviceReason: choice.reason,
    deviceSlow: choice.slow,
    dtype,
    dtypeReason,
    graphDtypes: { decoder_fast: dtype, [visionGraph]: dtype },
    graphs: {
      graphs: {
        decoder_fast: sessionInterface(fast.sessions.decoder, 'decoder_fast', used.prefill.file),
        [visionGraph]: visionInterface,
      },
      pixelType: 'float32',
      embedsType: 'float32',
      cacheType: 'float32',
      logitsToKeep: true,
    },
    preprocess: a.preprocess,
    generation,
    sizeProblem: null,
    source: server.label,
    files: loadedFiles,
    content: await server.content(loadedFiles),
    modelBytes: loadedFiles.reduce((x, f) => x + (sizes.get(f) ?? 0), 0),
    threads: wasmThreads(),
    deviceLost: null,
    ids,
    loadMs: performance.now() - a.t0,
  };
  if (choice.device === 'webgpu') {
    void watchDeviceLost((message) => {
      loaded.deviceLost = message;
    });
  }
  emit?.({ kind: 'stage', stage: 'ready', detail: `${dtype} on ${choice.device}, fast engine` });
  return loaded;
}
