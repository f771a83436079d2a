import type { StateCreator } from 'zustand';
import {
  makeResult,
  matchAllMedia,
  randomSubset,
  type MediaReport,
  type ModelOutputs,
  type QuestionWording,
  type Sample,
} from '../bench/index';
import type { DeviceRequest, ModelDtype, ModelSource, ScoringOptions } from '../model/index';
import {
  getRun,
  loadResults,
  runKeyOf,
  saveResult,
  saveRun,
  type ResumeInfo,
  type RunRecord,
  type StoredResult,
} from './db';
import { libraryFromDirectory, libraryFromServer, type MediaLibrary } from './media';
import { modelClient, type ModelSlice } from './model';
import { prepareQuestion, type Prepared } from './prepare';

export type Subset =
  | { kind: 'all' }
  | { kind: 'first'; count: number }
  | { kind: 'random'; count: number; seed: number };

export interface RunConfig {
  /**
   * Clip frames after the resize: 'uint8' rounds and clamps as SEED-Bench-R1's code does (decord
   * hands torchvision uint8 frames); 'float' keeps protocol.md's unrounded values.
   */
  clipValues: 'uint8' | 'float';
  scoring: ScoringOptions;
  wording: QuestionWording;
  maxNewTokens: number;
  subset: Subset;
}

/** The official preset (protocol sections 3 to 5). */
export const OFFICIAL_CONFIG: RunConfig = {
  clipValues: 'uint8',
  scoring: { official: true, letters: false, likelihood: false },
  wording: 'seed-bench-r1',
  maxNewTokens: 256,
  subset: { kind: 'all' },
};

export function isOfficial(c: RunConfig): boolean {
  return (
    c.wording === 'seed-bench-r1' &&
    c.maxNewTokens === 256 &&
    c.scoring.official &&
    c.clipValues === 'uint8'
  );
}

export interface LiveQuestion {
  sampleId: string;
  stage: 'frames' | 'model';
  text: string;
  tokens: number;
  startedAt: number;
}

/** Frames of recently run questions, kept in memory for the inspector (object URLs). */
export interface QuestionFrames {
  previews: string[];
  indices: number[] | null;
  timestampsS: number[] | null;
  stillFrom: 'image' | 'last-frame';
}

export interface RunSlice {
  media: MediaLibrary | null;
  runConfig: RunConfig;
  runStatus: 'idle' | 'running' | 'pausing' | 'paused' | 'cancelled' | 'finished';
  runKey: string | null;
  runSamples: Sample[];
  results: Record<string, StoredResult>;
  live: LiveQuestion | null;
  /** Per-question wall time this session, for the rate and ETA. */
  sessionDurationsMs: number[];
  tokensPerS: number | null;
  frames: Record<string, QuestionFrames>;
  runNotices: string[];
  setMedia: (m: MediaLibrary | null) => void;
  setRunConfig: (c: Partial<RunConfig>) => void;
  /** The questions a run of the current set would take, with what their media lack. */
  plannedQuestions: () => { samples: Sample[]; report: MediaReport | null };
  startRun: () => Promise<void>;
  pauseRun: () => void;
  resumeRun: () => void;
  cancelRun: () => void;
  /** Runs one question of the current run again, live (the inspector's "Run again"). */
  rerunQuestion: (sampleId: string) => Promise<void>;
  /** Sets a stored run up again (set, settings, model, videos) and continues it. */
  resumeStoredRun: (record: RunRecord) => Promise<void>;
}

type Deps = RunSlice &
  ModelSlice & {
    samples: { status: string; value?: Sample[] };
    setId: string | null;
    selectSet: (id: string) => Promise<void>;
  };

const KEEP_FRAMES = 24;
let controller: AbortController | null = null;
let resumeWaiter: (() => void) | null = null;

export const createRunSlice: StateCreator<Deps, [], [], RunSlice> = (set, get) => {
  const notice = (m: string) => set({ runNotices: [...get().runNotices.slice(-49), m] });

  function plannedQuestions() {
    const s = get();
    const all = s.samples.status === 'ready' ? (s.samples.value ?? []) : [];
    const sub = s.runConfig.subset;
    const samples =
      sub.kind === 'all'
        ? all
        : sub.kind === 'first'
          ? all.slice(0, sub.count)
          : randomSubset(all, sub.count, sub.seed);
    return { samples, report: s.media ? matchAllMedia(s.media.index, samples) : null };
  }

  function keepFrames(sampleId: string, p: Prepared) {
    if (!p.ok) return;
    const urls = p.previews.map((b) => URL.createObjectURL(b));
    const entries = Object.entries(get().frames).filter(([k]) => k !== sampleId);
    entries.push([
      sampleId,
      { previews: urls, indices: p.indices, timestampsS: p.timestampsS, stillFrom: p.stillFrom },
    ]);
    // Only the most recent questions keep their thumbnails in memory.
    const dropped = entries.splice(0, Math.max(0, entries.length - KEEP_FRAMES));
    for (const [, f] of dropped) f.previews.forEach((u) => URL.revokeObjectURL(u));
    set({ frames: Object.fromEntries(entries) });
  }

  async function answer(
    sample: Sample,
    prepared: Prepared,
    signal: AbortSignal,
  ): Promise<ModelOutputs> {
    if (!prepared.ok) {
      return { response: null, error: { stage: prepared.stage, message: prepared.message } };
    }
    const model = modelClient();
    if (!model || get().modelStatus !== 'ready') {
      return { response: null, error: { stage: 'model', message: 'no model loaded' } };
    }
    const { config } = { config: get().runConfig };
    const started = performance.now();
    set({
      live: { sampleId: sample.sampleId, stage: 'model', text: '', tokens: 0, startedAt: started },
    });
    try {
      const r = await model.run(sample, prepared.visuals, {
        scoring: config.scoring,
        maxNewTokens: config.maxNewTokens,
        signal,
        onToken: (text) => {
          const live = get().live;
          if (live?.sampleId === sample.sampleId)
            set({ live: { ...live, text, tokens: live.tokens + 1 } });
        },
      });
      if (r.timings.decodeTokensPerS !== null) set({ tokensPerS: r.timings.decodeTokensPerS });
      const letters = r.letterLogprobs;
      const nll = r.choiceNll;
      return {
        response: config.scoring.official ? r.response : null,
        letterLogprobs: letters ? [letters.A, letters.B, letters.C, letters.D] : null,
        choiceNll: nll ? [nll.A, nll.B, nll.C, nll.D] : null,
        frameIndices: prepared.indices,
        timings: { ...prepared.timings, ...numericTimings(r.timings) },
        error: r.stopReason === 'cancelled' ? { stage: 'model', message: 'cancelled' } : null,
      };
    } catch (e) {
      return {
        response: null,
        frameIndices: prepared.indices,
        error: { stage: 'model', message: (e as Error).message },
      };
    }
  }

  /** One question: frames, model, score, store. Null when the run was cancelled meanwhile. */
  async function runOne(key: string, sample: Sample, preparing: Promise<Prepared>) {
    const started = performance.now();
    set({
      live: { sampleId: sample.sampleId, stage: 'frames', text: '', tokens: 0, startedAt: started },
    });
    const prepared = await preparing;
    keepFrames(sample.sampleId, prepared);
    const outputs = await answer(sample, prepared, (controller as AbortController).signal);
    if (controller?.signal.aborted && outputs.error?.message === 'cancelled') return null;
    const stored: StoredResult = {
      ...makeResult(sample, outputs),
      runKey: key,
      device: get().modelInfo?.device ?? null,
    };
    stored.timings.totalMs = performance.now() - started;
    await saveResult(stored);
    set({
      results: { ...get().results, [sample.sampleId]: stored },
      sessionDurationsMs: [...get().sessionDurationsMs, performance.now() - started],
    });
    return stored;
  }

  async function loop(key: string, todo: Sample[]) {
    const media = get().media;
    let next: Promise<Prepared> | null = todo[0]
      ? prepareQuestion(todo[0], media, get().runConfig.clipValues)
      : null;
    let sameErrors = 0;
    let lastError = '';
    for (let i = 0; i < todo.length; i++) {
      const sample = todo[i] as Sample;
      if (get().runStatus === 'pausing' || get().runStatus === 'paused') {
        set({ runStatus: 'paused', live: null });
        await new Promise<void>((r) => (resumeWaiter = r));
      }
      if (controller?.signal.aborted) break;
      const current = next as Promise<Prepared>;
      // Prefetch the next clip while the model works on this one.
      const following = todo[i + 1];
      next = following ? prepareQuestion(following, media, get().runConfig.clipValues) : null;
      const stored = await runOne(key, sample, current);
      if (!stored) break;
      if (stored.error) {
        notice(`${sample.sampleId}: ${stored.error.stage} — ${stored.error.message}`);
        // A model that fails every question (GPU gone, worker dead) would burn the whole level.
        const msg = stored.error.stage === 'model' ? stored.error.message : '';
        sameErrors = msg && msg === lastError ? sameErrors + 1 : msg ? 1 : 0;
        lastError = msg;
        if (sameErrors >= 3) {
          notice(`Paused after 3 model errors in a row: ${msg}`);
          set({ runStatus: 'pausing' });
        }
      } else {
        sameErrors = 0;
        lastError = '';
      }
    }
    const aborted = controller?.signal.aborted ?? false;
    set({ runStatus: aborted ? 'cancelled' : 'finished', live: null });
    const record = await getRun(key);
    if (record)
      await saveRun({
        ...record,
        status: aborted ? 'cancelled' : 'finished',
        updatedAt: new Date().toISOString(),
      });
  }

  return {
    media: null,
    runConfig: OFFICIAL_CONFIG,
    runStatus: 'idle',
    runKey: null,
    runSamples: [],
    results: {},
    live: null,
    sessionDurationsMs: [],
    tokensPerS: null,
    frames: {},
    runNotices: [],

    setMedia: (media) => set({ media }),
    setRunConfig: (c) => set({ runConfig: { ...get().runConfig, ...c } }),
    plannedQuestions,

    async startRun() {
      const s = get();
      if (s.runStatus === 'running' || s.runStatus === 'pausing') return;
      const { samples } = plannedQuestions();
      if (samples.length === 0) {
        notice('No questions to run: pick a benchmark set first.');
        return;
      }
      const settings = {
        model: s.modelLabel ?? 'unknown model',
        dtype: s.modelInfo?.dtype ?? 'unknown',
        scoring: s.runConfig.scoring,
        wording: s.runConfig.wording,
        maxNewTokens: s.runConfig.maxNewTokens,
        clipValues: s.runConfig.clipValues,
        benchmark: s.setId ?? 'dropped file',
      };
      const key = runKeyOf(settings);
      const previous = await loadResults(key);
      const results: Record<string, StoredResult> = {};
      for (const r of previous) results[r.sampleId] = r;
      const now = new Date().toISOString();
      const existing = await getRun(key);
      await saveRun({
        key,
        settings,
        sampleIds: samples.map((x) => x.sampleId),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        status: 'running',
        device: s.modelInfo?.device ?? null,
        subset: JSON.stringify(s.runConfig.subset),
        resume: resumeInfo(s),
      });
      const todo = samples.filter((x) => !results[x.sampleId]);
      controller = new AbortController();
      set({
        runStatus: 'running',
        runKey: key,
        runSamples: samples,
        results,
        sessionDurationsMs: [],
        runNotices:
          previous.length > 0
            ? [`Resumed: ${samples.length - todo.length} of ${samples.length} already done.`]
            : [],
      });
      await loop(key, todo);
    },

    pauseRun() {
      if (get().runStatus === 'running') set({ runStatus: 'pausing' });
    },
    resumeRun() {
      const st = get().runStatus;
      if (st !== 'paused' && st !== 'pausing') return;
      set({ runStatus: 'running' });
      resumeWaiter?.();
      resumeWaiter = null;
    },
    async resumeStoredRun(record) {
      const r = record.resume;
      if (!r) {
        notice('This run was stored without its setup; set it up again and press Start.');
        return;
      }
      if (!r.setId || r.setId.startsWith('file:')) {
        notice(
          `Open the annotation file of this run again (${record.settings.benchmark}), then Start.`,
        );
        return;
      }
      await get().selectSet(r.setId);
      set({ runConfig: { ...OFFICIAL_CONFIG, ...(r.config as Partial<RunConfig>) } });
      if (r.model && (get().modelStatus !== 'ready' || get().modelLabel !== r.model.label)) {
        await get().loadModel(
          r.model.source as ModelSource,
          r.model.label,
          r.model.dtype as ModelDtype,
          r.model.device as DeviceRequest,
        );
      }
      if (r.media === 'served') set({ media: await libraryFromServer() });
      else if (r.media) {
        const handle = r.media as FileSystemDirectoryHandle & {
          requestPermission?: (o: { mode: 'read' }) => Promise<PermissionState>;
        };
        // Asking needs the user's click, which this call comes from.
        const ok = (await handle.requestPermission?.({ mode: 'read' })) ?? 'granted';
        if (ok === 'granted') set({ media: await libraryFromDirectory(handle) });
      }
      if (!get().media) {
        notice(`Pick the video folder again (${r.mediaLabel ?? 'not stored'}), then Start.`);
        return;
      }
      if (get().modelStatus !== 'ready') {
        notice('Load the model again, then Start.');
        return;
      }
      await get().startRun();
    },

    async rerunQuestion(sampleId) {
      const s = get();
      if (s.runStatus === 'running' || s.runStatus === 'pausing' || !s.runKey) return;
      const sample = s.runSamples.find((x) => x.sampleId === sampleId);
      if (!sample) return;
      controller = new AbortController();
      await runOne(s.runKey, sample, prepareQuestion(sample, s.media, s.runConfig.clipValues));
      set({ live: null });
    },

    cancelRun() {
      controller?.abort();
      resumeWaiter?.();
      resumeWaiter = null;
    },
  };
};

/** What "Resume" needs; folder picks without a handle cannot be stored. */
function resumeInfo(s: Deps): ResumeInfo {
  const req = s.modelRequest;
  const source = req?.source;
  const storable =
    source && (source.kind === 'url' || source.kind === 'hub' || source.kind === 'folder');
  return {
    setId: s.setId,
    config: s.runConfig,
    model:
      req && storable
        ? { source, label: s.modelLabel ?? '', dtype: req.dtype, device: req.device }
        : null,
    media: s.media?.kind === 'served' ? 'served' : (s.media?.handle ?? null),
    mediaLabel: s.media?.label ?? null,
  };
}

function numericTimings(t: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) if (typeof v === 'number') out[k] = v;
  return out;
}
