// The model worker: owns the model (transformers.js or the fast engine), runs one request at a time, streams tokens.
import {
  disposeModel,
  loadModel,
  loseGpuDeviceForTesting,
  ModelError,
  runQuestion,
  type LoadedModel,
} from '../model/index';
import type {
  ModelErrorData,
  ModelInfo,
  ModelLoadRequest,
  ModelRequest,
  ModelResponse,
} from './model-protocol';

let model: LoadedModel | null = null;
let lastLoad: ModelLoadRequest | null = null;
const runs = new Map<number, AbortController>();
// Requests other than cancel are handled strictly in order: ORT sessions are not re-entrant.
let queue: Promise<void> = Promise.resolve();

function post(message: ModelResponse): void {
  // The worker global scope's own postMessage (tsconfig.worker.json: the WebWorker lib).
  postMessage(message);
}

function info(m: LoadedModel): ModelInfo {
  return {
    device: m.device,
    deviceReason: m.deviceReason,
    deviceSlow: m.deviceSlow,
    dtype: m.dtype,
    dtypeReason: m.dtypeReason,
    graphDtypes: m.graphDtypes,
    graphs: m.graphs,
    generation: m.generation,
    sizeProblem: m.sizeProblem,
    source: m.source,
    files: m.files,
    content: m.content,
    modelBytes: m.modelBytes,
    threads: m.threads,
    loadMs: m.loadMs,
    engine: m.engine,
    engineNote: m.engineNote,
    q4Int8: m.q4Int8,
  };
}

function errorData(e: unknown): ModelErrorData {
  if (e instanceof ModelError) {
    return { code: e.code, message: e.message, ...(e.file ? { file: e.file } : {}) };
  }
  return { code: 'runtime', message: e instanceof Error ? e.message : String(e) };
}

async function load(req: ModelLoadRequest): Promise<LoadedModel> {
  if (model) await disposeModel(model).catch(() => undefined);
  model = null;
  model = await loadModel(req.source, req.settings, (event) =>
    post({ type: 'progress', id: req.id, event }),
  );
  // A reload (device lost, out of memory) keeps the dtype that ran: 'auto' resolved again on
  // another device could pick another one under the same run.
  lastLoad = { ...req, settings: { ...req.settings, dtype: model.dtype } };
  return model;
}

async function handle(req: ModelRequest): Promise<void> {
  switch (req.type) {
    case 'load': {
      try {
        post({ type: 'loaded', id: req.id, info: info(await load(req)) });
      } catch (e) {
        post({ type: 'error', id: req.id, error: errorData(e) });
      }
      return;
    }
    case 'run': {
      const controller = runs.get(req.id) ?? new AbortController();
      runs.set(req.id, controller);
      const hooks = {
        signal: controller.signal,
        cancelFlag: req.cancelFlag,
        onToken: (text: string, tokenId: number) =>
          post({ type: 'token', id: req.id, text, tokenId }),
      };
      const go = (m: LoadedModel) => runQuestion(m, req.sample, req.visuals, req.options, hooks);
      try {
        if (!model) throw new ModelError('runtime', 'no model is loaded');
        try {
          post({ type: 'result', id: req.id, result: await go(model) });
        } catch (e) {
          // A lost WebGPU device: reload on wasm, say so, and retry this question once.
          if (!(e instanceof ModelError) || e.code !== 'device-lost' || !lastLoad) throw e;
          const reloaded = await load({
            ...lastLoad,
            settings: { ...lastLoad.settings, device: 'wasm' },
          });
          post({ type: 'fallback', id: req.id, reason: e.message, info: info(reloaded) });
          post({ type: 'result', id: req.id, result: await go(reloaded) });
        }
      } catch (e) {
        post({ type: 'error', id: req.id, error: errorData(e) });
        // Out of memory can leave ORT's wasm instance or sessions unusable: start the next
        // question from a fresh load (same settings), and say so.
        if (e instanceof ModelError && e.code === 'out-of-memory' && lastLoad) {
          try {
            const reloaded = await load(lastLoad);
            post({
              type: 'fallback',
              id: req.id,
              reason: `reloaded after: ${e.message}`,
              info: info(reloaded),
            });
          } catch (reloadError) {
            model = null;
            post({ type: 'error', id: req.id, error: errorData(reloadError) });
          }
        }
      } finally {
        runs.delete(req.id);
      }
      return;
    }
    case 'dispose': {
      if (model) await disposeModel(model).catch(() => undefined);
      model = null;
      post({ type: 'disposed', id: req.id });
      return;
    }
    case 'lose-device': {
      const destroyed = await loseGpuDeviceForTesting().catch(() => false);
      post({ type: 'device-destroyed', id: req.id, destroyed });
      return;
    }
    case 'cancel':
      return;
  }
}

onmessage = (e: MessageEvent<ModelRequest>) => {
  const req = e.data;
  if (req.type === 'cancel') {
    // Handled at once (not queued), so it reaches a run in progress.
    const c = runs.get(req.id) ?? new AbortController();
    c.abort();
    runs.set(req.id, c);
    return;
  }
  queue = queue.then(() => handle(req));
};
