// Headless automation (npm run eval / npm run bench): `window.seedbenchAutomation` drives the SAME
// store actions a user triggers from the UI, so what the command line measures is what users run.
// Registered by main.tsx only when the URL has ?automation=1.
import { matchSampleMedia, runKey, type RunConfig, type Sample } from '../bench/index';
import type { DeviceRequest, DtypeRequest, ModelSource, Q4Int8Request } from '../model/index';
import { VideoClient } from '../worker/index';
import { useAppStore, type StoredResult } from './index';
import { libraryFromServer } from './media';

export interface AutomationStatus {
  runStatus: string;
  /** The key the app stored the run under (the CLI checks it equals its own). */
  runKey: string | null;
  modelStatus: string;
  results: number;
  notices: string[];
}

/** The 252 x 252 frames of one question as PNG (base64), with their clip indices. */
export interface DumpedFrames {
  indices: number[] | null;
  timestampsS: number[] | null;
  stillFrom: 'image' | 'last-frame';
  clipPngs: string[];
  stillPng: string;
}

declare global {
  interface Window {
    /** Set by the CLI (page.exposeFunction): receives each finished question at once. */
    seedbenchEmit?: (result: StoredResult) => Promise<void>;
  }
}

const state = () => useAppStore.getState();

function samplesOrThrow(): Sample[] {
  const s = state().samples;
  if (s.status === 'error') throw new Error(s.message);
  if (s.status !== 'ready') throw new Error('no benchmark loaded');
  return s.value;
}

let frameClient: VideoClient | null = null;

/** A planar CHW RGB square frame (0..255) as PNG, base64. */
async function pngBase64(frame: Float32Array): Promise<string> {
  const size = Math.round(Math.sqrt(frame.length / 3));
  const plane = size * size;
  const rgba = new Uint8ClampedArray(4 * plane);
  // The default ('uint8') clip path already holds integers; rounding only matters for 'float'.
  for (let i = 0; i < plane; i++) {
    rgba[4 * i] = Math.round(frame[i] ?? 0);
    rgba[4 * i + 1] = Math.round(frame[plane + i] ?? 0);
    rgba[4 * i + 2] = Math.round(frame[2 * plane + i] ?? 0);
    rgba[4 * i + 3] = 255;
  }
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d context for PNG encoding');
  ctx.putImageData(new ImageData(rgba, size, size), 0, 0);
  const bytes = new Uint8Array(
    await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer(),
  );
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

const automation = {
  /** As the Model step loads; `q4Int8` is its "activations" choice (default: the app's default). */
  async loadModel(
    source: ModelSource,
    label: string,
    dtype: DtypeRequest,
    device: DeviceRequest,
    q4Int8: Q4Int8Request = 'default',
  ) {
    await state().loadModel(source, label, dtype, device, q4Int8);
    const s = state();
    const info = s.modelInfo;
    return {
      ok: s.modelStatus === 'ready',
      error: s.modelError,
      info,
      notices: s.modelNotices,
      /** The q4Int8 the run identity records for this load (the CLI builds its identity with it). */
      q4Int8: info?.q4Int8 ?? null,
    };
  },

  /** An annotation file's text, read as if the user dropped it. */
  loadBenchmarkText(name: string, text: string) {
    state().loadDroppedFile(name, text);
    return { count: samplesOrThrow().length, report: state().droppedReport };
  },

  /** A built-in set from the manifest, as picked in the set list. */
  async selectSet(id: string) {
    await state().loadManifest();
    await state().selectSet(id);
    return { count: samplesOrThrow().length };
  },

  /**
   * Restricts the current set to these questions, in this order (level, --limit, --shard and
   * resume are decided by the CLI, which has already written the finished ones).
   */
  keepSamples(ids: string[]) {
    const byId = new Map(samplesOrThrow().map((s) => [s.sampleId, s]));
    const missing = ids.filter((id) => !byId.has(id));
    if (missing.length > 0) throw new Error(`not in the loaded set: ${missing.join(', ')}`);
    const kept = ids.flatMap((id) => byId.get(id) ?? []);
    useAppStore.setState({ samples: { status: 'ready', value: kept }, questionIndex: 0 });
    return ids.length;
  },

  /**
   * A video folder served over HTTP with an index.json listing; `label` names it in messages (the
   * CLI passes its --videos path).
   */
  async setMediaFromServer(base: string, label?: string) {
    const media = await libraryFromServer(base, label);
    if (!media) throw new Error(`no video listing at ${base}index.json`);
    state().setMedia(media);
    const { report } = state().plannedQuestions();
    return {
      label: media.label,
      files: media.keys.length,
      incomplete: (report?.incomplete ?? []).map((m) => ({
        sampleId: m.sampleId,
        missing: m.missing,
      })),
    };
  },

  /** The whole run configuration (the CLI's flags), as the Benchmark step would set it. */
  setConfig(c: RunConfig) {
    state().setRunConfig(c);
    return state().runConfig;
  },

  /** The run key the app would use now, or why there is none (no set or model yet). */
  runKey(): { key: string | null; reason: string | null } {
    const id = state().currentIdentity();
    return typeof id === 'string' ? { key: null, reason: id } : { key: runKey(id), reason: null };
  },

  /**
   * Starts the run and resolves when it ends. Every finished question goes to seedbenchEmit at
   * once (when the CLI exposed it). A run that pauses itself (three identical model errors in a
   * row) is cancelled: nobody is there to press Resume.
   */
  async start(): Promise<AutomationStatus> {
    const seen = new Set(Object.keys(state().results));
    let chain = Promise.resolve();
    const unsubscribe = useAppStore.subscribe((s, prev) => {
      if (s.results !== prev.results) {
        for (const [id, r] of Object.entries(s.results)) {
          if (seen.has(id)) continue;
          seen.add(id);
          const emit = window.seedbenchEmit;
          if (emit) chain = chain.then(() => emit(r));
        }
      }
      if (s.runStatus === 'paused' && prev.runStatus !== 'paused') state().cancelRun();
    });
    try {
      await state().startRun();
      await chain;
    } finally {
      unsubscribe();
    }
    return automation.status();
  },

  cancel() {
    state().cancelRun();
  },

  status(): AutomationStatus {
    const s = state();
    return {
      runStatus: s.runStatus,
      runKey: s.runKey,
      modelStatus: s.modelStatus,
      results: Object.keys(s.results).length,
      notices: s.runNotices,
    };
  },

  /**
   * The model-ready frames of one question, prepared again by the same video stage (it is
   * deterministic: the CLI checks the indices against the run's). Separate worker, so a dump
   * never queues behind the run's own prefetch.
   */
  async frames(sampleId: string): Promise<DumpedFrames> {
    const s = state();
    const sample = s.runSamples.find((x) => x.sampleId === sampleId);
    if (!sample) throw new Error(`${sampleId}: not in this run`);
    if (!s.media) throw new Error('no video folder');
    const match = matchSampleMedia(s.media.index, sample);
    if (match.missing.length > 0)
      throw new Error(`${sampleId}: missing ${match.missing.join(', ')}`);
    const clip = match.clip ? await s.media.open(match.clip) : null;
    const still = match.still ? await s.media.open(match.still) : null;
    frameClient ??= new VideoClient();
    const v = await frameClient.prepare({
      clip,
      clipName: match.clip,
      still,
      stillName: match.still,
    });
    return {
      indices: v.clip?.indices ?? null,
      timestampsS: v.clip?.timestampsS ?? null,
      stillFrom: v.stillFrom,
      clipPngs: await Promise.all((v.clip?.frames ?? []).map((f) => pngBase64(f))),
      stillPng: await pngBase64(v.still),
    };
  },
};

/** What the command line drives (scripts/headless-app.ts types window.seedbenchAutomation by it). */
export type Automation = typeof automation;

Object.assign(window, { seedbenchAutomation: automation });
