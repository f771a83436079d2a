import type { StateCreator } from 'zustand';
import { errorMessage } from '../bench/index';
import {
  DEFAULT_LOAD_SETTINGS,
  type DeviceRequest,
  type DtypeRequest,
  type LoadEvent,
  type ModelSource,
  type Q4Int8Mode,
  type Q4Int8Request,
} from '../model/index';
import { ModelClient, type ModelInfo } from '../worker/index';

/** The built-in default: the tiny test model the app carries in models/ (works offline). */
export const DEFAULT_MODEL_URL = 'models/tiny-random-qwen2-vl';
export const HUB_MODEL_ID = 'onnx-community/Qwen2-VL-2B-Instruct';

export interface FileProgress {
  file: string;
  loaded: number;
  total: number | null;
  etaS: number | null;
  from: 'network' | 'cache' | 'local';
  done: boolean;
}

/** The Model step's choices, kept here so that whatever loads a model (a click, Resume) shows. */
export interface ModelForm {
  choice: 'builtin' | 'hub' | 'url' | 'folder';
  hubId: string;
  url: string;
  dtype: DtypeRequest;
  device: DeviceRequest;
  /** Int8 activations for q4's fast graphs ('default': DEFAULT_LOAD_SETTINGS.q4Int8). */
  q4Int8: Q4Int8Request;
}

/** What a model was loaded with, as asked ('default' resolved), so that it can be loaded again. */
export interface ModelRequest {
  source: ModelSource;
  dtype: DtypeRequest;
  device: DeviceRequest;
  q4Int8: Q4Int8Mode;
}

/** The q4Int8 a load asked for: 'default' is DEFAULT_LOAD_SETTINGS's at the time of the load. */
export function resolveQ4Int8(r: Q4Int8Request): Q4Int8Mode {
  return r === 'default' ? DEFAULT_LOAD_SETTINGS.q4Int8 : r;
}

/** The form as a load of `source` would leave it. */
function formFor(
  source: ModelSource,
  request: Omit<ModelForm, 'choice' | 'hubId' | 'url'>,
  form: ModelForm,
) {
  const next: ModelForm = { ...form, ...request };
  if (source.kind === 'url' && source.url === DEFAULT_MODEL_URL) next.choice = 'builtin';
  else if (source.kind === 'url') Object.assign(next, { choice: 'url', url: source.url });
  else if (source.kind === 'hub') Object.assign(next, { choice: 'hub', hubId: source.id });
  else next.choice = 'folder';
  return next;
}

export interface ModelSlice {
  modelForm: ModelForm;
  setModelForm: (f: Partial<ModelForm>) => void;
  modelStatus: 'none' | 'loading' | 'ready' | 'error';
  modelLabel: string | null;
  modelError: string | null;
  modelInfo: ModelInfo | null;
  modelFiles: Record<string, FileProgress>;
  /** Fallbacks after a lost GPU, caching refused: what the loaded model's line does not say. */
  modelNotices: string[];
  /** Which device the loading model goes to and why (said while it loads). */
  modelDeviceNote: string | null;
  /** What was asked for, so a stored run can be resumed with the same model. */
  modelRequest: ModelRequest | null;
  loadModel: (
    source: ModelSource,
    label: string,
    dtype: DtypeRequest,
    device: DeviceRequest,
    q4Int8: Q4Int8Request,
  ) => Promise<void>;
}

let client: ModelClient | null = null;

/** A relative model URL means "beside this page": the worker would resolve it against its script. */
function besidePage(source: ModelSource): ModelSource {
  return source.kind === 'url'
    ? { ...source, url: new URL(source.url, document.baseURI).href }
    : source;
}

/** The loaded model's worker client (the runner drives it). */
export function modelClient(): ModelClient | null {
  return client;
}

export const createModelSlice: StateCreator<ModelSlice> = (set, get) => ({
  modelForm: {
    choice: 'builtin',
    hubId: HUB_MODEL_ID,
    url: '',
    dtype: 'auto',
    device: 'auto',
    q4Int8: 'default',
  },
  setModelForm: (f) => set({ modelForm: { ...get().modelForm, ...f } }),
  modelStatus: 'none',
  modelLabel: null,
  modelError: null,
  modelInfo: null,
  modelFiles: {},
  modelNotices: [],
  modelDeviceNote: null,
  modelRequest: null,

  async loadModel(source, label, dtype, device, q4Int8) {
    const int8 = resolveQ4Int8(q4Int8);
    client?.terminate();
    client = new ModelClient();
    const mine = client;
    client.onFallback = (reason, info) =>
      set({
        modelInfo: info,
        modelNotices: [...get().modelNotices, `Fell back to ${info.device}: ${reason}`],
      });
    set({
      modelStatus: 'loading',
      modelLabel: label,
      modelRequest: { source, dtype, device, q4Int8: int8 },
      modelForm: formFor(source, { dtype, device, q4Int8 }, get().modelForm),
      modelError: null,
      modelInfo: null,
      modelFiles: {},
      modelNotices: [],
      modelDeviceNote: null,
    });
    const onProgress = (e: LoadEvent) => {
      if (client !== mine) return;
      if (e.kind === 'file') {
        set({
          modelFiles: {
            ...get().modelFiles,
            [e.file]: {
              file: e.file,
              loaded: e.loaded,
              total: e.total,
              etaS: e.etaS,
              from: e.from,
              done: e.done,
            },
          },
        });
      } else if (e.kind === 'device') {
        set({ modelDeviceNote: `${e.device}: ${e.reason}` });
      } else if (e.kind === 'quota' && !e.caching) {
        set({
          modelNotices: [
            ...get().modelNotices,
            `Not caching: needs ${(e.neededBytes / 2 ** 20).toFixed(0)} MiB, ${e.freeBytes === null ? 'unknown' : (e.freeBytes / 2 ** 20).toFixed(0)} MiB free`,
          ],
        });
      }
    };
    try {
      const settings = { ...DEFAULT_LOAD_SETTINGS, dtype, device, q4Int8: int8 };
      const info = await mine.load(besidePage(source), settings, onProgress);
      if (client === mine) set({ modelStatus: 'ready', modelInfo: info });
    } catch (e) {
      if (client === mine) set({ modelStatus: 'error', modelError: errorMessage(e) });
    }
  },
});
